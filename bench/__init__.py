"""Benchmarks: speed and memory measured by scripts, results written in docs/benchmarks.md."""
