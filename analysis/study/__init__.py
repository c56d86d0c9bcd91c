"""The answers: statistics, one answer module per page (answers/), the scorecard and its checks, the figure style.
Reads the tables the pipeline wrote; never trains."""
