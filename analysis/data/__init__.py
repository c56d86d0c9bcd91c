"""The datasets: sources tried in order, SHA-256 check, IDX parsing, the seeded train/validation splits. Imports
the store only (atomic writes)."""
