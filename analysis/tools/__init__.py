"""What a person runs beside the build: the benchmark, the time estimate (with its step probe) and the config
reference. Nothing imports the tools."""
