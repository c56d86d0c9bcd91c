"""The run plan and its tables: config validation and grids, the plan every later stage reads (plan.py), packs,
aggregation of run files into Parquet, `make verify`. Asks the engine's registries whether a spec can train (config
errors at DAG time)."""
