"""A page for every run of the profile (issue 28), `runs/<run-id>.html`: which experiments and grid cells it
belongs to, its resolved spec as YAML, its record (versions, device, threads, timings, status, pack and
pack-mates), its curves, the end of its training log and the one command that retrains exactly this run.

Runs, cells and seeds come from the plan the `plan` rule wrote (`tables/plan.parquet`), measurements from the
aggregated tables, the record and log from the run's folder. A run whose folder is missing or unreadable still gets
its page, which says what is missing. Every config string is escaped. Pages are plain HTML written after the
site is rendered, so the Quarto and the pandoc paths get the same run pages.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import yaml

from analysis.pipeline.plan import Plan
from analysis.site.pandoc_site import page_head
from analysis.study.svg_chart import Series, line_chart, thin_step
from analysis.store.layout import RUN_FILES, RUN_PAGES, run_page_href

LOG_LINES = 25  #: the last lines of train.log a run page shows
BATCH_POINTS = 300  #: batch losses per run page at most (every k-th batch beyond that, said on the figure)
EPOCH_METRICS = (("loss", ("train_loss", "val_loss", "test_loss")), ("accuracy", ("train_acc", "val_acc", "test_acc")))


@dataclass
class RunView:
    """Everything a run page shows, read once."""

    run_id: str
    seed: int
    spec: dict
    cells: list[tuple[str, dict]]  #: (experiment, grid cell) for every experiment that uses the run
    row: dict | None  #: its runs.parquet row (None: not aggregated)
    record: dict | None
    problem: str  #: what could not be read from the run's folder ("" when nothing)
    log_tail: list[str]
    epochs: pd.DataFrame
    batches: pd.DataFrame
    grads: pd.DataFrame


def _read_record(folder: Path) -> tuple[dict | None, str]:
    path = folder / "record.json"
    if not folder.is_dir():
        return None, f"its folder {folder} does not exist (not trained yet, or deleted)"
    try:
        return json.loads(path.read_text()), ""
    except FileNotFoundError:
        return None, f"{path} is missing (not trained yet, or set aside as damaged)"
    except (OSError, ValueError) as exc:
        return None, f"{path} is unreadable: {exc}"


def _log_tail(folder: Path) -> list[str]:
    try:
        return folder.joinpath("train.log").read_text(errors="replace").splitlines()[-LOG_LINES:]
    except OSError:
        return []


def _table(tables: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """An aggregated table (only `columns`, when given); empty when the profile has none."""
    path = Path(tables) / f"{name}.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=columns or ["run_id"])
    frame = pd.read_parquet(path, columns=[c for c in columns if c in _schema(path)] if columns else None)
    return frame


def _schema(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def load_views(tables: Path, runs_dir: Path) -> tuple[Plan, list[RunView]]:
    """Every run of the plan, in config order, with what its page shows."""
    plan, _ = Plan.read(tables)
    runs = _table(tables, "runs")
    rows = {str(r["run_id"]): r for r in runs.to_dict("records")} if len(runs) else {}
    epochs = _table(tables, "epochs", ["run_id", "epoch", *(m for _, ms in EPOCH_METRICS for m in ms)])
    batches = _table(tables, "batches", ["run_id", "step", "loss"])
    grads = _table(tables, "grads", ["run_id", "epoch", "layer", "layer_index", "mean_abs_grad"])
    by_run = {name: dict(tuple(frame.groupby("run_id"))) if len(frame) else {}
              for name, frame in (("epochs", epochs), ("batches", batches), ("grads", grads))}
    views: dict[str, RunView] = {}
    for exp in plan.experiments.values():
        for run in exp.runs:
            if run.run_id in views:
                views[run.run_id].cells.append((exp.name, run.cell))
                continue
            folder = Path(runs_dir) / run.run_id
            record, problem = _read_record(folder)
            views[run.run_id] = RunView(
                run.run_id, run.seed, run.spec, [(exp.name, run.cell)], rows.get(run.run_id), record, problem,
                _log_tail(folder), *(by_run[name].get(run.run_id, frame.iloc[0:0])
                                     for name, frame in (("epochs", epochs), ("batches", batches), ("grads", grads))))
    return plan, list(views.values())


# ------------------------------------------------------------------ the page ---
def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, spec: str, unit: str = "") -> str:
    """A number as `spec` formats it, or a dash for a missing or non-finite one (a run with no training time
    records its rates as null)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        return "—"
    return f"{value:{spec}}{unit}"


def _diverged(at: Any) -> str:
    if isinstance(at, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in at.items())  # loss nan
    return str(at)


def _definition_list(items: list[tuple[str, Any]]) -> str:
    return "<dl class=\"nnlab-facts\">" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _cells(view: RunView) -> str:
    items = []
    for experiment, cell in view.cells:
        where = ", ".join(f"{_e(k)} = <code>{_e(json.dumps(v))}</code>" for k, v in cell.items()) or "its only cell"
        query = _e(quote(experiment, safe=""))
        items.append(f'<li><a href="../explorer.html?experiment={query}">{_e(experiment)}</a>: {where}, '
                     f"seed {view.seed}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _record_facts(view: RunView, pack_mates: list[str], known: set[str]) -> str:
    record = view.record
    if record is None:
        return f'<p class="nnlab-problem">No record for this run: {_e(view.problem)}.</p>'
    env, timing, final = record.get("environment", {}), record.get("timing", {}), record.get("final", {})
    status = record.get("status", "?")
    if record.get("diverged_at") is not None:
        status += f" (diverged at {_diverged(record['diverged_at'])})"
    mates = ", ".join(f'<a href="{_e(m)}.html">{_e(m)}</a>' if m in known else f"<code>{_e(m)}</code> (not in this "
                      "profile)" for m in pack_mates) or "none (trained alone)"
    pack = record.get("pack") or {}
    versions = ", ".join(f"{_e(k)} {_e(v)}" for k, v in (env.get("versions") or {}).items())
    return _definition_list([
        ("status", _e(status)),
        ("final epoch", _e(final.get("epoch", "?"))),
        ("test accuracy", _num(final.get("test_acc"), ".4f")),
        ("test loss", _num(final.get("test_loss"), ".4f")),
        ("device", _e(f"{env.get('device', '?')} ({env.get('device_name') or '?'}) on {env.get('host', '?')}, "
                      f"{env.get('cpu_count', '?')} CPUs")),
        ("threads", _e(env.get("threads", "?"))),
        ("wall time", f"{_num(timing.get('wall_seconds'), '.1f', ' s')} (training "
                      f"{_num(timing.get('train_seconds'), '.1f', ' s')})"),
        ("samples/s", _num(timing.get("samples_per_s"), ",.0f")),
        ("GFLOP/s", f"{_num(timing.get('gflops_per_s'), '.1f')} (pack {_num(timing.get('pack_gflops_per_s'), '.1f')})"),
        ("pack", f"{_e(pack.get('id', view.run_id))}, {_e(pack.get('size', 1))} run(s), peak RSS "
                 f"{_num(pack.get('peak_rss_mb'), '.0f', ' MB')}"),
        ("pack-mates", mates),
        ("versions", versions),
        ("platform", _e(env.get("platform", "?"))),
    ])


def _thin(frame: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """One row in k, from the first, so at most `limit` remain; and k."""
    every = thin_step(len(frame), limit)
    return frame.iloc[::every], every


def _curves(view: RunView) -> str:
    parts = []
    epochs = view.epochs.sort_values("epoch") if len(view.epochs) else view.epochs
    for label, metrics in EPOCH_METRICS:
        series = [Series(m.replace("_", " "), epochs["epoch"].tolist(), epochs[m].tolist())
                  for m in metrics if m in epochs and epochs[m].notna().any()]
        parts.append(line_chart(series, "epoch", label, f"{label} per epoch (epoch 0: before training)"))
    if len(view.batches):
        thinned, every = _thin(view.batches.sort_values("step"), BATCH_POINTS)
        note = f", one batch in {every} of {len(view.batches):,} shown" if every > 1 else ""
        parts.append(line_chart([Series("batch loss", thinned["step"].tolist(), thinned["loss"].tolist(),
                                        points=False)], "step", "loss", f"training loss per batch{note}"))
    if len(view.grads):
        per_epoch = view.grads.groupby(["layer_index", "layer", "epoch"], as_index=False)["mean_abs_grad"].mean()
        series = [Series(f"{int(index)} {name}", g["epoch"].tolist(), g["mean_abs_grad"].tolist())
                  for (index, name), g in per_epoch.groupby(["layer_index", "layer"])]
        parts.append(line_chart(series, "epoch", "mean |dL/dW|", "gradient per weight layer, mean over the "
                                "probed batches of each epoch", log_y=True))
    drawn = [p for p in parts if p]
    return "".join(drawn) or "<p>No curves: this run has no rows in the aggregated tables.</p>"


def retrain_command(run_id: str, profile: str) -> str:
    """The command that retrains exactly this run: without its record the DAG packs it alone (finished runs are
    never re-packed), and a run is a pure function of its spec and seed."""
    return (f"rm results/runs/{run_id}/record.json && snakemake --cores 1 --config profile={profile} "
            f"-- results/runs/{run_id}/record.json")


def run_page(view: RunView, profile: str, pack_mates: list[str], known: set[str]) -> str:
    """`known`: the runs of this profile (a pack-mate outside it has no page to link)."""
    spec = yaml.safe_dump(view.spec, sort_keys=True, default_flow_style=None, width=100)
    log = "\n".join(view.log_tail) if view.log_tail else "(no train.log in the run's folder)"
    files = ", ".join(f"<code>{_e(f)}</code>" for f in RUN_FILES)
    body = f"""
<h1 class="title">Run <code>{_e(view.run_id)}</code></h1>
<p>Profile <code>{_e(profile)}</code>. Its files: <code>results/runs/{_e(view.run_id)}/</code> ({files}, train.log).</p>
<h2 id="cells">Experiments and grid cells</h2>
{_cells(view)}
<h2 id="record">Record</h2>
{_record_facts(view, pack_mates, known)}
<h2 id="curves">Curves</h2>
<p class="nnlab-hint">Hover a point for its value; click a legend entry to hide or show its series (shift-click:
only it); drag a rectangle to zoom, double-click to reset.</p>
<div data-pagefind-ignore>{_curves(view)}</div>
<h2 id="spec">Resolved spec</h2>
<pre class="nnlab-code" data-pagefind-ignore><code>{_e(spec)}</code></pre>
<h2 id="log">Last lines of train.log</h2>
<pre class="nnlab-code" data-pagefind-ignore><code>{_e(log)}</code></pre>
<h2 id="retrain">Retrain exactly this run</h2>
<pre class="nnlab-code"><code>{_e(retrain_command(view.run_id, profile))}</code></pre>
"""
    return standalone(f"Run {view.run_id}", body, depth=1)


def standalone(title: str, body: str, depth: int = 0) -> str:
    """A page the site writes itself, with the site's stylesheet and script and a way back."""
    up = "../" * depth
    return page_head(f"{_e(title)} – nnlab", up) + f"""<body>
<nav class="nnlab-topbar" aria-label="Site"><a class="site-title" href="{up}index.html">nnlab</a>
<a href="{up}explorer.html">Explorer</a> <a href="{up}scorecard.html">Scorecard</a>
<a href="{up}experiments.html">Experiments</a> <a href="{up}runs/index.html">Runs</a>
<div class="nnlab-search" id="nnlab-search" data-pagefind-ignore></div></nav>
<main class="nnlab-main nnlab-standalone" data-pagefind-body>
{body}
</main>
<script src="{up}nnlab.js"></script>
</body>
</html>
"""


def write_run_pages(site: Path, tables: Path, runs_dir: Path, profile: str) -> list[Path]:
    """One page per run of the plan under `site/runs/`; returns the pages written."""
    _, views = load_views(tables, runs_dir)
    packs: dict[str, list[str]] = {}
    for view in views:
        pack = (view.record or {}).get("pack") or {}
        packs[view.run_id] = [m for m in pack.get("members", []) if m != view.run_id]
    (Path(site) / RUN_PAGES).mkdir(parents=True, exist_ok=True)
    written = []
    for view in views:
        path = Path(site) / run_page_href(view.run_id)
        path.write_text(run_page(view, profile, packs[view.run_id], set(packs)))
        written.append(path)
    (Path(site) / RUN_PAGES / "index.html").write_text(runs_index(views, profile))
    return written


def runs_index(views: list[RunView], profile: str) -> str:
    """Every run of the profile as one list (`runs/index.html`): the explorer's fallback without script, and the
    page that links every run page."""
    rows = []
    for view in views:
        status = (view.record or {}).get("status") or ("not trained" if view.row is None else view.row["status"])
        for experiment, cell in view.cells:
            where = ", ".join(f"{_e(k)} = {_e(json.dumps(v))}" for k, v in cell.items()) or "—"
            rows.append(f'<tr><td><a href="{_e(view.run_id)}.html"><code>{_e(view.run_id)}</code></a></td>'
                        f"<td>{_e(experiment)}</td><td>{where}</td><td>{view.seed}</td><td>{_e(status)}</td></tr>")
    body = (f'<h1 class="title">Every run of profile <code>{_e(profile)}</code></h1>\n'
            f"<p>{len(views)} runs, in config order (a run shared by experiments is listed under each). The "
            '<a href="../explorer.html">explorer</a> filters and compares them.</p>\n'
            '<div class="nnlab-table-box"><table><tr><th>run</th><th>experiment</th><th>grid cell</th><th>seed</th>'
            "<th>status</th></tr>" + "".join(rows) + "</table></div>")
    return standalone(f"Runs ({profile})", body, depth=1)
