"""Benchmarks of the bot's hot paths: `.venv/bin/python -m benchmarks` (docs/PERFORMANCE.md).

Not part of the test suite: nothing here is named test_*.py, and pytest only collects tests/.
Each measurement runs in a child process of its own, so its peak RSS and its timings are its own.
"""
