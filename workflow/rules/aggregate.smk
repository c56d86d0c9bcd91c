# Per-run files -> tidy Parquet tables for the profile, carrying the config columns.
rule manifest:
    output:
        f"{OUT}/tables/manifest.json",
    params:
        runs={rid: list(run.experiments) for rid, run in RUNS.items()},
        # a digest keeps Snakemake's rerun reasons short; the config itself goes into the file
        config_digest=hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16],
    run:
        from analysis.store.files import atomic_write
        from pathlib import Path

        atomic_write(
            Path(output[0]),
            lambda p: p.write_text(
                json.dumps({"profile": PROFILE, "runs": params.runs, "config": config}, indent=1, sort_keys=True)
            ),
        )


rule aggregate:
    input:
        manifest=f"{OUT}/tables/manifest.json",
        run_files=expand("results/runs/{run_id}/{name}", run_id=sorted(RUNS), name=RUN_FILES),
    output:
        **{name: f"{OUT}/tables/{name}.parquet" for name in TABLES},
    log:
        f"{OUT}/logs/aggregate.log",
    shell:
        "{PY} -m analysis.pipeline.aggregate --manifest {input.manifest:q} --runs-dir results/runs"
        " --out {OUT}/tables > {log:q} 2>&1"
