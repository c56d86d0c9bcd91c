"""Document 001 (HW4): epochs and a validation rule (H4.1–H4.2), batch size (H4.3), batch normalisation
(H4.4), the 8-layer CNN's anatomy (H4.5), and the five-run comparison that sat at chance (H4.6).

Every claim of the document is marked supported, contradicted or inconclusive from our runs, by a three-way test
on an interval over seeds (`analysis.study.stats.ClaimTest`): a direction when the 95 % CI lies on one side, an
equivalence ("at chance", "within 15 %") only when the 90 % CI lies inside a margin declared below, and no verdict
from one run per arm. Each claim row shows the interval it was decided from.

The longer `answer_*` functions select their runs and fill the page in two steps: a compute function
(`*_stats`, `cnn_anatomy`) returns the numbers and tests (no prose, no figures) and the functions after it word
them, so a statistic and its wording can be read, tested and changed apart."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
import numpy as np
import pandas as pd
import torch

from analysis.study.answers.common import Context, PageOutput, begin, markdown_table, missing
from analysis.study.answers.questions import Measure, Question, metric_units
from analysis.study.answers.tools import (curves_figure, estimates, final_values, gap, line_charts, ok_runs, pp,
                                          sentence)
from analysis.study.svg_chart import Series, line_chart
from analysis.study.figures import ACTIVATION_PALETTE
from analysis.engine.models import build_model, model_summary, parameter_count, penalty_terms, penalty_value
from analysis.data.splits import n_classes
from analysis.study.stats import (CONTRADICTED, INCONCLUSIVE, SUPPORTED, ClaimTest, Estimate, direction_test, greater,
                                  mean_ci, ratio_greater, welch_test, within)

MLP, BN, BATCH, CNN, DIAG = "h4_mlp", "h4_bn", "h4_batch", "h4_cnn", "h4_diagnosis"
#: the experiments this page shows (analysis.study.answers: the experiments page shows every other one)
CLAIMS = (MLP, BN, BATCH, CNN, DIAG)
#: the validation rule: stop when validation loss has not improved for this many epochs, keep the best
PATIENCE = 5
DOCUMENT_H46 = {"original": {"acc": [0.33, 0.24, 0.34, 0.24, 0.27], "loss": [8.28, 8.64, 7.87, 8.62, 8.36]},
            "filter-reduced": {"acc": [0.31, 0.34, 0.29, 0.25, 0.29], "loss": [4.68, 4.57, 4.71, 4.6, 4.67]}}
#: "at chance": the mean accuracy's 90 % CI inside 1/k ± this (4 balanced classes: 0.15–0.35). Declared with the
#: diagnosis, before its runs: the document's own ten runs (0.24–0.34) sit inside it, a net that learns anything
#: on Fashion-MNIST's four-class subset does not
CHANCE_BAND = 0.10
#: "the document's losses are an untrained net's": the predicted loss (L2 term at initialisation + ln k, per seed)
#: within ± this fraction of the document's mean loss (90 % CI). Declared with the diagnosis, before its runs: room
#: for the document's run-to-run spread (about ±4 %) and for the Keras initialiser and l2() we had to assume
CLOSE_FRACTION = 0.15
#: H4.2's "better at 40 than at 25 epochs": the two epochs the document names (test accuracy, paired per run)
EARLY, LATE = 25, 40
#: the direction tests' null, in each quantity's own units (a ratio's is 1×, not its log's 0)
NO_GAIN, NO_RATIO = "0 pp", "1×"


def bold(word: str) -> str:
    return f"**{word}**"


@dataclass(frozen=True)
class CheckedClaim:
    """A claim of the document this page checks: its text as the claims table words it, and the scorecard key it
    publishes (config/scorecard.csv `measure`), declared here, so rewording the text never moves its row. No key:
    shown on the page, not a registry row."""

    text: str
    key: str = ""


OVERFITS = CheckedClaim("more epochs help until the net overfits", "h4.claim.more_epochs_help_until_the_net_overfits")
SIGMOID_LATER = CheckedClaim("sigmoid: better at 40 than at 25 epochs",
                             "h4.claim.sigmoid_better_at_40_than_at_25_epochs")
CHEAPER = CheckedClaim("mini-batches are cheaper per epoch than SGD (batch 1)",
                       "h4.claim.mini_batches_are_cheaper_per_epoch_than_sgd_batch_1")
NOISIER = CheckedClaim("SGD (batch 1) is noisier than mini-batches",
                       "h4.claim.sgd_batch_1_is_noisier_than_mini_batches")
BN_HELPS = CheckedClaim("batch normalisation slightly increased performance",
                        "h4.claim.batch_normalisation_slightly_increased_performance")
MORE_PARAMETERS = CheckedClaim("an 8-layer fully connected net has more parameters",
                               "h4.claim.an_8_layer_fully_connected_net_has_more_parameters")
AT_CHANCE = CheckedClaim("both networks stay at chance (0.28 / 0.29 accuracy)",
                         "h4.claim.both_networks_stay_at_chance_0_28_0_29_accuracy")
CAUSE = CheckedClaim("the cause is the architecture or the image quality")
#: every claim the page checks, in the claims table's order
CHECKED_CLAIMS = (OVERFITS, SIGMOID_LATER, CHEAPER, NOISIER, BN_HELPS, MORE_PARAMETERS, AT_CHANCE, CAUSE)
H46_METRICS = metric_units("test_acc", "loss")
#: H4.6's scorecard keys: each network's five Keras-default runs, and the untrained-network explanation (lr 10⁻⁷)
H46_MEASURE = Measure("h46.{network}.{metric}", H46_METRICS)
DIAGNOSIS_MEASURE = Measure("h46.diagnosis.{network}.{metric}", H46_METRICS)
#: the questions this page answers (analysis.study.answers.questions); the claims table and H4.6 head the landing page
H4_CLAIMS = Question("H4.1–H4.6", "h4-claims", "h4.claims", ("h4_claims",),
                     measures=tuple(Measure(c.key, "claim") for c in CHECKED_CLAIMS if c.key))
H41 = Question("H4.1", "h4-1", "h4.h41", ("h41_table", "h41_curves"), headline=False)
H42 = Question("H4.2", "h4-1", "h4.h42", ("h42_table", "h42_val_loss"), headline=False)
H43 = Question("H4.3", "h4-3", "h4.h43", ("h43_table", "h43_time"), headline=False)
H44 = Question("H4.4", "h4-4", "h4.h44", ("h44_curves",), headline=False)
H45 = Question("H4.5", "h4-5", "h4.h45", ("h45_summary", "h45_counts"), headline=False)
H46 = Question("H4.6", "h4-6", "h4.diagnosis", ("h46_table", "h46_diagnosis"),
               measures=(H46_MEASURE, DIAGNOSIS_MEASURE))
QUESTIONS = (H4_CLAIMS, H41, H42, H43, H44, H45, H46)


def claim_row(claim: CheckedClaim, experiments: list[str], measure: str, word: str, qualifier: str = "") -> dict:
    """One row of the claims table: the interval the verdict was read from, then the verdict: a value (`verdict`,
    what the scorecard gets), worded for the table with its qualifier when it has one."""
    return {"claim": claim.text, "key": claim.key, "experiments": experiments, "measure": measure, "verdict": word,
            "qualifier": qualifier}


def claims_table(claims: list[dict]) -> pd.DataFrame:
    """The claims as the page shows them: the verdict in bold, its qualifier after it."""
    return pd.DataFrame([{"claim": c["claim"], "measure": c["measure"],
                          "verdict": bold(c["verdict"]) + (f" ({c['qualifier']})" if c["qualifier"] else "")}
                         for c in claims])


def one_run(test: ClaimTest) -> bool:
    """No interval: one run (per arm), so no verdict."""
    return test.ci95.n < 2 or math.isnan(test.ci95.low)


def all_of(tests: list[ClaimTest]) -> ClaimTest:
    """A claim that needs every part to hold (both networks, every arm): contradicted when any part is, supported
    when all are, inconclusive otherwise. Keeps the first part's intervals; the rows word each part's own."""
    if not tests:
        return ClaimTest(INCONCLUSIVE, mean_ci([]), mean_ci([]), "not measured in this profile")
    words = {t.verdict for t in tests}
    word = CONTRADICTED if CONTRADICTED in words else SUPPORTED if words == {SUPPORTED} else INCONCLUSIVE
    return ClaimTest(word, tests[0].ci95, tests[0].ci90, "; ".join(t.why for t in tests))


def n_text(*counts: int) -> str:
    """'n = 3', 'n = 3 each' or 'n = 3 and 2': how many runs (or timings) an interval rests on."""
    if len(counts) == 1:
        return f"n = {counts[0]}"
    return f"n = {counts[0]} each" if len(set(counts)) == 1 else "n = " + " and ".join(map(str, counts))


def ci_text(est: Estimate, n: str, scale: float = 100.0, unit: str = " pp", fmt: str = "+.2f") -> str:
    """A mean (a difference in points by default) with its 95 % CI and what it rests on; one run: no interval."""
    if est.n == 0 or not math.isfinite(est.mean):
        return "n/a (not measured)"
    value = f"{scale * est.mean:{fmt}}{unit}"
    if math.isnan(est.low):
        return f"{value} ({n}: no interval)"
    return f"{value} (95 % CI {scale * est.low:{fmt}} to {scale * est.high:{fmt}}{unit}, {n})"


def _times(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def ratio_text(est: Estimate, n: str) -> str:
    """'31.2× (95 % CI 29.0–33.5, n = 3 each)': a ratio of geometric means with its CI."""
    if est.n == 0 or not math.isfinite(est.mean):
        return "n/a (not measured)"
    if math.isnan(est.low):
        return f"{_times(est.mean)}× ({n}: no interval)"
    return f"{_times(est.mean)}× (95 % CI {_times(est.low)}–{_times(est.high)}, {n})"


def reason(test: ClaimTest, null: str, arms: str = "one run per arm") -> str:
    """Why a direction test decided as it did, against its null in the quantity's own units."""
    if one_run(test):
        return f"{arms}: no interval, no verdict"
    if test.verdict == SUPPORTED:
        return f"95 % CI above {null}"
    if test.verdict == CONTRADICTED:
        return f"95 % CI below {null}"
    return f"95 % CI includes {null}: no difference detected"


def equivalence_reason(test: ClaimTest, arms: str = "one run") -> str:
    """An equivalence test's reason; one run has no interval and no verdict."""
    return f"{arms}: no interval, no verdict" if one_run(test) else test.why


def direction_words(test: ClaimTest, up: str, down: str, text: str) -> str:
    """A direction in words only when the 95 % CI says so; across zero 'no difference detected', never 'same'."""
    if one_run(test):
        return f"not compared, one run per arm ({text})"
    return {SUPPORTED: f"{up} ({text})", CONTRADICTED: f"{down} ({text})"}.get(
        test.verdict, f"no difference detected ({text})")


def validation_rule(group: pd.DataFrame, patience: int = PATIENCE) -> tuple[int, int]:
    """(chosen epoch, epoch training would stop) for 'best validation loss, stop after `patience` epochs without
    improvement'."""
    best_epoch, best, stop = 0, math.inf, int(group["epoch"].max())
    for row in group.sort_values("epoch").itertuples():
        if row.epoch == 0:
            continue
        if row.val_loss < best:
            best, best_epoch = row.val_loss, row.epoch
        elif row.epoch - best_epoch >= patience:
            stop = row.epoch
            break
    return best_epoch, stop


# ------------------------------------------------------------------ H4.1 / H4.2 ---
def answer_epochs(ctx: Context, out: PageOutput, claims: list[dict]) -> pd.DataFrame:
    runs = begin(ctx, out, MLP, "h4.mlp_scaling", H41.fragments + H42.fragments,
                 ["h4.h41", "h4.h42"], "H4.1")
    if runs is None:
        return ctx.of("runs", MLP)
    h4 = epochs_stats(runs, ctx.of("epochs", MLP))
    out.fragment("h41_table", markdown_table(pd.DataFrame([
        {"activation": act, "test accuracy": e["test_acc"].pct(), "validation accuracy": e["val_acc"].pct(),
         "train accuracy": e["train_acc"].pct(), "test loss": e["test_loss"].num(3)} for (act,), e in h4.est.items()])))
    epochs_figures(out, h4)
    rule_answer(out, h4)
    claims.extend(epochs_claims(h4))
    return h4.runs


@dataclass
class EpochsStats:
    """H4.1–H4.2 as numbers and tests, so the tables, figures and sentences only word them. Every change is taken
    per run (one value per seed) and averaged with a t-interval over seeds."""

    runs: pd.DataFrame  # the MLP runs, with `chosen` (epoch the validation rule keeps) and `stop` (where it stops)
    epochs: pd.DataFrame
    est: dict[tuple, dict]  # estimates per activation
    horizon: int  # epochs trained
    by_activation: dict[str, pd.DataFrame]  # relu, sigmoid (those that ran): their runs
    late_gain: dict[str, Estimate]  # test accuracy at epoch LATE − at EARLY (n = 0 with fewer than LATE epochs)
    helped: dict[str, Estimate]  # test accuracy at the epoch the rule keeps − at epoch 1
    rise: dict[str, Estimate]  # test loss at the last epoch − at the epoch the rule keeps
    overfit: dict[str, int]  # runs whose best validation loss comes before the last epoch
    relu_gap: Estimate | None  # final test accuracy ReLU − sigmoid, when both ran

    def later(self, act: str) -> ClaimTest:
        """Better at LATE than at EARLY epochs: the paired gain's 95 % CI above zero."""
        return direction_test(self.late_gain[act])

    def helps(self, act: str) -> ClaimTest:
        """More epochs helped: the gain up to the kept epoch has its 95 % CI above zero."""
        return direction_test(self.helped[act])

    def rises(self, act: str) -> ClaimTest:
        """The net overfits after the kept epoch: the test loss's rise has its 95 % CI above zero."""
        return direction_test(self.rise[act])

    def overfits(self, act: str) -> ClaimTest:
        return overfit_test(self.helped[act], self.rise[act])


def per_run_change(epochs: pd.DataFrame, column: str, start: pd.Series, end: pd.Series) -> list[float]:
    """Per run, `column` at epoch end[run] − at epoch start[run] (both indexed by run_id): one value per seed, so
    the change gets an interval over seeds. Runs missing either value (diverged, or shorter) are left out."""
    value = epochs.drop_duplicates(["run_id", "epoch"]).set_index(["run_id", "epoch"])[column]
    changes = [value.get((rid, int(end[rid])), math.nan) - value.get((rid, int(start[rid])), math.nan)
               for rid in start.index if rid in end.index]
    return [float(c) for c in changes if math.isfinite(c)]


def _at(epoch: int, like: pd.Series) -> pd.Series:
    """The same epoch for every run of `like`."""
    return pd.Series(epoch, index=like.index)


def epochs_stats(runs: pd.DataFrame, epochs: pd.DataFrame) -> EpochsStats:
    """The validation rule applied to every run, and per activation what more epochs changed, run by run."""
    est = estimates(runs, ["activation"], ["test_acc", "val_acc", "train_acc", "test_loss"])
    horizon = int(runs["epochs"].max())
    rule = {rid: validation_rule(g) for rid, g in epochs.groupby("run_id")}
    runs = runs.assign(chosen=runs["run_id"].map(lambda r: rule[r][0]), stop=runs["run_id"].map(lambda r: rule[r][1]))
    by_activation = {a: runs[runs["activation"] == a] for a in ("relu", "sigmoid") if a in set(runs["activation"])}
    late_gain, helped, rise, overfit = {}, {}, {}, {}
    for act, r in by_activation.items():
        e = epochs[epochs["run_id"].isin(r["run_id"])]
        chosen, last = r.set_index("run_id")["chosen"], e.groupby("run_id")["epoch"].max()
        late = per_run_change(e, "test_acc", _at(EARLY, chosen), _at(LATE, chosen)) if LATE <= horizon else []
        late_gain[act] = mean_ci(late)
        helped[act] = mean_ci(per_run_change(e, "test_acc", _at(1, chosen), chosen))
        rise[act] = mean_ci(per_run_change(e, "test_loss", chosen, last))
        overfit[act] = int((r["chosen"] < horizon).sum())
    relu_gap = (gap(runs, runs["activation"] == "relu", runs["activation"] == "sigmoid")
                if est.get(("relu",)) and est.get(("sigmoid",)) else None)
    return EpochsStats(runs, epochs, est, horizon, by_activation, late_gain, helped, rise, overfit, relu_gap)


def overfit_test(helped: Estimate, rise: Estimate) -> ClaimTest:
    """'More epochs help until the net overfits', per run: test accuracy gained from epoch 1 to the epoch the
    validation rule keeps (95 % CI above 0: the epochs helped) and test loss risen from that epoch to the last (95 %
    CI above 0: the net overfits). The epoch is picked on validation loss and the rise read on test loss, so the
    rise is not merely the picked minimum. Contradicted when the epochs did not help; a test loss not surely risen
    leaves 'until it overfits' untested: inconclusive, not false."""
    helps, overfits = direction_test(helped), direction_test(rise)
    if helps.verdict == CONTRADICTED:
        return ClaimTest(CONTRADICTED, helped, helped, "test accuracy fell from epoch 1 to the kept epoch")
    if helps.verdict == SUPPORTED and overfits.verdict == SUPPORTED:
        return ClaimTest(SUPPORTED, rise, rise, "accuracy gained up to the kept epoch, test loss risen after it")
    return ClaimTest(INCONCLUSIVE, rise, rise, f"gain: {helps.why}; rise: {overfits.why}")


def epochs_figures(out: PageOutput, h4: EpochsStats) -> None:
    """The learning curves, then validation loss with the epoch the rule keeps marked: where the curve turns up
    after the mark, the net has begun to overfit."""
    curves_figure(h4.epochs, "activation", None, out, "h41_curves",
                  f"H4.1–H4.2 — accuracy per epoch (solid train, dashed validation, dotted test), mean and range over "
                  "seeds. The next figure marks the epoch the validation rule "
                  f"(best validation loss, patience {PATIENCE}) "
                  "picks.", palette=ACTIVATION_PALETTE, hue_order=list(h4.by_activation))
    fig, ax = plt.subplots(figsize=(8, 4))
    for act, g in h4.epochs[h4.epochs["epoch"] > 0].groupby("activation"):
        mean = g.groupby("epoch")["val_loss"].mean()
        ax.plot(mean.index, mean.values, color=ACTIVATION_PALETTE[act], label=f"{act}: validation loss")
        chosen = h4.runs[h4.runs["activation"] == act]["chosen"].mean()
        ax.axvline(chosen, color=ACTIVATION_PALETTE[act], ls=":", lw=1.2)
        ax.text(chosen, ax.get_ylim()[1] if ax.get_ylim()[1] < 10 else mean.max(), f" rule: {chosen:.0f}",
                color=ACTIVATION_PALETTE[act], va="top", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (NLL)")
    ax.legend(fontsize=8)
    out.figure(fig, "h42_val_loss", "H4.2 — validation loss per epoch (mean over seeds). Dotted: the epoch the "
               "validation rule keeps; where the curve turns up afterwards, the net has begun to overfit.")
    trained = h4.epochs[h4.epochs["epoch"] > 0]
    acts = [a for a in h4.by_activation if a in set(trained["activation"])]
    finite = trained["val_loss"][np.isfinite(trained["val_loss"].astype(float))]
    span = [float(finite.min()), float(finite.max())] if len(finite) else [0.0, 1.0]
    marks = {None: [Series(f"{act}: the rule keeps epoch", [chosen] * 2, span, colour=ACTIVATION_PALETTE[act],
                           dash="2 2", points=False)
                    for act in acts for chosen in [h4.runs[h4.runs["activation"] == act]["chosen"].mean()]
                    if math.isfinite(chosen)]}
    out.interactive("h42_val_loss", line_charts(
        trained, "epoch", "val_loss", "activation", palette=ACTIVATION_PALETTE, hue_order=acts, x_label="epoch",
        y_label="validation loss (NLL)", default_title="validation loss; dotted: the epoch the rule keeps (mean)",
        extra=marks), trained[["activation", "run_id", "epoch", "val_loss"]])


def loss_text(est: Estimate) -> str:
    return ci_text(est, n_text(est.n), 1.0, "", "+.3f")


def rule_answer(out: PageOutput, h4: EpochsStats) -> None:
    """H4.2 per activation: the rule's table row and a clause of the answer; and H4.1's sentence."""
    rows, parts = [], []
    for act, r in h4.by_activation.items():
        gain = h4.late_gain[act]
        late = ci_text(gain, n_text(gain.n)) if gain.n else f"n/a (< {LATE} epochs)"
        rows.append({"activation": act,
                     "epoch chosen (mean, range)": f"{r['chosen'].mean():.1f} "
                                                   f"({r['chosen'].min()}–{r['chosen'].max()})",
                     "training would stop at": f"{r['stop'].mean():.1f}",
                     f"test acc. {LATE} − {EARLY} epochs (per run)": late,
                     "test loss, last − kept epoch (per run)": loss_text(h4.rise[act]),
                     "runs whose best val. loss is before the last epoch": f"{h4.overfit[act]} of {len(r)}"})
        parts.append(f"for {act} the rule keeps epoch {r['chosen'].mean():.1f} on average"
                     + (f", and test accuracy changes by {late} from {EARLY} to {LATE} epochs" if gain.n else ""))
    out.fragment("h42_table", markdown_table(pd.DataFrame(rows)))
    relu, sig = h4.est.get(("relu",)), h4.est.get(("sigmoid",))
    if h4.relu_gap is not None:
        out.set("h4.h41", f"After {h4.horizon} epochs of plain SGD the ReLU MLP ends at {relu['test_acc'].pct()} "
                f"test accuracy and the sigmoid MLP at {sig['test_acc'].pct()} (ReLU − sigmoid {pp(h4.relu_gap)}).")
    out.set("h4.h42", sentence(parts))


def epochs_claims(h4: EpochsStats) -> list[dict]:
    """H4.2's claims, each beside the per-run interval it is decided from: ReLU helps and then overfits; sigmoid is
    better at LATE than at EARLY epochs (not comparable when the profile trains fewer than LATE)."""
    rows = []
    if "relu" in h4.by_activation:
        helped, rise, chosen = h4.helped["relu"], h4.rise["relu"], h4.by_activation["relu"]["chosen"].mean()
        measure = (f"ReLU, per run: test accuracy from epoch 1 to the epoch the validation rule keeps (mean "
                   f"{chosen:.1f}) {ci_text(helped, n_text(helped.n))}, "
                   f"{reason(h4.helps('relu'), NO_GAIN, 'one run')}; test loss from there to epoch "
                   f"{h4.horizon} {loss_text(rise)}, {reason(h4.rises('relu'), '0', 'one run')}")
        rows.append(claim_row(OVERFITS, [MLP], measure, h4.overfits("relu").verdict))
    if "sigmoid" in h4.by_activation:
        claim = SIGMOID_LATER
        if h4.horizon < LATE:
            rows.append(claim_row(claim, [MLP], f"n/a: {h4.horizon} epochs trained",
                                  f"not comparable: fewer than {LATE} epochs in this profile"))
        else:
            gain, test = h4.late_gain["sigmoid"], h4.later("sigmoid")
            rows.append(claim_row(claim, [MLP], f"sigmoid, per run: test accuracy at epoch {LATE} − at epoch "
                                  f"{EARLY} {ci_text(gain, n_text(gain.n))}, {reason(test, NO_GAIN, 'one run')}",
                                  test.verdict))
    return rows


# ------------------------------------------------------------------------- H4.3 ---
#: the mini-batch size H4.3's claims are measured against (the document's "mini-batches")
REFERENCE_BATCH = 32


def answer_batch(ctx: Context, out: PageOutput, claims: list[dict]) -> pd.DataFrame:
    runs = begin(ctx, out, BATCH, "h4.batch_scaling", H43.fragments, ["h4.h43"], "batch-size")
    if runs is None:
        return ctx.of("runs", BATCH)
    epochs = ctx.of("epochs", BATCH)
    h4 = batch_stats(runs, epochs, ctx.of("batches", BATCH))
    out.fragment("h43_table", markdown_table(pd.DataFrame(batch_rows(h4))))
    batch_time_figure(out, epochs, len(h4.sizes), int(runs["epochs"].max()))
    if 1 in h4.sizes and REFERENCE_BATCH in h4.sizes:
        claims.extend(batch_claims(h4))
        out.set("h4.h43", batch_sentence(h4))
    else:
        out.set("h4.h43", f"Batch sizes 1 and {REFERENCE_BATCH} are not both in this profile.")
    return runs


@dataclass
class BatchStats:
    """H4.3 per batch size, as estimates over seeds (each keeps its per-run values) and the tests of batch 1
    against REFERENCE_BATCH: time per epoch, loss noise, final test accuracy."""

    sizes: list[int]
    runs: dict[int, int]  # runs per batch size
    seconds: dict[int, Estimate]  # mean seconds per epoch, one value per timing (pack-mates share one)
    noise: dict[int, Estimate]  # per run: std of the step-to-step change of the training loss
    final: dict[int, Estimate]  # final test accuracy of the runs that trained to the end
    time_ratio: dict[int, Estimate]  # seconds per epoch, batch b / REFERENCE_BATCH (ratio of geometric means)
    cheaper: ClaimTest  # batch 1 slower per epoch than REFERENCE_BATCH (Welch on log seconds)
    noisier: ClaimTest  # batch 1's loss noise above REFERENCE_BATCH's (Welch on log noise)
    noise_ratio: Estimate  # loss noise, batch 1 / REFERENCE_BATCH

    def shared_clock(self, *sizes: int) -> bool:
        """Did seeds of these sizes train in one pack (fewer timings than runs)?"""
        return any(self.seconds[b].n < self.runs[b] for b in sizes)


def epoch_seconds(epochs: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per trained epoch, one row per timing. Runs packed into one job share their pack's clock (its
    time is theirs: `analysis.engine.training.run_record`), so an identical timing series counts once, not once per
    seed: three pack-mates would otherwise give a zero-width interval that no measurement backs."""
    e = epochs[epochs["epoch"] > 0].sort_values("epoch")
    series = e.groupby(["batch_size", "run_id"])["seconds"].agg(lambda s: tuple(np.round(s.to_numpy(float), 6)))
    timings = series.rename("series").reset_index().drop_duplicates(["batch_size", "series"])
    return timings.assign(seconds=timings["series"].map(np.mean))


def loss_noise(batches: pd.DataFrame) -> pd.DataFrame:
    """Per run, the std of the training loss's step-to-step change: one value per seed (each pack member logs its
    own losses)."""
    noise = batches.sort_values("step").groupby(["batch_size", "run_id"])["loss"].apply(lambda s: s.diff().std())
    return noise.rename("noise").reset_index()


def batch_stats(runs: pd.DataFrame, epochs: pd.DataFrame, batches: pd.DataFrame) -> BatchStats:
    """What the batch size costs (time per epoch) and buys (less noisy steps), each against REFERENCE_BATCH as a
    ratio with a CI over seeds (Welch on the logs: both are positive and compared as multiples)."""
    timing, noise, ok = epoch_seconds(epochs), loss_noise(batches), ok_runs(runs)
    sizes = sorted(int(b) for b in runs["batch_size"].unique())
    seconds = {b: mean_ci(timing[timing["batch_size"] == b]["seconds"]) for b in sizes}
    noises = {b: mean_ci(noise[noise["batch_size"] == b]["noise"]) for b in sizes}
    empty = mean_ci([])
    ref_seconds, ref_noise = seconds.get(REFERENCE_BATCH, empty).values, noises.get(REFERENCE_BATCH, empty).values
    time_ratio = {b: ratio_greater(seconds[b].values, ref_seconds)[1] for b in sizes}
    cheaper, _ = ratio_greater(seconds.get(1, empty).values, ref_seconds)
    noisier, noise_ratio = ratio_greater(noises.get(1, empty).values, ref_noise)
    return BatchStats(sizes, {b: int((runs["batch_size"] == b).sum()) for b in sizes}, seconds, noises,
                      {b: mean_ci(ok[ok["batch_size"] == b]["final_test_acc"]) for b in sizes},
                      time_ratio, cheaper, noisier, noise_ratio)


def timings_text(h4: BatchStats, *sizes: int) -> str:
    """How many timings an interval of time rests on, and why fewer than the runs when seeds shared a pack."""
    text = n_text(*(h4.seconds[b].n for b in sizes))
    return text + ("; pack-mates share one timing" if h4.shared_clock(*sizes) else "")


def batch_rows(h4: BatchStats) -> list[dict]:
    """The H4.3 table: per batch size, each quantity with its CI over seeds."""
    ref = REFERENCE_BATCH
    return [{"batch size": b, "runs": h4.runs[b],
             "seconds per epoch": ci_text(h4.seconds[b], timings_text(h4, b), 1.0, " s", ".2f"),
             f"time vs batch {ref}": "1× (reference)" if b == ref else
             ratio_text(h4.time_ratio[b], timings_text(h4, b, ref) if ref in h4.sizes else "n/a"),
             "std of step-to-step loss change": ci_text(h4.noise[b], n_text(h4.noise[b].n), 1.0, "", ".3f"),
             "final test accuracy": h4.final[b].pct(2)} for b in h4.sizes]


def batch_claims(h4: BatchStats) -> list[dict]:
    """H4.3's two claims, batch 1 against REFERENCE_BATCH, each beside the ratio CI it is decided from."""
    ref = REFERENCE_BATCH
    time = (f"batch 1 / batch {ref} time per epoch: {ratio_text(h4.time_ratio[1], timings_text(h4, 1, ref))}, "
            f"{reason(h4.cheaper, NO_RATIO)}")
    noise = (f"batch 1 / batch {ref} std of step-to-step loss change: "
             f"{ratio_text(h4.noise_ratio, n_text(h4.noise[1].n, h4.noise[ref].n))}, {reason(h4.noisier, NO_RATIO)}")
    return [claim_row(CHEAPER, [BATCH], time, h4.cheaper.verdict),
            claim_row(NOISIER, [BATCH], noise, h4.noisier.verdict)]


def batch_sentence(h4: BatchStats) -> str:
    """H4.3's answer: cost and noise against the reference, and the spread of final accuracy (means with CIs)."""
    ref, largest = REFERENCE_BATCH, max(h4.sizes)
    by_acc = sorted(h4.sizes, key=lambda b: h4.final[b].mean if math.isfinite(h4.final[b].mean) else -math.inf)
    low, high = by_acc[0], by_acc[-1]
    also = (f" and batch {largest} {ratio_text(h4.time_ratio[largest], timings_text(h4, largest, ref))}"
            if largest != ref else "")
    return (f"Per epoch, batch 1 takes {ratio_text(h4.time_ratio[1], timings_text(h4, 1, ref))} the time of batch "
            f"{ref}{also}; the std of the step-to-step loss change is {h4.noise[1].num(3)} at batch 1 and "
            f"{h4.noise[largest].num(3)} at batch {largest}; final test accuracy goes from {h4.final[low].pct(2)} "
            f"(batch {low}) to {h4.final[high].pct(2)} (batch {high}).")


def batch_time_figure(out: PageOutput, epochs: pd.DataFrame, n_sizes: int, horizon: int) -> None:
    """Accuracy against wall time rather than epochs: what a batch size costs to reach an accuracy."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    e = epochs.sort_values("epoch").copy()
    e["elapsed"] = e.groupby("run_id")["seconds"].cumsum()
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, n_sizes))
    for colour, (b, g) in zip(colours, e.groupby("batch_size")):
        mean = g.groupby("epoch")[["elapsed", "test_acc"]].mean()
        ax.plot(mean["elapsed"], 100 * mean["test_acc"], marker="o", color=colour, label=f"batch {b}")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("training wall time (s, symmetric log)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    out.figure(fig, "h43_time", "H4.3 — test accuracy after each epoch against the training time spent, one line per "
               f"batch size (each trained for {horizon} epoch(s)).")
    series = []
    for colour, (b, g) in zip(colours, e.groupby("batch_size")):
        mean = g.groupby("epoch")[["elapsed", "test_acc"]].mean()
        series.append(Series(f"batch {b}", mean["elapsed"].tolist(), (100 * mean["test_acc"]).tolist(),
                             colour=to_hex(colour), labels=[f"epoch {int(i)}, mean over seeds" for i in mean.index]))
        series += [Series(f"batch {b}", run["elapsed"].tolist(), (100 * run["test_acc"]).tolist(),
                          colour=to_hex(colour), kind="run", labels=[f"run {run_id}"])
                   for run_id, run in g.groupby("run_id")]
    out.interactive("h43_time", line_chart(series, "wall time (s)", "test accuracy (%)",
                                           "test accuracy against training time (linear scale: drag to zoom)"),
                    e[["batch_size", "run_id", "epoch", "elapsed", "test_acc"]])


# ------------------------------------------------------------------------- H4.4 ---
def answer_bn(ctx: Context, out: PageOutput, mlp_runs: pd.DataFrame, claims: list[dict]) -> pd.DataFrame:
    runs = ctx.of("runs", BN)
    if runs.empty or mlp_runs.empty:
        missing(out, H44.fragments, "H4.4")
        out.set("h4.h44", "The BN comparison did not run in this profile.")
        return runs
    both = pd.concat([mlp_runs[mlp_runs["activation"] == "relu"], runs], ignore_index=True)
    test, counts = bn_test(both)
    e = estimates(both, ["norm"], ["test_acc"])
    diff = ci_text(test.ci95, n_text(*counts))
    out.set("h4.h44", f"With BN the ReLU MLP ends at {e[('batchnorm',)]['test_acc'].pct()} test accuracy against "
            f"{e[('none',)]['test_acc'].pct()} without: "
            f"{direction_words(test, 'higher', 'lower', 'BN − none ' + diff)}.")
    claims.append(claim_row(BN_HELPS, [MLP, BN],
                            f"ReLU MLP test accuracy, BN − none: {diff}, {reason(test, NO_GAIN)}", test.verdict))
    epochs = pd.concat([ctx.of("epochs", MLP), ctx.of("epochs", BN)])
    epochs = epochs[epochs["activation"] == "relu"].assign(
        variant=lambda f: np.where(f["norm"] == "batchnorm", "relu+BN", "relu"))
    curves_figure(epochs, "variant", None, out, "h44_curves",
                  "H4.4 — the ReLU MLP with and without batch normalisation: "
                  "accuracy per epoch (solid train, dashed validation, dotted test), mean and range over seeds.",
                  palette={"relu": ACTIVATION_PALETTE["relu"], "relu+BN": "#0d3b5e"}, hue_order=["relu", "relu+BN"])
    return runs


def bn_test(both: pd.DataFrame) -> tuple[ClaimTest, tuple[int, int]]:
    """'BN slightly increased performance': BN's final test accuracy above the plain ReLU MLP's (Welch 95 % CI of
    the difference above zero), and the runs per arm. Only the direction is tested: the document gives no size for
    "slightly", and a margin invented for it would decide the claim by itself."""
    bn, plain = (final_values(both, both["norm"] == norm, "test_acc") for norm in ("batchnorm", "none"))
    return greater(bn, plain), (len(bn), len(plain))


# ------------------------------------------------------------------ H4.5 / H4.6 ---
def fc_parameters(widths: list[int], inputs: int = 784) -> int:
    sizes = [inputs] + widths
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def cnn_specs(ctx: Context) -> dict[str, dict]:
    """The two networks of H4.5–H4.6 as resolved for this profile: the first spec of each grid model, in order."""
    specs: dict[str, dict] = {}
    for spec in ctx.specs(CNN):
        key = json.dumps(spec["model"], sort_keys=True)
        if key not in {json.dumps(s["model"], sort_keys=True) for s in specs.values()}:
            specs[("original", "filter-reduced", "other")[min(len(specs), 2)]] = spec
    return specs


def answer_anatomy(ctx: Context, out: PageOutput, claims: list[dict]) -> dict[str, dict]:
    specs = cnn_specs(ctx)
    if not specs:
        missing(out, H45.fragments, "H4.5")
        out.set("h4.h45", "The 8-layer CNN is not part of this configuration.")
        return specs
    a = cnn_anatomy(specs["original"])
    anatomy_tables(out, a)
    cnn_params, wide, matched = a.cnn_params, a.same_width_params, a.same_units_params
    out.set("h4.h45", f"{a.weight_layers} weight layers ({len(a.filters)} convolutional with "
            f"{', '.join(map(str, a.filters))} filters, {len(a.fc_widths)} fully connected); "
            f"{cnn_params:,} trainable parameters against "
            f"{wide:,} for an 8-layer fully connected net with one unit per filter and "
            f"{matched:,} for one with as many units as the CNN's feature maps; regularisers: L2 on "
            f"{a.l2} conv layers, {a.bns} batch-norm layers, {len(a.dropout_after)} dropout layers "
            f"(our placement: after {', '.join(a.dropout_after)}).")
    more, fewer = matched > cnn_params, wide < cnn_params
    # exact counts of the networks as built: no seeds, so no interval (the verdict is arithmetic)
    word = SUPPORTED if more and not fewer else (INCONCLUSIVE if more else CONTRADICTED)
    claims.append(claim_row(MORE_PARAMETERS, [],
                            f"{matched / cnn_params:,.0f}× as many with matched layer outputs, "
                            f"{wide / cnn_params:.2f}× with one unit per filter (exact counts, no seeds involved)",
                            word, "true for matched feature maps, false for matched widths" if more and fewer else ""))
    return specs


@dataclass
class Anatomy:
    """H4.5: the 8-layer CNN as built for this profile, and the fully connected nets it is compared with."""

    summary: list[dict]  # model_summary rows, one per layer
    filters: list[int]  # output channels per convolution
    fc_widths: list[int]  # output units per fully connected layer
    cnn_params: int  # trainable parameters
    same_width: list[int]  # an FC net with one unit per filter (and the CNN's FC layers)
    same_units: list[int]  # an FC net with as many units as each conv layer outputs
    same_width_params: int  # trainable parameters of those two FC nets
    same_units_params: int
    l2: int  # conv layers with an L2 penalty
    bns: int  # batch-norm layers
    dropout_after: list[str]  # per dropout layer, the weight layer whose block it closes

    @property
    def weight_layers(self) -> int:
        return len(self.filters) + len(self.fc_widths)


def cnn_anatomy(spec: dict) -> Anatomy:
    """Build the network and count what H4.5 asks about (no training involved)."""
    model = build_model(spec, n_classes=n_classes(spec))
    summary = model_summary(model)
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    fcs = [m.out_features for m in model if isinstance(m, torch.nn.Linear)]
    filters = [c.out_channels for c in convs]
    conv_outputs = [int(np.prod([int(v) for v in row["output shape"].strip("()").split(", ")[1:]]))
                    for row, layer in zip(summary, model) if isinstance(layer, torch.nn.Conv2d)]
    names = [name for name, _ in model.named_children()]
    weight_names = [n for n, m in model.named_children() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    # each dropout follows the block of the last weight layer before it
    after = [next(w for w in reversed(weight_names) if names.index(w) < names.index(n))
             for n, m in model.named_children() if isinstance(m, torch.nn.Dropout)]
    return Anatomy(summary=summary, filters=filters, fc_widths=fcs,
                   cnn_params=parameter_count(model)["trainable"],
                   same_width=[*filters, *fcs], same_units=[*conv_outputs, *fcs],
                   same_width_params=fc_parameters([*filters, *fcs]),
                   same_units_params=fc_parameters([*conv_outputs, *fcs]),
                   l2=sum(1 for c in convs if getattr(c, "l2", 0)),
                   bns=sum(1 for m in model if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d))),
                   dropout_after=after)


def anatomy_tables(out: PageOutput, a: Anatomy) -> None:
    """The layer summary, and the parameter counts of the CNN beside its two fully connected counterparts."""
    frame = pd.DataFrame(a.summary)
    frame["parameters"] = frame["parameters"].map(lambda v: f"{v:,}")
    out.fragment("h45_summary", markdown_table(frame.drop(columns=["non-trainable"])))
    counts = pd.DataFrame([
        {"network": "the 8-layer CNN (ours, as configured)",
         "layer widths": ", ".join(map(str, a.filters)) + " filters; FC " + ", ".join(str(f) for f in a.fc_widths),
         "trainable parameters": f"{a.cnn_params:,}"},
        {"network": "8 fully connected layers, one unit per filter", "layer widths": ", ".join(map(str, a.same_width)),
         "trainable parameters": f"{a.same_width_params:,}"},
        {"network": "8 fully connected layers, as many units as the CNN's layer outputs",
         "layer widths": ", ".join(f"{w:,}" for w in a.same_units),
         "trainable parameters": f"{a.same_units_params:,}"},
    ])
    out.fragment("h45_counts", markdown_table(counts))


def initial_penalties(spec: dict, seeds: list[int]) -> list[float]:
    """Per seed, the L2 term a freshly initialised network adds to the loss (training's init order): one value per
    seed, so the predicted loss of an untrained net gets an interval over seeds."""
    values = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model({**spec, "seed": seed}, n_classes=n_classes(spec))
        with torch.no_grad():
            values.append(float(penalty_value(penalty_terms(model, spec.get("penalty")))))
    return values


def answer_five_runs(ctx: Context, out: PageOutput, specs: dict[str, dict], claims: list[dict]) -> pd.DataFrame:
    runs, diag = ctx.of("runs", CNN), ctx.of("runs", DIAG)
    out.set("h4.cnn_scaling", ctx.scaling_text(CNN))
    if runs.empty or not specs:
        missing(out, H46.fragments, "H4.6")
        out.set("h4.h46", "The five-run comparison did not run in this profile.")
        out.set("h4.diagnosis", "No diagnosis runs in this profile.")
        return runs
    h46 = five_runs_stats(runs, diag, specs)
    five_runs_answer(out, h46, claims)
    diagnosis_table(out, h46)
    diagnosis_answer(out, h46, claims)
    return pd.concat([f for f in (h46.runs, h46.diag) if len(f)], ignore_index=True)


@dataclass
class NetworkRuns:
    """One network's runs in one H4.6 experiment, and the estimates over those that trained to the end."""

    runs: pd.DataFrame  # every run of the network (diverged included)
    ok: pd.DataFrame  # the runs that trained to the end
    test_acc: Estimate
    loss: Estimate  # test loss including the L2 term, as Keras reports it


def network_runs(frame: pd.DataFrame, name: str) -> NetworkRuns:
    """Pick one network's runs: the scorecard and the table average only those that trained to the end."""
    runs = frame[frame["network"] == name]
    ok = ok_runs(runs)
    return NetworkRuns(runs, ok, mean_ci(ok["final_test_acc"]), mean_ci(ok["keras_loss"]))


@dataclass
class FiveRuns:
    """H4.6 as numbers and tests: the five-run comparison at the document's settings, and the diagnosis (an
    untrained net's loss predicted from its L2 term, and runs at lr 10⁻⁷ that cannot move their weights). Each
    test is per network, over seeds; the claims need both networks."""

    runs: pd.DataFrame  # h4_cnn runs with `network` and `keras_loss` (test loss + L2 term)
    diag: pd.DataFrame  # h4_diagnosis runs, same columns (may be empty)
    k: int  # classes; chance accuracy is 1/k
    cnn: dict[str, NetworkRuns]  # original, filter-reduced
    diagnosis: dict[str, NetworkRuns]  # the same, lr 10⁻⁷ (empty without diagnosis runs)
    welch: tuple[float, float]  # (t, p) original vs filter-reduced test accuracy; nan with fewer than 2 runs each
    welch_document: tuple[float, float]  # the same for the document's own five runs
    chance_tests: dict[str, ClaimTest]  # mean test accuracy inside 1/k ± CHANCE_BAND (90 % CI)
    learns: dict[str, ClaimTest]  # mean test accuracy above 1/k + CHANCE_BAND (95 % CI)
    init: dict[str, Estimate]  # L2 term at initialisation, over our seeds
    predicted: dict[str, Estimate]  # loss of an untrained net: L2 term + ln k, over our seeds
    close: dict[str, ClaimTest]  # predicted loss within ±CLOSE_FRACTION of the document's mean loss (90 % CI)
    stuck: dict[str, ClaimTest]  # lr 10⁻⁷ runs' accuracy inside 1/k ± CHANCE_BAND (empty without them)

    @property
    def chance(self) -> float:
        return 1.0 / self.k

    @property
    def band(self) -> str:
        return f"{self.chance:.2f} ± {CHANCE_BAND:.2f}"

    @property
    def at_chance(self) -> ClaimTest:
        return all_of(list(self.chance_tests.values()))

    @property
    def epochs(self) -> int:
        return int(self.runs["epochs"].max())

    def document_mean(self, name: str, metric: str) -> float:
        return np.mean(DOCUMENT_H46[name][metric])

    def cause(self) -> ClaimTest:
        """'The cause is the architecture or the image quality' is contradicted when these architectures learn at
        lr 10⁻³ on our data, stay at chance when their weights cannot move (lr 10⁻⁷), and an untrained net's loss
        matches the document's; our runs cannot support it (we do not have the document's images)."""
        parts = [all_of(list(tests.values())) for tests in (self.learns, self.stuck, self.close)]
        word = CONTRADICTED if all(p.verdict == SUPPORTED for p in parts) else INCONCLUSIVE
        return ClaimTest(word, parts[0].ci95, parts[0].ci90, "; ".join(p.why for p in parts))


def _label_networks(frame: pd.DataFrame, layer_sets: dict[str, dict]) -> None:
    """Name each run's network by its layers, and add the loss Keras reports (data term + L2 term)."""
    def name_of(model_layers: str) -> str:
        for name, model in layer_sets.items():
            if json.loads(model_layers) == model["layers"]:
                return name
        return "other"

    frame["network"] = frame["model.layers"].map(name_of)
    frame["keras_loss"] = frame["final_test_loss"] + frame["final_train_penalty"].fillna(0)


def five_runs_stats(runs: pd.DataFrame, diag: pd.DataFrame, specs: dict[str, dict]) -> FiveRuns:
    """The comparison the document ran (Welch's test, chance level) and what explains its numbers."""
    for frame in (runs, diag):
        if len(frame):
            _label_networks(frame, {name: spec["model"] for name, spec in specs.items()})
    seeds = sorted(int(s) for s in runs["seed"].unique())
    # the document's losses are the L2 term of an untrained net plus ln k
    init = {name: initial_penalties(spec, seeds) for name, spec in specs.items() if name in DOCUMENT_H46}
    return five_runs_from(runs, diag, n_classes(next(iter(specs.values()))), init)


def five_runs_from(runs: pd.DataFrame, diag: pd.DataFrame, k: int, init: dict[str, list[float]]) -> FiveRuns:
    """H4.6's numbers and tests from labelled run tables (`network`, `keras_loss`) and the per-seed L2 terms at
    initialisation: apart from building the networks, so tests can feed it synthetic tables."""
    cnn = {name: network_runs(runs, name) for name in DOCUMENT_H46}
    diagnosis = {name: network_runs(diag, name) for name in DOCUMENT_H46} if len(diag) else {}
    orig, red = (cnn[name].ok["final_test_acc"] for name in DOCUMENT_H46)
    welch = welch_test(orig, red) if len(orig) > 1 and len(red) > 1 else (math.nan, math.nan)
    low, high = 1.0 / k - CHANCE_BAND, 1.0 / k + CHANCE_BAND
    predicted = {name: mean_ci([v + math.log(k) for v in values]) for name, values in init.items()}
    documented = {name: float(np.mean(DOCUMENT_H46[name]["loss"])) for name in predicted}
    return FiveRuns(
        runs=runs, diag=diag, k=k, cnn=cnn, diagnosis=diagnosis, welch=welch,
        welch_document=welch_test(DOCUMENT_H46["original"]["acc"], DOCUMENT_H46["filter-reduced"]["acc"]),
        chance_tests={name: within(net.ok["final_test_acc"], low, high) for name, net in cnn.items()},
        learns={name: direction_test(net.test_acc, high) for name, net in cnn.items()},
        init={name: mean_ci(values) for name, values in init.items()}, predicted=predicted,
        close={name: within(predicted[name].values, (1 - CLOSE_FRACTION) * documented[name],
                            (1 + CLOSE_FRACTION) * documented[name]) for name in predicted},
        stuck={name: within(d.ok["final_test_acc"], low, high) for name, d in diagnosis.items()})


def chance_words(h46: FiveRuns) -> str:
    """'At chance' only from the equivalence test (every network's 90 % CI inside the band)."""
    test = h46.at_chance
    if test.verdict == SUPPORTED:
        return f"both at chance, as in the document: each 90 % CI inside {h46.band}"
    if test.verdict == CONTRADICTED:
        return f"off the chance level, unlike the document: a 95 % CI lies wholly outside {h46.band}"
    return "whether both sit at chance is inconclusive: " + "; ".join(
        f"{name} {equivalence_reason(t)}" for name, t in h46.chance_tests.items())


def five_runs_answer(out: PageOutput, h46: FiveRuns, claims: list[dict]) -> None:
    """Our five runs per network beside the document's: table, scorecard values, the answer and its claim."""
    rows = []
    for name, net in h46.cnn.items():
        ours, document = net.ok, DOCUMENT_H46[name]
        behind = {"experiments": [CNN], "run_ids": ours["run_id"].astype(str), "anchor": "h4-6"}
        out.measure(H46_MEASURE.format(network=name, metric="test_acc"), net.test_acc, **behind)
        out.measure(H46_MEASURE.format(network=name, metric="loss"), net.loss, **behind)
        rows.append({"network": name, "runs": len(ours),
                     "test acc. mean ± std (ours)":
                         f"{ours['final_test_acc'].mean():.3f} ± {ours['final_test_acc'].std():.3f}",
                     "test acc. (document)": f"{np.mean(document['acc']):.2f} ± {np.std(document['acc'], ddof=1):.2f}",
                     "loss incl. L2 (ours)": f"{ours['keras_loss'].mean():.2f} ± {ours['keras_loss'].std():.2f}",
                     "loss (document)": f"{np.mean(document['loss']):.2f} ± {np.std(document['loss'], ddof=1):.2f}",
                     "data loss only (ours)": f"{ours['final_test_loss'].mean():.3f}"})
    out.fragment("h46_table", markdown_table(pd.DataFrame(rows)))
    orig, red = (h46.cnn[n].ok["final_test_acc"] for n in ("original", "filter-reduced"))
    (t, p), (t_doc, p_doc) = h46.welch, h46.welch_document
    out.set("h4.h46", f"Trained with Keras' defaults for {h46.epochs} epoch(s), the original network "
            f"ends at {orig.mean():.3f} ± {orig.std():.3f} test accuracy and the filter-reduced one at "
            f"{red.mean():.3f} ± {red.std():.3f} ({chance_words(h46)}); "
            f"Welch's t-test: t = {t:.2f}, p = {p:.3f} "
            f"(the document's own five runs: t = {t_doc:.2f}, p = {p_doc:.2f}).")
    measure = "ours with Keras-default training, test accuracy: " + "; ".join(
        f"{name} {net.test_acc.num(3)}, {equivalence_reason(h46.chance_tests[name])}" for name, net in h46.cnn.items())
    claims.append(claim_row(AT_CHANCE, [CNN],
                            f"{measure} (at chance: the mean inside {h46.band})", h46.at_chance.verdict))


def diagnosis_table(out: PageOutput, h46: FiveRuns) -> None:
    """The predicted loss of an untrained net beside the document's and the lr 10⁻⁷ runs' (and their scorecard
    values)."""
    k, rows = h46.k, []
    for name in ("original", "filter-reduced"):
        d = h46.diagnosis.get(name)
        if d is not None and len(d.runs):  # the untrained-network explanation the scorecard tests against the document
            behind = {"experiments": [DIAG], "run_ids": d.ok["run_id"].astype(str), "anchor": "h4-6"}
            out.measure(DIAGNOSIS_MEASURE.format(network=name, metric="test_acc"), d.test_acc, **behind)
            out.measure(DIAGNOSIS_MEASURE.format(network=name, metric="loss"), d.loss, **behind)
        ran = d is not None and len(d.runs)
        rows.append({"network": name, "L2 term at initialisation": h46.init[name].num(2),
                     f"+ ln {k} (chance cross-entropy)": h46.predicted[name].num(2),
                     "document's reported loss": f"{h46.document_mean(name, 'loss'):.2f}",
                     "lr 10⁻⁷ run: accuracy": d.test_acc.num(3) if ran else "—",
                     "lr 10⁻⁷ run: loss incl. L2": d.loss.num(2) if ran else "—"})
    out.fragment("h46_diagnosis", markdown_table(pd.DataFrame(rows)))


def part_word(tests: dict[str, ClaimTest]) -> str:
    """One part of the cause claim in words: yes (every network's test supports it), no (one contradicts it)."""
    if not tests:
        return "not in this profile"
    return {SUPPORTED: "yes", CONTRADICTED: "no"}.get(all_of(list(tests.values())).verdict, "undecided")


def close_words(h46: FiveRuns) -> str:
    """Do the document's losses match an untrained net's? 'Within' only from the equivalence test."""
    word, margin = part_word(h46.close), f"±{100 * CLOSE_FRACTION:g} %"
    if word == "yes":
        return (f"each within {margin} (90 % CI): the document's nets had effectively not moved from their initial "
                "weights")
    if word == "no":
        return f"not within {margin}: the document's numbers are not those of an untrained net"
    return f"whether they are within {margin} is inconclusive: " + "; ".join(
        f"{name} {equivalence_reason(t)}" for name, t in h46.close.items())


def stuck_words(h46: FiveRuns) -> str:
    """The lr 10⁻⁷ runs against the lr 10⁻³ ones, each worded from its test over seeds."""
    stuck = {"yes": "stay at chance", "no": "do not stay at chance"}.get(
        part_word(h46.stuck), f"may or may not stay at chance (inconclusive at {h46.band})")
    learn = {"yes": f"learn (each 95 % CI above {h46.chance + CHANCE_BAND:.2f})",
             "no": "do not learn beyond chance"}.get(part_word(h46.learns),
                                                     "are not shown to learn beyond chance (inconclusive)")
    runs = "; ".join(f"{name}: accuracy {d.test_acc.num(3)}, loss {d.loss.num(2)}" for name, d in h46.diagnosis.items())
    return f"Runs that change only the learning rate to 10⁻⁷ {stuck} ({runs}), while these nets at 10⁻³ {learn}."


def cause_measure(h46: FiveRuns) -> str:
    """The three parts the cause claim is decided from, each with its intervals."""
    accs = ", ".join(f"{name} {net.test_acc.num(3)}" for name, net in h46.cnn.items())
    stuck = ", ".join(f"{name} {d.test_acc.num(3)}" for name, d in h46.diagnosis.items()) or "no runs"
    losses = ", ".join(f"{name} {h46.predicted[name].num(2)} vs {h46.document_mean(name, 'loss'):.2f}"
                       for name in h46.predicted)
    return (f"lr 10⁻³ accuracy above {h46.chance + CHANCE_BAND:.2f} (95 % CI): {part_word(h46.learns)} ({accs}); "
            f"lr 10⁻⁷ accuracy inside {h46.band} (90 % CI): {part_word(h46.stuck)} ({stuck}); untrained-net loss "
            f"within ±{100 * CLOSE_FRACTION:g} % of the document's (90 % CI): {part_word(h46.close)} ({losses})")


def diagnosis_answer(out: PageOutput, h46: FiveRuns, claims: list[dict]) -> None:
    """Why the document's nets sat at chance, in words, and the verdict on the document's own explanation."""
    predicted = h46.predicted
    out.set("h4.diagnosis",
            f"An untrained network's loss is its L2 term plus ln {h46.k}: {predicted['original'].num(2)} for the "
            f"original and {predicted['filter-reduced'].num(2)} for the filter-reduced net (over our seeds), "
            f"against the document's {h46.document_mean('original', 'loss'):.2f} and "
            f"{h46.document_mean('filter-reduced', 'loss'):.2f} ({close_words(h46)}). "
            + (stuck_words(h46) if h46.diagnosis else "The diagnosis runs are not part of this profile."))
    claims.append(claim_row(CAUSE, [CNN, DIAG], cause_measure(h46),
                            h46.cause().verdict))


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    claims: list[dict] = []
    for key, experiment in (("mlp_protocol", MLP), ("batch_protocol", BATCH), ("cnn_protocol", CNN)):
        out.set(f"h4.{key}", ctx.protocol_text(experiment))
    out.set("h4.patience", PATIENCE)
    mlp = answer_epochs(ctx, out, claims)
    batch = answer_batch(ctx, out, claims)
    bn = answer_bn(ctx, out, mlp, claims)
    specs = answer_anatomy(ctx, out, claims)
    cnn = answer_five_runs(ctx, out, specs, claims)
    for claim in claims:
        if claim["key"]:
            out.measure(claim["key"], claim["verdict"], experiments=claim["experiments"], anchor="h4-claims")
    out.fragment("h4_claims", markdown_table(claims_table(claims)) if claims
                 else "_No claims could be checked in this profile._\n")
    counts = (pd.Series([c["verdict"].split(":")[0] for c in claims]).value_counts().to_dict() if claims else {})
    out.set("h4.claims", f"Of the document's {len(claims)} checked claims, " + ", ".join(
        f"{n} {word}" for word, n in counts.items()) + "." if claims else "no claims checked in this profile.")
    frames = [f for f in (mlp, batch, bn, cnn) if len(f)]
    return pd.concat(frames, ignore_index=True).drop_duplicates("run_id") if frames else ctx.table("runs").iloc[0:0]
