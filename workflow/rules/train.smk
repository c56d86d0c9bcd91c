# One job per run. Runs live once under results/runs/<run-id>/, shared by every profile
# and experiment that resolves to the same spec.


rule train:
    input:
        data=lambda wc: f"{DATA_DIR}/{run_spec(wc)['dataset']}.pt",
    output:
        **{name.split(".")[0]: f"results/runs/{{run_id}}/{name}" for name in RUN_FILES},
    log:
        "results/runs/{run_id}/train.log",
    params:
        spec=lambda wc: json.dumps(run_spec(wc), sort_keys=True),
        outdir="results/runs/{run_id}",
        # end-of-epoch state, outside the declared outputs so Snakemake never deletes it on failure
        checkpoint="results/checkpoints/{run_id}.pt",
    threads: THREADS
    # PY and DEVICE are deliberately not params: a run's result is keyed by its spec alone, so moving
    # the virtual environment or switching CPU/GPU must not invalidate every cached run
    resources:
        gpu=1 if USES_GPU else 0,
    shell:
        "{PY} -m analysis.training --run-id {wildcards.run_id} --spec {params.spec:q}"
        " --data {input.data:q} --outdir {params.outdir:q} --checkpoint {params.checkpoint:q}"
        " --device {DEVICE} --threads {threads}"
        " > {log:q} 2>&1"
