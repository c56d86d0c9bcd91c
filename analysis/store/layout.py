"""The files a run writes and the tables aggregation makes of them: one list, used by the
training job, the aggregation step and the Snakemake rules (kept free of heavy imports)."""
from __future__ import annotations

#: per-run Parquet file stem -> name of the aggregated table under results/<profile>/tables/
RUN_TABLES: dict[str, str] = {
    "metrics": "epochs",         # one row per epoch: train/val/test loss and accuracy, timing
    "batches": "batches",        # one row per training batch: its loss
    "grads": "grads",            # one row per probed batch and weight layer: mean and max |dL/dW|
    "act_hist": "act_hist",      # activation histograms on the fixed evaluation batch
    "act_summary": "act_summary",  # their percentiles, saturated and dead fractions
    "track": "track",            # every probes.track_every steps: test accuracy, one unit's input percentiles
}
#: every file of results/runs/<run-id>/ that Snakemake tracks; record.json is written last
RUN_FILES: tuple[str, ...] = tuple(f"{stem}.parquet" for stem in RUN_TABLES) + ("record.json",)
#: every aggregated table of a profile
TABLES: tuple[str, ...] = ("runs",) + tuple(RUN_TABLES.values())
#: where the site puts each run's page (analysis.site.run_pages), for the pages and the scorecard that link runs
RUN_PAGES = "runs"


def run_page_href(run_id: str) -> str:
    """A run page's path relative to the site's root."""
    return f"{RUN_PAGES}/{run_id}.html"
