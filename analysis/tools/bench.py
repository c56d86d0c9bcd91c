"""Benchmark: nnlab's training loop against the documents' loop and the machine's matmul peak, and packed
training against the same runs trained one after another.

`python -m analysis.tools.bench` prints figures (it asserts nothing; targets live in the README).
Measured in one run on one machine, so the ratios are comparable:

(a) the documents' loop, written from document 002's code: a per-sample Dataset that turns each
    image into a PIL image, converts it to a tensor and normalises it, a DataLoader with
    default settings (batch 64, shuffle), `.item()` on the gradient means every batch;
(b) nnlab's loop (`analysis.engine.training.train_run`, a run alone = a pack of one): device-resident
    tensors, index slices, the gradient probe on, host syncs once per logging interval, and for
    plain MLPs the hand-written backward pass (`analysis.engine.mlp_step`);
(c) dense float32 matmul throughput with the same threads (on the same device);
(d) packed training (`analysis.engine.training.train_pack`): K = 5 runs differing only in their seed
    trained as one packed network, against the same 5 runs trained alone one after another, with
    the same threads, for M2's 40-layer MLP, E7's CNN and A7.4's MLP (whose packed FLOP rate is
    also given as a share of (c)). Only the training steps are timed (`RunResult.train_seconds`).

Also: (b)'s probe overhead (grad_every=1 vs 0), (b) with autograd's backward instead of the
hand-written one, and one job × 2 threads vs two jobs × 1 thread, which decides
`threads_per_job` (and is how the pipeline uses the machine). Before timing, (a) and (b) are
checked to give the same losses for the same seed, initial weights and batch order.
`--device cuda` runs everything on the GPU (the documents' loop then moves each batch to it,
as document 002's code does). `--pack-only` runs just (c) and (d), in about 1-2 minutes on 2 threads.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from analysis.pipeline.config import load_config
from analysis.pipeline.plan import Plan
from analysis.engine.models import build_model, flops_per_sample, weight_layers
from analysis.engine.mlp_step import HandBackward
from analysis.engine.packed import PackedNet
from analysis.engine.probes import GradientProbe
from analysis.engine.training import make_optimizer, train_pack, train_run, train_step

MEAN, STD = 0.1307, 0.3081
DATA = Path("results/data/fashion_mnist.pt")
MODELS = {
    "mlp-784-512-1024-512-10": {"kind": "mlp", "hidden": [512, 1024, 512]},
    "cnn-16-32-fc128": {"kind": "cnn", "conv": [16, 32], "fc": [128]},
}


class DocumentStyleDataset(Dataset):
    """torchvision's FashionMNIST.__getitem__ + ToTensor + Normalize, op for op, without torchvision."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.data, self.targets = images, labels

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        img, target = self.data[index], int(self.targets[index])
        pic = Image.fromarray(img.numpy(), mode="L")
        # ToTensor
        tensor = torch.from_numpy(np.array(pic, np.uint8, copy=True))
        tensor = tensor.view(pic.size[1], pic.size[0], 1).permute((2, 0, 1)).contiguous()
        tensor = tensor.to(dtype=torch.get_default_dtype()).div(255)
        # Normalize((0.1307,), (0.3081,))
        mean = torch.as_tensor((MEAN,), dtype=tensor.dtype)
        std = torch.as_tensor((STD,), dtype=tensor.dtype)
        if (std == 0).any():
            raise ValueError("std evaluated to zero")
        return tensor.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1)), target


def document_loop(model: nn.Module, loader: DataLoader, steps: int, probe_layers: list[nn.Module],
              every_loss: bool = False, device: torch.device = torch.device("cpu")) -> tuple[float, list[float]]:
    """Document 002's `train`: log-softmax + NLL, per-batch |grad| means read with .item(), the loss
    read every `log_interval` (100) batches, or every batch when `every_loss` (for the equivalence check)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    model.train()
    losses, grads = [], []
    started = time.perf_counter()
    for batch_idx, (data, target) in enumerate(loader):
        if batch_idx == steps:
            break
        data, target = data.to(device).view(-1, 784), target.to(device)
        optimizer.zero_grad()
        output = F.log_softmax(model(data.view(-1, 1, 28, 28)), dim=1)
        loss = F.nll_loss(output, target)
        loss.backward()
        grads.append([torch.mean(abs(layer.weight.grad)).item() for layer in probe_layers])
        optimizer.step()
        if every_loss or batch_idx % 100 == 0:
            losses.append(loss.item())
    return time.perf_counter() - started, losses


def document_model(model_spec: dict) -> nn.Module:
    """The same architecture in PyTorch's default (contiguous) memory format, as the documents' code has it."""
    return build_model({"activation": "relu", "model": model_spec}).to(memory_format=torch.contiguous_format)


def pack_of_one(model: nn.Sequential) -> PackedNet:
    """A run trained alone, in the form nnlab's step takes: a pack of one member (no dropout here, so the
    member's generator is never drawn from)."""
    return PackedNet([model], [torch.Generator()])


def nnlab_spec(model_spec: dict, n: int, grad_every: int) -> dict:
    """A7.4's protocol (document 002) on `n` training images: the spec (b) times, and the packed benchmarks' base."""
    return {"dataset": "fashion_mnist", "train_subset": n, "test_subset": 1000, "validation_split": 0.0,
            "split_seed": 0, "normalise": {"mean": MEAN, "std": STD}, "activation": "relu", "norm": "none",
            "model": model_spec, "optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "batch_size": 64,
            "eval_batch_size": 1000, "epochs": 1, "seed": 1, "log_every": 50,
            "probes": {"grad_every": grad_every, "activation_epochs": []}}


def nnlab_rate(data: Path, model_spec: dict, n: int, grad_every: int = 1, repeats: int = 3,
               device: torch.device = torch.device("cpu"), hand_backward: bool = True) -> float:
    """Best-of-`repeats` training samples/s of nnlab's loop (the epoch loop only, not evaluation)."""
    best = 0.0
    for _ in range(repeats):
        result = train_run(nnlab_spec(model_spec, n, grad_every), data, device, progress=False,
                           hand_backward=hand_backward)
        best = max(best, result.samples / result.train_seconds)
    return best


def pack_speedup(spec: dict, k: int, n: int, repeats: int = 3, data: Path = DATA,
                 device: torch.device = torch.device("cpu")) -> tuple[float, float]:
    """Best-of-`repeats` training seconds of seeds 1..k of `spec` (one epoch of `n` training images each)
    trained as one pack, and of the same k runs trained alone one after another (summed): what packing buys.

    Both go through the pipeline's own path (`train_pack`; a run alone is a pack of one) with whatever
    torch threads are set; only the training steps are timed (`RunResult.train_seconds`: no evaluation,
    no snapshots). Packed and single runs alternate, so a noisy neighbour hits both alike."""
    spec = {**spec, "train_subset": n, "epochs": 1}
    specs = [{**spec, "seed": seed} for seed in range(1, k + 1)]
    packed = singles = float("inf")
    for _ in range(repeats):
        packed = min(packed, train_pack(specs, data, device, progress=False)[0].train_seconds)
        singles = min(singles, sum(train_run(s, data, device, progress=False).train_seconds for s in specs))
    return packed, singles


@dataclass(frozen=True)
class PackBench:
    """A packed-training benchmark: one grid cell of an experiment in config/config.yaml, resolved as the `full`
    profile trains it, so what is timed is a step the pipeline takes (read from the config, never copied). Only
    what the timing needs changes: `n` training images, one epoch, no validation split and no activation
    snapshots (both outside the timed steps)."""

    experiment: str
    cell: dict  # grid values picking the cell, e.g. {"model.depth": 40, "activation": "relu"}

    def base(self) -> dict:
        """The cell's resolved spec (its first seed; the benchmark sets the seeds)."""
        for spec in Plan.from_config(load_config(), "full").specs(self.experiment):
            if all(_dotted(spec, key) == value for key, value in self.cell.items()):
                return spec
        raise KeyError(f"{self.experiment}: no run with {self.cell} in config/config.yaml")

    @property
    def model(self) -> dict:
        return self.base()["model"]

    @property
    def title(self) -> str:
        spec = self.base()
        cell = ", ".join(f"{key} {value}" for key, value in self.cell.items())
        return (f"{self.experiment} ({cell}): batch {spec['batch_size']}, {spec['optimizer']} lr {spec['lr']} "
                f"momentum {spec.get('momentum', 0)}, {spec['dataset']}")

    def spec(self, n: int) -> dict:
        """The run spec on `n` training images (seed left to `pack_speedup`)."""
        spec = self.base()
        probes = {**spec.get("probes", {}), "activation_epochs": [], "track_every": 0}
        return {**spec, "train_subset": n, "test_subset": 1000, "validation_split": 0.0, "epochs": 1,
                "probes": probes}


def _dotted(spec: dict, key: str):
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


#: K: the pipeline's pack_size (config/config.yaml)
PACK_MEMBERS = 5
#: training images per run (100-200 steps): `--pack-only` then takes about 1-2 minutes on 2 threads (or 1) of a
#: 200-300 GFLOP/s machine, of which about 20 % builds, loads and evaluates the runs outside the timed steps
PACK_SAMPLES = 6400
PACK_BENCHES = {
    "m2_depth40": PackBench("m2_depth", {"model.depth": 40, "activation": "relu"}),
    "e7_cnn": PackBench("e7_cnn", {"dataset": "fashion_mnist", "activation": "relu", "norm": "none"}),
    "a7_4": PackBench("a7_4", {"activation": "relu"}),
}
#: the benchmark whose packed FLOP rate is set against the matmul peak (the existing percent_of_matmul_peak's model)
PEAK_BENCH = "a7_4"


def pack_benchmarks(data: Path, peak: float, device: torch.device, n: int = PACK_SAMPLES, repeats: int = 3,
                    k: int = PACK_MEMBERS) -> list[str]:
    """Time every PACK_BENCHES entry with `pack_speedup`, print where each ratio comes from, and return
    the summary lines (`pack_speedup_<name>`, and the packed and unpacked shares of the matmul peak)."""
    print(f"\npacked training: {k} seeds as one pack vs the same {k} runs alone one after another, "
          f"{torch.get_num_threads()} torch threads for both, each on its experiment's data set, training steps only, "
          f"best of {repeats}")
    summary = []
    for name, bench in PACK_BENCHES.items():
        spec = bench.spec(n)
        packed, singles = pack_speedup(spec, k, n, repeats, data.parent / f"{spec['dataset']}.pt", device)
        flops = flops_per_sample(build_model(spec))
        rates = {"alone": k * n / singles, "packed": k * n / packed}
        share = {key: 100 * rate * flops / 1e9 / peak for key, rate in rates.items()}
        print(f"  [{name}] {bench.title}; {n} training images per run")
        print(f"      {k} runs alone : {rates['alone']:9.0f} samples/s in all = {rates['alone'] * flops / 1e9:6.1f} "
              f"GFLOP/s = {share['alone']:.1f} % of peak")
        print(f"      pack of {k}    : {rates['packed']:9.0f} samples/s in all = {rates['packed'] * flops / 1e9:6.1f} "
              f"GFLOP/s = {share['packed']:.1f} % of peak -> {singles / packed:.2f}x")
        summary.append(f"pack_speedup_{name}: {singles / packed:.2f}")
        if name == PEAK_BENCH:
            summary += [f"percent_of_matmul_peak_packed: {share['packed']:.1f}",
                        f"percent_of_matmul_peak_unpacked: {share['alone']:.1f}"]
    return summary


def document_rate(images, labels, model_spec: dict, steps: int, repeats: int = 3,
              device: torch.device = torch.device("cpu")) -> float:
    best = 0.0
    for _ in range(repeats):
        torch.manual_seed(1)
        model = document_model(model_spec).to(device)
        loader = DataLoader(DocumentStyleDataset(images, labels), batch_size=64, shuffle=True)
        seconds, _ = document_loop(model, loader, steps, [m for _, m in weight_layers(model)][:3], device=device)
        best = max(best, steps * 64 / seconds)
    return best


def equivalence(images, labels, data: Path, model_spec: dict, steps: int = 30) -> float:
    """Largest relative loss difference between the two loops over `steps` identical batches."""
    from analysis.data.splits import load_splits

    torch.manual_seed(1)
    theirs = document_model(model_spec)
    member = build_model({"activation": "relu", "model": model_spec})
    member.load_state_dict(theirs.state_dict())
    ours = pack_of_one(member)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))[: steps * 64]
    loader = DataLoader(DocumentStyleDataset(images, labels), batch_size=64, sampler=order.tolist())
    _, doc_losses = document_loop(theirs, loader, steps, [], every_loss=True)
    splits = load_splits(data, {"normalise": {"mean": MEAN, "std": STD}}, torch.device("cpu"))
    optimizer = make_optimizer({"optimizer": "sgd", "lr": 0.01, "momentum": 0.5}, ours.parameters())
    hand = HandBackward(ours) if HandBackward.applies(ours) else None
    our_losses = []
    for b in range(steps):
        x, y = splits.train.batch(order[b * 64:(b + 1) * 64])
        _, losses, _ = train_step(ours, optimizer, ours.pack_inputs(x.unsqueeze(0)), y.unsqueeze(0), hand)
        our_losses.append(float(losses[0]))
    return float(np.max(np.abs(np.array(doc_losses) - our_losses) / np.abs(doc_losses)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(size: int = 2048, seconds: float = 2.0, device: torch.device = torch.device("cpu")) -> float:
    """Best of five timed stretches of fp32 size x size products (TF32 stays off: this is the fp32 peak)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    torch.mm(a, b)
    best = 0.0
    for _ in range(5):
        _sync(device)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            torch.mm(a, b)
            count += 1
        _sync(device)
        best = max(best, 2 * size ** 3 * count / (time.perf_counter() - started) / 1e9)
    return best


def _best_seconds(fn, device: torch.device, calls: int = 100, repeats: int = 7) -> float:
    """Best per-call time of `fn` over `repeats` stretches of `calls` calls."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        _sync(device)
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def mlp_step_parts(model_spec: dict, device: torch.device, batch: int = 64) -> dict[str, float]:
    """Seconds per step of the MLP step's parts, each alone and hot in cache: what bounds (b) from above.

    - products: the step's matrix products (forward baddbmm, weight- and input-gradient bmm, as the
      packed step takes them; a run alone is a pack of one) back to back into preallocated outputs;
    - forward_backward: the hand-written pass (products, activations, loss; gradients into `.grad`);
    - update: the fused SGD step over the same parameters; probe: the gradient probe's reductions;
    - momentum_traffic: one copy of a parameter-sized buffer, the memory traffic of reading and
      writing the momentum buffer once, which even an update fused into the products must pay.
    """
    torch.manual_seed(0)
    model = pack_of_one(build_model({"activation": "relu", "model": model_spec})).to(device)
    hand = HandBackward(model)
    optimizer = make_optimizer({"optimizer": "sgd", "lr": 0.01, "momentum": 0.5}, model.parameters())
    x = torch.randn(1, batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (1, batch), device=device)
    hand.step(x, y)
    optimizer.step()
    linears = hand.linears

    def tensors(features: str, fill) -> list[torch.Tensor]:
        return [fill(1, batch, getattr(m, features), device=device) for m in linears]

    inputs, outputs = tensors("in_features", torch.randn), tensors("out_features", torch.empty)
    grads_out, grads_in = tensors("out_features", torch.randn), tensors("in_features", torch.empty)
    weight_grads = [torch.empty_like(m.weight) for m in linears]

    @torch.no_grad()
    def products() -> None:
        for i, m in enumerate(linears):
            torch.baddbmm(m.bias.unsqueeze(1), inputs[i], m.weight.transpose(1, 2), out=outputs[i])
        for i in range(len(linears) - 1, -1, -1):
            torch.bmm(grads_out[i].transpose(1, 2), inputs[i], out=weight_grads[i])
            if i > 0:
                torch.bmm(grads_out[i], linears[i].weight, out=grads_in[i])

    probe = GradientProbe(model, 1)
    n_params = sum(p.numel() for p in model.parameters())
    source, target = torch.randn(n_params, device=device), torch.empty(n_params, device=device)
    return {"products": _best_seconds(products, device),
            "momentum_traffic": _best_seconds(lambda: target.copy_(source), device),
            "forward_backward": _best_seconds(lambda: hand.step(x, y), device),
            "update": _best_seconds(optimizer.step, device),
            "probe": _best_seconds(lambda: probe.record(0, 0), device)}


def _worker(args) -> float:
    data, model_spec, n, threads = args
    torch.set_num_threads(threads)
    return nnlab_rate(Path(data), model_spec, n, repeats=3)


def parallel_rate(data: Path, model_spec: dict, n: int, jobs: int, threads: int) -> float:
    """Aggregate samples/s of `jobs` concurrent processes with `threads` torch threads each."""
    pool = mp.get_context("spawn").Pool(jobs)
    try:
        rates = pool.map(_worker, [(str(data), model_spec, n, threads)] * jobs)
    finally:
        pool.close()
        pool.join()
    return float(sum(rates))


def loop_benchmarks(data: Path, peak: float, device: torch.device, samples: int, document_steps: int) -> list[str]:
    """(a) against (b) for every MODELS entry, (b)'s probe and backward, the MLP step's parts and the
    threads question; prints the details and returns the summary lines."""
    raw = torch.load(data, weights_only=True)
    images, labels = raw["train_x"], raw["train_y"].long()
    summary = []
    for name, model_spec in MODELS.items():
        flops = flops_per_sample(build_model({"activation": "relu", "model": model_spec}))
        diff = equivalence(images, labels, data, model_spec)
        document = document_rate(images, labels, model_spec, document_steps, device=device)
        # probe on / off / autograd interleaved, best of several each: the machine is shared and noisy
        ours, bare, autograd = 0.0, 0.0, 0.0
        for _ in range(3):
            ours = max(ours, nnlab_rate(data, model_spec, samples, repeats=2, device=device))
            bare = max(bare, nnlab_rate(data, model_spec, samples, grad_every=0, repeats=2, device=device))
            autograd = max(autograd, nnlab_rate(data, model_spec, samples, repeats=2, device=device,
                                                hand_backward=False))
        achieved = ours * flops / 1e9
        print(f"\n[{name}] {flops / 1e6:.2f} MFLOP per sample (forward + backward)")
        print(f"  same losses for the same seed, weights and batches: max relative difference {diff:.2e} over 30 steps")
        print(f"  (a) documents' loop: {document:7.0f} samples/s")
        print(f"  (b) nnlab's loop : {ours:9.0f} samples/s = {achieved:.1f} GFLOP/s (gradient probe on)")
        print(f"      probe cost   : {100 * (bare / ours - 1):+.1f} % of a step (probe off: {bare:.0f} samples/s)")
        print(f"      backward     : autograd's {autograd:.0f} samples/s; nnlab's {ours / autograd:.2f}x that "
              f"({'hand-written for plain MLPs' if model_spec['kind'] == 'mlp' else 'autograd here too'})")
        if model_spec["kind"] == "mlp":
            parts = mlp_step_parts(model_spec, device)
            percent = {k: 100 * 64 * flops / v / 1e9 / peak for k, v in parts.items()}
            floor = parts["forward_backward"] + parts["update"]
            print("  what bounds (b): each part alone, hot in cache, per step of 64 (as % of peak if it were the step)")
            print(f"      matrix products alone  : {parts['products'] * 1e3:.2f} ms = {percent['products']:.1f} %")
            print(f"      forward + backward     : {parts['forward_backward'] * 1e3:.2f} ms = "
                  f"{percent['forward_backward']:.1f} % (hand-written pass: products, activations, loss)")
            print(f"      SGD update alone       : {parts['update'] * 1e3:.2f} ms (fused kernel; memory-bound)")
            print(f"      gradient probe alone   : {parts['probe'] * 1e3:.2f} ms")
            print(f"      forward + backward + update, back to back at best: {floor * 1e3:.2f} ms = "
                  f"{100 * 64 * flops / floor / 1e9 / peak:.1f} % of peak (the ceiling for this eager step)")
            fused = parts["forward_backward"] + parts["momentum_traffic"]
            print(f"      momentum buffer read + written once (a parameter-sized copy): "
                  f"{parts['momentum_traffic'] * 1e3:.2f} ms, so even an update fused into the products")
            print(f"      leaves forward + backward + that = {fused * 1e3:.2f} ms = "
                  f"{100 * 64 * flops / fused / 1e9 / peak:.1f} % of peak")
        summary += [f"model: {name}", f"speedup_vs_document_loop: {ours / document:.2f}",
                    f"percent_of_matmul_peak: {100 * achieved / peak:.1f}"]
    if torch.get_num_threads() >= 2 and device.type == "cpu":
        spec = MODELS["mlp-784-512-1024-512-10"]
        flops = flops_per_sample(build_model({"activation": "relu", "model": spec}))
        one = parallel_rate(data, spec, samples, jobs=1, threads=2)
        two = parallel_rate(data, spec, samples, jobs=2, threads=1)
        better = "2 jobs x 1 thread" if two > one else "1 job x 2 threads"
        print(f"\nthreads: 1 job x 2 threads {one:.0f} samples/s; 2 jobs x 1 thread {two:.0f} samples/s "
              f"in all (ratio {two / one:.2f}) -> {better} is faster")
        print(f"  the machine as the pipeline uses it (2 jobs x 1 thread, MLP): {two * flops / 1e9:.1f} GFLOP/s "
              f"= {100 * two * flops / 1e9 / peak:.1f} % of the 2-thread matmul peak")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--samples", type=int, default=12800, help="training samples per timed nnlab epoch")
    parser.add_argument("--document-steps", type=int, default=100, help="batches per timed run of the documents' loop")
    parser.add_argument("--pack-only", action="store_true", help="only the matmul peak and the packed benchmarks")
    parser.add_argument("--pack-samples", type=int, default=PACK_SAMPLES,
                        help="training images per run in the packed benchmarks")
    parser.add_argument("--pack-repeats", type=int, default=3, help="timed repeats per packed benchmark (best kept)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"{args.data} does not exist: build the data first (snakemake {args.data})")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)  # for every figure below, peak included (the worker processes set their own)
    peak = matmul_gflops(device=device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} torch threads"
    print(f"machine: {where}, dense fp32 matmul {peak:.1f} GFLOP/s (2048², best of 5)")
    summary = [] if args.pack_only else loop_benchmarks(args.data, peak, device, args.samples, args.document_steps)
    summary += pack_benchmarks(args.data, peak, device, args.pack_samples, args.pack_repeats)
    print()
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
