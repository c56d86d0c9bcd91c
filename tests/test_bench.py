"""The benchmark's premises and arithmetic: the documents' loop and nnlab's step compute the same training, so their
speeds compare; a packed member trains exactly as its run alone, so the packed benchmarks time the same work; what
each part times is the work it names; every figure printed follows from the timings and FLOP counts it reports.
Speeds are not asserted here (they live in `python -m analysis.tools.bench`): the timings below are counted or
made up."""
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from analysis.tools import bench
from analysis.tools.bench import MODELS, PACK_BENCHES, equivalence, mlp_step_parts, pack_benchmarks, pack_speedup
from analysis.engine.models import build_model, flops_per_sample
from analysis.engine.training import build_pack, run_frames, run_pack, train_pack, train_run

TINY_MLP = {"kind": "mlp", "hidden": [16] * 3}


@pytest.fixture
def one_thread():
    """Bitwise packed-vs-alone equality holds at one thread (the pipeline's threads_per_job); with more, a
    batched product may split its work differently from a single one and round differently."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name, tolerance", [("mlp-784-512-1024-512-10", 0.0), ("cnn-16-32-fc128", 1e-5)])
def test_seed_loop_and_nnlab_step_give_the_same_losses(data_dir: Path, name, tolerance):
    raw = torch.load(data_dir / "fashion_mnist.pt", weights_only=True)
    diff = equivalence(raw["train_x"], raw["train_y"].long(), data_dir / "fashion_mnist.pt", MODELS[name], steps=8)
    assert diff <= tolerance, f"{name}: losses differ by {diff:.2e} (relative)"


def mlp_macs(widths: list[int]) -> int:
    """Multiply-adds of one sample through Linear layers of these widths (input first)."""
    return sum(a * b for a, b in zip(widths, widths[1:]))


def closed_form_flops(model: dict) -> float:
    """FLOPs per sample as analysis.engine.models counts them (×2 per multiply-add, ×3 for forward, input and weight
    gradients, the first layer's input gradient included though no step computes it), from the spec's sizes by
    hand, for 28×28 single-channel input: MLPs, and CNNs of same-padded convolutions each followed by 2×2
    pooling (the `cnn` kind)."""
    if model["kind"] == "mlp":
        hidden = model["hidden"] if "hidden" in model else [model["width"]] * model["depth"]
        return 6.0 * mlp_macs([784, *hidden, 10])
    macs, channels, size = 0, 1, 28
    for width in model["conv"]:
        macs += width * size * size * channels * model.get("kernel", 3) ** 2
        channels, size = width, size // 2
    return 6.0 * (macs + mlp_macs([channels * size * size, *model["fc"], 10]))


def test_step_parts_time_the_steps_own_products(monkeypatch):
    """Each part is one function timed; counting the matrix products each one performs instead of timing it shows
    `products` is exactly the hand pass's products (forward, weight gradients, input gradients but the first
    layer's), at the batch asked for, and that the update, probe and momentum copy multiply nothing. A product
    left out, a wrong batch or a mislabelled part would make the printed ceiling another step's."""
    performed = []

    def count(fn, device, calls=100, repeats=7) -> float:
        with FlopCounterMode(display=False) as flops:
            fn()
        performed.append(flops.get_total_flops())
        return float(len(performed) - 1)  # the "seconds" name which call this part was

    monkeypatch.setattr(bench, "_best_seconds", count)
    spec, batch, widths = {"kind": "mlp", "hidden": [32, 16]}, 8, [784, 32, 16, 10]
    parts = mlp_step_parts(spec, torch.device("cpu"), batch=batch)
    step = batch * (6 * mlp_macs(widths) - 2 * widths[0] * widths[1])  # the input needs no gradient
    assert {name: performed[int(i)] for name, i in parts.items()} == {
        "products": step, "forward_backward": step, "update": 0, "probe": 0, "momentum_traffic": 0}


@pytest.mark.parametrize("name", sorted(PACK_BENCHES))
def test_pack_speedup_times_the_pack_and_the_same_runs_alone(data_dir: Path, monkeypatch, name):
    """(best pack time, best total of the k runs alone), each over `repeats`, of seeds 1..k trained one epoch of n
    images: a swapped pair, a missing seed, one run timed for all k, or a best taken per run instead of per
    total, and the printed speedup measures something else."""
    packs, singles = [], []

    def spy(calls: list, train):
        def wrapped(specs, *args, **kwargs):
            calls.append((specs, train(specs, *args, **kwargs)))
            return calls[-1][1]
        return wrapped

    monkeypatch.setattr(bench, "train_pack", spy(packs, train_pack))
    monkeypatch.setattr(bench, "train_run", spy(singles, train_run))
    model = TINY_MLP if PACK_BENCHES[name].model["kind"] == "mlp" else {**PACK_BENCHES[name].model, "conv": [4, 8],
                                                                           "fc": [16]}
    spec = {**PACK_BENCHES[name].spec(256), "model": model}
    packed, alone = pack_speedup(spec, 3, 192, repeats=2, data=data_dir / "fashion_mnist.pt")
    runs = [{**spec, "train_subset": 192, "epochs": 1, "seed": seed} for seed in (1, 2, 3)]
    assert [specs for specs, _ in packs] == [runs] * 2 and [s for s, _ in singles] == runs * 2
    assert all(r.samples == 192 for _, results in packs for r in results)
    assert all(r.samples == 192 for _, r in singles)
    assert packed == min(results[0].train_seconds for _, results in packs)
    assert alone == min(sum(r.train_seconds for _, r in singles[i:i + 3]) for i in (0, 3))


#: made-up (pack, runs alone) seconds per benchmark, different enough that a figure taken from the wrong one shows
SECONDS = {"m2_depth40": (0.5, 0.75), "e7_cnn": (2.0, 1.5), "a7_4": (1.6, 1.3)}
FIGURES = re.compile(r"(\d+) runs alone :\s+(\d+) samples/s in all =\s+([\d.]+) GFLOP/s = ([\d.]+) % of peak\n"
                     r"\s+pack of \1\s+:\s+(\d+) samples/s in all =\s+([\d.]+) GFLOP/s = ([\d.]+) % of peak -> "
                     r"([\d.]+)x")


def test_pack_benchmark_figures_follow_from_its_timings_and_flop_counts(monkeypatch, capsys, tmp_path: Path):
    """Every printed rate is k·n over the seconds timed, every GFLOP/s that rate times the model's FLOPs per sample
    (counted by hand from the sizes used, and equal to analysis.engine.models' count), every share of peak that over the
    peak, every ratio the quotient of the two timings; each benchmark timed on its own experiment's data set."""
    asked = {}

    def timed(spec, k, n, repeats, data, device):
        name = next(b for b, entry in PACK_BENCHES.items() if entry.spec(n) == spec)
        asked[name] = (k, n, repeats, data)
        return SECONDS[name]

    monkeypatch.setattr(bench, "pack_speedup", timed)
    k, n, peak = 5, 640, 500.0
    summary = pack_benchmarks(tmp_path / "any.pt", peak, torch.device("cpu"), n=n, repeats=2, k=k)
    out = capsys.readouterr().out
    printed = dict(zip(re.findall(r"\[(\w+)\]", out), FIGURES.findall(out)))
    assert set(printed) == set(PACK_BENCHES) == set(asked)
    for name, (members, rate_a, gflops_a, share_a, rate_p, gflops_p, share_p, ratio) in printed.items():
        spec, (packed, alone) = PACK_BENCHES[name].spec(n), SECONDS[name]
        flops = closed_form_flops(spec["model"])
        assert flops == flops_per_sample(build_model(spec)), name
        assert asked[name] == (k, n, 2, tmp_path / f"{spec['dataset']}.pt") and int(members) == k
        for rate, gflops, share, seconds in ((rate_a, gflops_a, share_a, alone), (rate_p, gflops_p, share_p, packed)):
            assert float(rate) == pytest.approx(k * n / seconds, abs=0.5), name
            assert float(gflops) == pytest.approx(k * n / seconds * flops / 1e9, abs=0.051), name
            assert float(share) == pytest.approx(100 * float(gflops) / peak, abs=0.051), name
        assert ratio == f"{alone / packed:.2f}" and f"pack_speedup_{name}: {ratio}" in summary
    _, _, _, share_a, _, _, share_p, _ = printed[bench.PEAK_BENCH]
    assert {f"percent_of_matmul_peak_packed: {share_p}", f"percent_of_matmul_peak_unpacked: {share_a}"} <= set(summary)


@pytest.mark.parametrize("name", [n for n, b in PACK_BENCHES.items() if b.model["kind"] == "mlp"])
def test_packed_member_trains_exactly_as_its_run_alone(data_dir: Path, one_thread, name):
    """The benchmark's MLP settings (batch, init, SGD at momentum 0 (M2) or 0.5 (A7.4), probes) at the real widths,
    fewer layers: every member's tables and final weights are its run alone's, bit for bit."""
    entry = PACK_BENCHES[name]
    few = {"depth": 3} if "depth" in entry.model else {"hidden": entry.model["hidden"][:3]}
    spec = {**entry.spec(320), "model": {**entry.model, **few}}
    data = data_dir / "fashion_mnist.pt"
    pack = build_pack([{**spec, "seed": seed} for seed in (1, 2, 3)], data, torch.device("cpu"))
    for k, member in enumerate(run_pack(pack, progress=False)):
        alone = build_pack([{**spec, "seed": k + 1}], data, torch.device("cpu"))
        result = run_pack(alone, progress=False)[0]
        assert member.backward == result.backward == "hand"
        for stem, frame in run_frames(member).items():
            pd.testing.assert_frame_equal(frame.drop(columns=["seconds", "samples_per_s"], errors="ignore"),
                                          run_frames(result)[stem].drop(columns=["seconds", "samples_per_s"],
                                                                        errors="ignore"), check_exact=True)
        for key, tensor in alone.model.state_dict().items():
            assert torch.equal(pack.model.state_dict()[key].view(3, -1)[k], tensor.view(-1)), (name, k, key)
