"""FHIR R4 protocol code shared by every counterpart that speaks FHIR (Kanta, providers).

``client.py`` is the REST client; ``push.py`` pushes marked resources to a FHIR server, each
stored at most once. Counterparts use these modules; none imports another counterpart's.
"""
