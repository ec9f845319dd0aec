"""Benchmarks, run by `make bench`, `make bench-core` and `make bench-scale`; never by `make test`."""
