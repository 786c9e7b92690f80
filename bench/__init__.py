"""Benchmark harness of scripe-api (`python -m bench`, `make bench`); never part of the tests."""
