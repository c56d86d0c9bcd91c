"""The run plan and its tables: config validation and grids, run ids, packs, aggregation of run files into Parquet.
Asks the engine's registries whether a spec can train (config errors at DAG time)."""
