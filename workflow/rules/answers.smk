# Tables -> per-page answers (numbers and sentences as JSON), figures (PNG+SVG) and
# generated Markdown fragments the report pages include. One job per page of analysis.study.answers.PAGES: each
# source document, and the experiments page (every experiment no document page claims).
rule answers:
    input:
        tables=expand(f"{OUT}/tables/{{name}}.parquet", name=TABLES),
        provenance=expand(f"{DATA_DIR}/{{dataset}}.json", dataset=DATASETS),
        plan=rules.plan.output.plan,
        manifest=rules.plan.output.manifest,
        # the documents' own numbers, which the pages quote (analysis.study.answers.common.DocumentValues)
        registry="config/scorecard.csv",
    output:
        answers=f"{OUT}/answers/{{page}}.json",
        # `snakemake --report report.html` shows every page's figures, one category per source document
        fragments=report(
            directory(f"{OUT}/answers/{{page}}"),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category="{page}",
        ),
    log:
        f"{OUT}/logs/answers_{{page}}.log",
    wildcard_constraints:
        page="|".join(PAGES),
    params:
        profile=PROFILE,
    shell:
        "{PY} -m analysis.study.answers --page {wildcards.page} --profile {params.profile}"
        " --tables {OUT}/tables --data-dir {DATA_DIR} --out {OUT}/answers > {log:q} 2>&1"


# Every document number and claim (config/scorecard.csv) beside this run's measurement, with a verdict.
rule scorecard:
    input:
        registry="config/scorecard.csv",
        answers=expand(f"{OUT}/answers/{{page}}.json", page=PAGES),
        # the runs behind each row, and the plan that says which protocols this profile scales
        runs=f"{OUT}/tables/runs.parquet",
        plan=rules.plan.output.plan,
        manifest=rules.plan.output.manifest,
    output:
        answers=f"{OUT}/answers/scorecard.json",
        fragments=directory(f"{OUT}/answers/scorecard"),
        table=f"{OUT}/tables/scorecard.parquet",
    log:
        f"{OUT}/logs/scorecard.log",
    shell:
        "{PY} -m analysis.study.scorecard --registry {input.registry:q} --answers {OUT}/answers --out {OUT}/answers"
        " --table {output.table:q} --tables {OUT}/tables > {log:q} 2>&1"
