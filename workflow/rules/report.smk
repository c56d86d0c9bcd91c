# Answers + the .qmd sources in report/ -> the static site, with Quarto when it is on
# PATH, else with pandoc 3 (pypandoc-binary) into the same layout and navigation.
rule site:
    input:
        answers=expand(f"{OUT}/answers/{{page}}.json", page=PAGES),
        scorecard=f"{OUT}/answers/scorecard.json",
        # the explorer and the run pages: the plan, the runs and their curves
        tables=expand(f"{OUT}/tables/{{name}}.parquet", name=["plan", "runs", "epochs", "batches", "grads"]),
        sources=sorted(
            str(p) for p in Path("report").rglob("*") if p.is_file() and not {"_site", ".quarto"} & set(p.parts)
        ),
    output:
        index=SITE_INDEX,
    log:
        f"{OUT}/logs/site.log",
    params:
        engine=config.get("report_engine", "auto"),
    shell:
        "{PY} -m analysis.site.report --profile {PROFILE} --answers {OUT}/answers --build {OUT}/report_build"
        " --site {OUT}/site --source report --engine {params.engine} --tables {OUT}/tables --runs-dir results/runs"
        " > {log:q} 2>&1"
