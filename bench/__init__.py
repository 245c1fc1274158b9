"""Benchmarks: run ``python bench/dispatch.py`` and ``python bench/sync.py`` (see bench/README.md)."""
