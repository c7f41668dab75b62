"""DCLM enrichers."""
