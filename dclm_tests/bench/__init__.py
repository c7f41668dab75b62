"""Benchmarks: scripts run by hand (``python -m dclm_tests.bench.<name>``), not collected by pytest."""
