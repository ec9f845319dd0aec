"""Benchmarks: `make bench`, `make bench-core`, `make bench-scale`; never part of `make test`."""
