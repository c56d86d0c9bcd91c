# The plan of the profile's runs, written once and read by every later stage (analysis/pipeline/plan.py): each run's
# experiments, grid cell, seed and spec, and each experiment's scaling, beside the config.
rule plan:
    output:
        plan=f"{OUT}/tables/plan.parquet",
        manifest=f"{OUT}/tables/manifest.json",
    params:
        # a digest keeps Snakemake's rerun reasons short; the plan and the config themselves go into the files
        digest=PLAN.digest(config),
    run:
        PLAN.write(Path(output.plan).parent, config)


rule aggregate:
    input:
        plan=rules.plan.output.plan,
        manifest=rules.plan.output.manifest,
        run_files=expand("results/runs/{run_id}/{name}", run_id=sorted(RUNS), name=RUN_FILES),
    output:
        **{name: f"{OUT}/tables/{name}.parquet" for name in TABLES},
    log:
        f"{OUT}/logs/aggregate.log",
    shell:
        "{PY} -m analysis.pipeline.aggregate --tables {OUT}/tables --runs-dir results/runs > {log:q} 2>&1"
