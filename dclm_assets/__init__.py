"""DCLM on Dagster: the asset graph (assets, partitions, checks, sensors), its Definitions and the ``dclm`` CLI.

Assets here are thin: they read config, call one engine in ``dclm_resources`` through a resource, and report
metadata. ``dclm_assets.definitions.defs`` is the code location's single Definitions object.
"""
