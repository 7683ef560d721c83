"""Benchmarks and the 3-year data generator (not part of the installed package)."""
