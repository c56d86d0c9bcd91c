"""What a page's answer module reads and writes: the tables, the config and the documents' values
(`Context`), the variables, fragments and figures it produces (`PageOutput`), the page's provenance line, and
the fillers for a profile that has none of a question's runs (`missing`, `begin`).

An answer module gets a `Context` and fills a `PageOutput`: nested variables (numbers
and sentences, read by the pages through `{{< var >}}`), Markdown fragments (tables,
figure blocks; pulled in with `{{< include >}}`) and figures. Nothing on a page is
typed by hand that a measurement could change.
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from analysis.pipeline.config import ROOT
from analysis.pipeline.plan import Plan
from analysis.study.figures import save
from analysis.engine.environment import versions

GENERATED = "generated"  # folder of the report build that receives each page's fragments
#: the one home of the numbers and claims the source documents report (id -> document_value, among other columns)
SCORECARD = ROOT / "config" / "scorecard.csv"
_INTEGER = re.compile(r"-?\d+")


class DocumentValues:
    """The source documents' values by scorecard id (config/scorecard.csv): pages quote the documents from here,
    so a document's number lives in one place. Integers come back as int (counts print without a decimal point),
    other numbers as float, claims and verdicts as their text."""

    def __init__(self, path: Path = SCORECARD):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        self._values: dict[str, str] = dict(zip(frame["id"], frame["document_value"]))

    def __call__(self, row_id: str) -> int | float | str:
        try:
            text = self._values[row_id]
        except KeyError:
            raise KeyError(f"no row {row_id!r} in config/scorecard.csv") from None
        return _parse(text)

    def get(self, row_id: str) -> int | float | str | None:
        """The value, or None when the document reports none under this id."""
        return self(row_id) if row_id in self._values else None

    def matching(self, pattern: str) -> dict[tuple[str, ...], int | float | str]:
        """Values of the ids that fully match a regular expression, keyed by its groups, in registry order."""
        regex = re.compile(pattern)
        return {m.groups(): _parse(text) for row_id, text in self._values.items() if (m := regex.fullmatch(row_id))}


def _parse(text: str) -> int | float | str:
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


@lru_cache(maxsize=4)
def document_values(path: Path = SCORECARD) -> DocumentValues:
    """The registry, read once per process."""
    return DocumentValues(path)


@dataclass
class Context:
    page: str
    profile: str
    tables_dir: Path
    #: the config as the `plan` rule saw it: for the config text a page shows (titles, YAML blocks), never to
    #: expand runs, which come from `plan`
    config: dict
    provenance: dict[str, dict]
    plan: Plan
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: every experiment the page read through `of` (checked against the page's CLAIMS)
    read: set[str] = field(default_factory=set)
    #: config/scorecard.csv, where the documents' own numbers live
    scorecard: Path = SCORECARD

    @property
    def document(self) -> DocumentValues:
        """The documents' values by scorecard id: `ctx.document("M2.1-5-relu-acc")`."""
        return document_values(self.scorecard)

    def document_value(self, row_id: str) -> int | float | str:
        return self.document(row_id)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = pd.read_parquet(self.tables_dir / f"{name}.parquet")
        return self._tables[name]

    def of(self, name: str, experiment: str) -> pd.DataFrame:
        """Rows of a table that belong to runs of one experiment."""
        self.read.add(experiment)
        frame = self.table(name)
        if frame.empty or "experiments" not in frame:
            return frame.iloc[0:0]
        mask = frame["experiments"].apply(lambda names: experiment in names)
        return frame[mask].copy()

    def specs(self, experiment: str) -> list[dict]:
        """The experiment's resolved run specs in this profile, from the plan (empty when the config lacks it)."""
        return self.plan.specs(experiment)

    def protocol_text(self, experiment: str) -> str:
        """The training settings every run of the experiment shares, read from the config, for the page prose
        (so a config edit can never leave a stale setting on the page)."""
        specs = self.specs(experiment)
        if not specs:
            return f"Experiment `{experiment}` is not part of this configuration."
        first = specs[0]
        shared = {k: v for k, v in first.items() if all(s.get(k) == v for s in specs)}
        parts = []
        if "optimizer" in shared:
            text = (
                f"{shared['optimizer'].upper() if shared['optimizer'] == 'sgd' else shared['optimizer'].capitalize()}"
            )
            if "lr" in shared:
                text += f" at learning rate {shared['lr']:g}"
            if shared["optimizer"] == "sgd" and "momentum" in shared:
                text += f", momentum {shared['momentum']:g}"
            parts.append(text)
        if "batch_size" in shared:
            parts.append(f"batch {shared['batch_size']:,}")
        if "epochs" in shared:
            parts.append(f"{shared['epochs']} epoch{'s' if shared['epochs'] != 1 else ''}")
        if shared.get("validation_split"):
            parts.append(f"{100 * shared['validation_split']:g} % of the training images held out for validation "
                         f"(split seed {shared.get('split_seed', 0)})")
        init = {"glorot_uniform": "glorot-uniform weights and zero biases", "torch_default": "PyTorch's default init",
                "normal": f"N(0, {shared.get('init_std', 0.01):g}²) weights and zero biases",
                }.get(shared.get("init", ""))
        if init:
            parts.append(init)
        normalise = shared.get("normalise")
        if normalise == "unit":
            parts.append("pixels scaled to [0, 1]")
        elif isinstance(normalise, dict):
            parts.append(f"pixels normalised with mean {normalise['mean']:g}, std {normalise['std']:g}")
        return "Settings (from `config/config.yaml`, this profile): " + "; ".join(parts) + "."

    def scaling_text(self, experiment: str) -> str:
        exp = self.plan.experiments.get(experiment)
        if exp is None:
            return f"Experiment `{experiment}` is not part of this configuration."
        note = md_text(exp.note.strip())
        if note and not note.endswith((".", "!", "?")):
            note += "."
        if not exp.changes:
            more = len(exp.seeds) > len(exp.protocol_seeds)
            over = f", over {len(exp.seeds)} seeds" if more else ""
            return f"Profile `{self.profile}`: the protocol as the document describes it, unscaled{over}. " \
                   f"{note}".strip()
        listed = ", ".join(f"`{c.key}` = {md_text(json.dumps(c.value))}" for c in exp.changes)
        return f"Profile `{self.profile}` scales the protocol: {listed}. {note}".strip()


def interaction_hint(charts: str) -> str:
    """What the reader can do with these charts, said once above them (what `report/nnlab.js` offers each kind)."""
    hints = []
    if "nnlab-heatmap" in charts:
        hints.append("hover a cell for its value")
    if "data-zoom=" in charts:
        hints.append("hover a point for its value; click a legend entry to hide it, shift-click to show only it; "
                     "drag a rectangle to zoom, double-click to reset")
    if "nnlab-runs-toggle" in charts:
        hints.append("show the single runs behind each mean")
    return "; ".join(hints)


@dataclass
class PageOutput:
    page: str
    out_dir: Path  # results/<profile>/answers
    vars: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, str] = field(default_factory=dict)

    @property
    def fragment_dir(self) -> Path:
        return self.out_dir / self.page

    def set(self, dotted: str, value: Any) -> None:
        """Set a page variable, e.g. set('a74.sigmoid.test', '10.00 %')."""
        target = self.vars
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value

    def figure(self, fig, name: str, caption: str, alt: str | None = None) -> str:
        """Save PNG+SVG and register a Markdown figure fragment `<name>.md` that shows the PNG."""
        save(fig, self.fragment_dir / name)
        alt_text = (alt or caption).replace('"', "'")
        block = (f"![{caption}]({GENERATED}/{self.page}/{name}.png){{#fig-{name.replace('_', '-')} "
                 f'fig-alt="{alt_text}"}}\n\n'
                 f"<small>[SVG]({GENERATED}/{self.page}/{name}.svg)</small>\n")
        self.fragments[name] = block
        return block

    def interactive(self, name: str, charts: str, data: pd.DataFrame, note: str = "") -> None:
        """Append to figure `name` its interactive copy (inline SVG charts, `analysis.study.svg_chart`) and the
        data it draws as `<name>.csv`; raw HTML in a fenced block, which pandoc and Quarto both pass through."""
        if not charts:
            return
        data.to_csv(self.fragment_dir / f"{name}.csv", index=False)
        link = f"{GENERATED}/{self.page}/{name}.csv"
        self.fragments[name] += (f"\n<details class=\"nnlab-interactive\"><summary>Explore this figure: "
                                 f"{interaction_hint(charts)}{note}</summary>\n\n"
                                 f"```{{=html}}\n{charts}\n<p><a href=\"{link}\">The data as CSV</a></p>\n```\n\n"
                                 "</details>\n")

    def measure(self, key: str, value: Any, *, experiments: Iterable[str] = (), run_ids: Iterable[str] = (),
                anchor: str = "") -> None:
        """A measured value the scorecard can join with a document's value (config/scorecard.csv `measure` column):
        an Estimate (mean, CI, n, per-run values), a plain number, or a verdict word for a claim.

        `experiments` names the config experiments the value was trained in (the scorecard reads their profile
        scaling from it) and `run_ids` the runs behind it; a value without experiments is a computation (an exact
        count, closed-form arithmetic) that no training protocol can scale. `anchor`: the page section that
        answers it, when that is not the question id's (`h4-6` for H4.6)."""
        if hasattr(value, "as_dict"):
            entry = value.as_dict()
        elif isinstance(value, str):
            entry = {"text": value}
        else:
            entry = {"mean": float(value), "low": math.nan, "high": math.nan, "n": 1, "std": math.nan,
                     "values": [float(value)]}
        entry.update({k: v for k, v in (("experiments", list(experiments)), ("run_ids", [str(r) for r in run_ids]),
                                        ("anchor", anchor)) if v})
        self.vars.setdefault("measured", {})[key] = entry

    def headline(self, question: str, anchor: str, text: str, short: str | None = None,
                 figure: str | None = None) -> None:
        """A finding for the landing page: question id, the anchor on this page, the computed sentence; `short`
        a computed one-line form for the landing table (else the report shortens `text`), `figure` the name of
        one of this page's figures to show as a thumbnail there."""
        entry = {"id": question, "anchor": anchor, "text": text}
        entry.update({k: v for k, v in (("short", short), ("figure", figure)) if v})
        self.vars.setdefault("headlines", []).append(entry)

    def fragment(self, name: str, text: str) -> None:
        self.fragments[name] = text.rstrip() + "\n"

    def write(self, meta: dict) -> None:
        self.fragment_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self.fragments.items():
            (self.fragment_dir / f"{name}.md").write_text(text)
        payload = {"page": self.page, "vars": self.vars, "meta": meta}
        (self.out_dir / f"{self.page}.json").write_text(json.dumps(payload, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


#: the characters that mean something to pandoc's Markdown (and so Quarto's) or to HTML: emphasis, code, links,
#: tags and entities, table cells, citations, math, smart quotes; a backslash makes each literal
_PUNCTUATION = re.compile(r"""([\\`*_{}\[\]<>#|~^$&@"'()!])""")


def md_text(value: object) -> str:
    """Config text (a title, a note, a grid value) as literal Markdown: every punctuation character backslash-
    escaped, so `<img …>` shows as text instead of becoming a tag and `*`, `_` or `|` cannot restyle a page or
    split a table; line breaks become spaces."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def code_fence(text: str, info: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside it (a config value may hold ```)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}\n"


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table (both Quarto and pandoc read it) from a small frame of display strings."""
    cols = list(frame.columns)
    # pandoc and Quarto size wrapped columns by the dashes of the separator line: give each column
    # dashes in proportion to its longest cell, so prose columns get room and flags stay narrow
    longest = [max([len(str(c))] + [len(str(v)) for v in frame[c]]) for c in cols]
    dashes = [max(3, round(60 * n / max(sum(longest), 1))) for n in longest]
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "|".join("-" * d for d in dashes) + "|"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(re.sub(r"(?<!\\)\|", r"\\|", str(row[c])) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def page_meta(ctx: Context, runs: pd.DataFrame) -> dict:
    """Profile, data provenance, versions and dates: stated on every page."""
    meta: dict[str, Any] = {
        "profile": ctx.profile,
        "built_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "runs": int(len(runs)),
        "software": versions(),
        "datasets": {name: {"source": p.get("source"), "sha256": p.get("sha256")}
                     for name, p in ctx.provenance.items()},
    }
    if len(runs):
        meta.update({
            "torch": ", ".join(sorted(runs["torch_version"].astype(str).unique())),
            "devices": ", ".join(sorted(runs["device"].astype(str).unique())),
            "train_seconds": float(runs["train_seconds"].sum()),
            "wall_seconds": float(runs["wall_seconds"].sum()),
            "diverged": int((runs["status"] == "diverged").sum()),
            "hardware": sorted(runs["hardware"].dropna().astype(str).unique()) if "hardware" in runs else [],
        })
    return meta


def meta_fragment(meta: dict) -> str:
    lines = [f"- **Profile:** `{meta['profile']}`; answers built {meta['built_at']}."]
    if meta.get("runs"):
        lines.append(f"- **Runs:** {meta['runs']} ({meta.get('diverged', 0)} diverged) on {meta['devices']}, "
                     f"torch {meta['torch']}; {meta['wall_seconds'] / 60:.1f} min of job time in all.")
    soft = meta.get("software", {})
    lines.append("- **Software:** " + ", ".join(f"{k} {v}" for k, v in soft.items()) + ".")
    for name, info in meta["datasets"].items():
        digest = (info.get("sha256") or {}).get("train-images-idx3-ubyte", "?")
        lines.append(f"- **{name}:** from {info['source']} (train-images SHA-256 `{digest[:16]}…`, "
                     "all four files verified).")
    return "\n".join(lines) + "\n"


def missing(out: PageOutput, names: Iterable[str], what: str) -> None:
    """Fill fragments a page includes when the profile has none of the runs they need."""
    for name in names:
        out.fragment(name, f"_No {what} runs in this profile's configuration: nothing to show._\n")


def begin(ctx: Context, out: PageOutput, experiment: str, scaling_var: str, fragments: Iterable[str],
          answer_vars: list[str], what: str) -> pd.DataFrame | None:
    """The opening every answer shares: state the profile's scaling, and when the profile has no runs of the
    experiment, fill its fragments and sentences with a 'not in this profile' line and return None."""
    runs = ctx.of("runs", experiment)
    out.set(scaling_var, ctx.scaling_text(experiment))
    if runs.empty:
        missing(out, fragments, what)
        for var in answer_vars:
            out.set(var, f"No {what} runs in this profile's configuration.")
        return None
    return runs
