"""Evaluation engine: DCLM's task suites, the eval data they read, scoring and DCLM's score aggregation.

Plain Python (no Dagster). Modules: ``meta`` (the 53-task metadata table), ``suites`` (suite YAMLs and their data
files), ``aggregation`` (Core / Extended / category aggregates exactly as DCLM computes them), ``report`` (DCLM's
eval JSON), ``fetch`` (obtaining llm-foundry's ICL task files).
"""
