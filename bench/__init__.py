"""Erlen's benchmark harness; see bench/README.md.  Run with ``make bench``."""
