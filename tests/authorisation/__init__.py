"""The authorisation matrix: every URL of the service as every persona (`table.py` says what
each persona may get; `test_matrix.py` walks it)."""
