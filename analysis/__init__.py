"""nnlab's Python package, one folder per layer. A layer imports only the layers before it in this list
(tests/test_layers.py holds it):

store     the run store: each run's files, atomic writes, checksums
data      the datasets: download, SHA-256 check, IDX parsing, train/validation splits
engine    training: activations, inits, losses, optimizers, models, packed members, probes, the training loop
pipeline  the run plan and its tables: config → specs with stable ids → packs; aggregation into Parquet
study     the answers: statistics, the per-page answer modules, the scorecard, the figure style
site      the website: report build (Quarto or pandoc), landing page, results summary, the browser check
tools     what a person runs: the benchmark, the time estimate, the config reference
"""
