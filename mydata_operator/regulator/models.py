"""The regulator app keeps no data of its own.

The log lives in `consents`; a regulator's view of it is read-only. What a regulator saw of
the log is remembered by their witness (`tools/tahto_verify.py witness`) on their own machine,
not here: the operator's database holds only the witnesses' cosignatures.
"""
