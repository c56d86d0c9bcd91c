"""The benchmark's premises: the documents' loop and nnlab's step compute the same training, so their speeds compare;
a packed member trains exactly as its run alone, so the packed benchmarks time the same work. Speeds are not
asserted here (they live in `python -m analysis.bench`)."""
from pathlib import Path

import pandas as pd
import pytest
import torch

from analysis.bench import MODELS, PACK_BENCHES, equivalence, mlp_step_parts, pack_speedup
from analysis.training import train_pack, train_run

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


def test_step_parts_are_timed_for_every_part():
    parts = mlp_step_parts({"kind": "mlp", "hidden": [32, 16]}, torch.device("cpu"), batch=8)
    assert set(parts) == {"products", "forward_backward", "update", "probe", "momentum_traffic"}
    assert all(0 < seconds < 1 for seconds in parts.values())


@pytest.mark.parametrize("name", sorted(PACK_BENCHES))
def test_pack_speedup_times_both_ways(data_dir: Path, name):
    bench = PACK_BENCHES[name]
    model = TINY_MLP if bench.model["kind"] == "mlp" else {**bench.model, "conv": [4, 8], "fc": [16]}
    spec = {**bench.spec(256), "model": model}
    packed, singles = pack_speedup(spec, 3, 256, repeats=1, data=data_dir / "fashion_mnist.pt")
    assert packed > 0 and singles > 0


@pytest.mark.parametrize("name", [n for n, b in PACK_BENCHES.items() if b.model["kind"] == "mlp"])
def test_packed_member_trains_exactly_as_its_run_alone(data_dir: Path, one_thread, name):
    """The benchmark's MLP settings (batch, init, optimiser, probes) at the real widths, fewer layers."""
    bench = PACK_BENCHES[name]
    few = {"depth": 3} if "depth" in bench.model else {"hidden": bench.model["hidden"][:3]}
    spec = {**bench.spec(320), "model": {**bench.model, **few}}
    data = data_dir / "fashion_mnist.pt"
    packed = train_pack([{**spec, "seed": 1}, {**spec, "seed": 2}], data, torch.device("cpu"), progress=False)[0]
    alone = train_run({**spec, "seed": 1}, data, torch.device("cpu"), progress=False)
    assert packed.backward == alone.backward == "hand"
    assert torch.equal(torch.cat(packed.batch_losses), torch.cat(alone.batch_losses))
    timing = ["seconds", "samples_per_s"]
    pd.testing.assert_frame_equal(pd.DataFrame(packed.epochs).drop(columns=timing),
                                  pd.DataFrame(alone.epochs).drop(columns=timing), check_exact=True)
