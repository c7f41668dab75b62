"""Exact and fuzzy (BFF) deduplication, as global pipeline steps and standalone engines."""
