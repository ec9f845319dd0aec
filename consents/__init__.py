"""The consent domain core: kinds, lifecycle, the policy decision point, receipts and the log.

Imports no other app of this project: people and providers are referred to by id.
"""
