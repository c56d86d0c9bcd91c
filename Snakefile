# nnlab: config -> run specs -> one training job per run -> Parquet -> answers & figures -> site.
# `snakemake --cores 8` builds the default profile; `--config profile=quick|full` picks another.
configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/answers.smk"
include: "workflow/rules/report.smk"


# Cheap or network-bound steps stay on the submitting host under a cluster executor;
# only the training runs are submitted as cluster jobs.
localrules:
    all,
    dataset,
    plan,
    aggregate,
    answers,
    scorecard,
    site,


rule all:
    default_target: True
    input:
        SITE_INDEX,
