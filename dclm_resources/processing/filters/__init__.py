"""DCLM filters."""
