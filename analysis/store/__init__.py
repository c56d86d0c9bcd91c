"""The run store: where each run's files live (one list for training, aggregation and the rules), atomic writes,
and the checksums that find a damaged run. Imports no other layer."""
