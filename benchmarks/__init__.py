"""Benchmarks: `python -m benchmarks.run`; see BENCHMARKS.md and benchmarks/RESULTS.md."""
