# One job per pack: the runs of one configuration that differ only in their seed, trained together as
# one packed model (analysis/engine/packed.py); each run still writes its own files under results/runs/<run-id>/,
# shared by every profile and experiment that resolves to the same spec. Which runs share a pack is
# planned from what is already on disk (analysis/pipeline/packing.py): finished runs are never retrained because
# a seed was added or a pack-mate's setting changed.
#
# The members' specs and the checkpoint path are part of the shell command, not of `params`: a finished
# run's pack is re-planned as a pack of its own, and a params change would otherwise retrain it (the
# profile leaves "code" out of the rerun triggers). Its id hashes its spec already.
from analysis.pipeline.config import grid_keys_of
from analysis.pipeline.packing import plan_packs, pack_size_of, run_complete
from analysis.store.run_files import recover

# A finished run whose files no longer match its record (truncated, edited) is named here; outside a dry run its
# files are copied into its folder's damaged-<time>/, its record deleted, and it is retrained, alone (analysis/store/run_files.py).
# Only the main process checks: cluster jobs parse this file too.
if workflow.is_main_process:
    for line in recover(RUNS, "results/runs", grid_keys_of(config), workflow.output_settings.dryrun):
        sys.stderr.write(line + "\n")

PACKS = plan_packs(RUNS, pack_size_of(config), run_complete("results/runs"))


class PackArguments:
    """Each pack's training arguments, looked up by rule name inside the shell command
    (`{PACK_ARGS:{rule}}`). Why not `pack_command(pack)` in the shell string: Snakemake evaluates a
    shell expression again when the job runs, after this loop has ended, so every rule would train the
    last pack. Values returned by `__format__` are not formatted again, so JSON braces need no escaping."""

    def __init__(self, packs):
        self.by_rule = {f"train_{pack.pack_id}": self.arguments(pack) for pack in packs}

    @staticmethod
    def arguments(pack) -> str:
        members = " ".join(
            f"--run-id {run.run_id} --spec {shlex.quote(json.dumps(run.spec, sort_keys=True))}" for run in pack.runs
        )
        # the checkpoint is named by the pack, so it is not a param either (see above)
        return f"--pack-id {pack.pack_id} {members} --checkpoint results/checkpoints/{pack.pack_id}.pt"

    def __format__(self, rule_name: str) -> str:
        return self.by_rule[rule_name]


PACK_ARGS = PackArguments(PACKS)


for pack in PACKS:

    rule:
        name:
            f"train_{pack.pack_id}"
        input:
            data=f"{DATA_DIR}/{pack.runs[0].spec['dataset']}.pt",
        output:
            [f"results/runs/{rid}/{name}" for rid in pack.run_ids for name in RUN_FILES],
        log:
            f"results/logs/packs/{pack.pack_id}.log",
        threads: THREADS
        # PY and DEVICE are deliberately not params: a run's result is keyed by its spec alone, so moving
        # the virtual environment or switching CPU/GPU must not invalidate every cached run
        resources:
            gpu=1 if USES_GPU else 0,
        shell:
            "{PY} -m analysis.engine.training {PACK_ARGS:{rule}}"
            " --data {input.data:q} --runs-dir results/runs"
            " --device {DEVICE} --threads {threads} --log {log:q} > {log:q} 2>&1"
