"""Kanta: the national archive (FHIR R4). The connector, Kanta PHR, and a stand-in service.

Nothing here imports Django at package import time: the stand-in (``standin.py``) runs as its
own process without Django.
"""
