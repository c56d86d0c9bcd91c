"""A finished run's files are checked against the checksums in its record: damage is named in words, a dry run
moves nothing, a build moves the damaged files aside (kept) so that exactly that run retrains."""
from __future__ import annotations

import json

import pandas as pd

from analysis.pipeline.config import Run
from analysis.store.layout import RUN_FILES
from analysis.store.run_files import describe, file_digests, problem, recover


def finished_run(folder, with_digests: bool = True):
    folder.mkdir(parents=True)
    for name in RUN_FILES:
        if name.endswith(".parquet"):
            pd.DataFrame({"epoch": [0, 1], "test_acc": [0.1, 0.9]}).to_parquet(folder / name)
    (folder / "train.log").write_text("epoch 1 done\n")
    record = {"run_id": folder.name, "spec": {"seed": 2}}
    if with_digests:
        record["files"] = file_digests(folder)
    (folder / "record.json").write_text(json.dumps(record))
    return folder


def test_an_intact_run_passes_and_an_unfinished_one_is_not_damaged(tmp_path):
    assert problem(finished_run(tmp_path / "ok")) is None
    (tmp_path / "half").mkdir()
    assert problem(tmp_path / "half") is None  # no record.json: still to train, not damaged


def test_truncation_edit_and_loss_are_each_named(tmp_path):
    run = finished_run(tmp_path / "r")
    metrics = run / "metrics.parquet"
    metrics.write_bytes(metrics.read_bytes()[:100])
    assert problem(run).startswith("metrics.parquet is damaged (100 bytes")
    run = finished_run(tmp_path / "s")
    (run / "train.log").write_text("edited\n")
    assert problem(run).startswith("train.log is damaged")
    run = finished_run(tmp_path / "t")
    (run / "grads.parquet").unlink()
    assert problem(run) == "grads.parquet is missing"
    run = finished_run(tmp_path / "u")
    (run / "record.json").write_text('{"run_id": ')
    assert problem(run).startswith("record.json is damaged (JSONDecodeError")


def test_a_run_recorded_before_checksums_is_checked_for_parquet_structure(tmp_path):
    run = finished_run(tmp_path / "old", with_digests=False)
    assert problem(run) is None
    (run / "track.parquet").write_bytes((run / "track.parquet").read_bytes()[:-8])
    assert problem(run) == "track.parquet is damaged (no Parquet header or footer)"


def test_a_run_is_named_by_its_experiment_grid_cell_and_seed():
    spec = {"activation": "relu", "model": {"depth": 20}, "seed": 2}
    assert describe("09244b9a5b8d", spec, ("m2_depth",), ["activation", "model.depth"]) == \
        "run 09244b9a5b8d (m2_depth, relu, depth 20, seed 2)"


def test_a_dry_run_moves_nothing_and_a_build_keeps_the_damaged_files(tmp_path):
    runs_dir = tmp_path / "runs"
    bad, good = finished_run(runs_dir / "aaaaaaaaaaaa"), finished_run(runs_dir / "bbbbbbbbbbbb")
    (bad / "batches.parquet").write_bytes(b"PAR1")
    runs = {rid: Run(rid, {"seed": 2, "lr": 0.1}, ("exp",)) for rid in (bad.name, good.name)}
    dry = recover(runs, runs_dir, {"exp": ["lr"]}, dry_run=True)
    assert dry == ["nnlab: run aaaaaaaaaaaa (exp, lr 0.1, seed 2): batches.parquet is damaged (4 bytes, SHA-256 "
                   + dry[0].split("SHA-256 ")[1]]
    assert (bad / "record.json").is_file()
    built = recover(runs, runs_dir, {"exp": ["lr"]}, dry_run=False)
    assert len(built) == 1 and "the run is retrained" in built[0]
    assert not (bad / "record.json").exists() and len(list(bad.glob("damaged-*/batches.parquet"))) == 1
    assert len(list(bad.glob("damaged-*/record.json"))) == 1  # the record is kept too
    assert problem(good) is None and (good / "record.json").is_file()  # the other run is untouched
