"""Benchmarks that print ratios against a baseline (``python -m bench.<name>``; not tests)."""
