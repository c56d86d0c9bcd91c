# One job per dataset: fetch through the fallback chain, verify SHA-256, store one tensor file.
rule dataset:
    output:
        tensors=f"{DATA_DIR}/{{dataset}}.pt",
        provenance=f"{DATA_DIR}/{{dataset}}.json",
    log:
        f"{DATA_DIR}/logs/{{dataset}}.log",
    wildcard_constraints:
        dataset="mnist|fashion_mnist",
    params:
        local_dir=lambda wc: config["data"].get("local_dir") or "",
        sources=",".join(config["data"].get("sources", ["canonical", "registry", "local"])),
        timeout=config["data"].get("timeout_s", 20),
    shell:
        "{PY} -m analysis.data.datasets --dataset {wildcards.dataset} --out {output.tensors:q}"
        " --provenance {output.provenance:q} --local-dir={params.local_dir:q}"
        " --sources {params.sources} --timeout {params.timeout} > {log:q} 2>&1"
