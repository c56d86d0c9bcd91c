# nnlab: `make` builds the default study and site; `make test` runs the tests.
# Both create .venv first if it is missing (`make env` does only that), and install the Debian packages they
# need when missing (`make sysdeps`): CI runs nothing but `make test`, so a fresh machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
PROFILE ?= default

.PHONY: all env sysdeps sysdeps-data study quick full summary verify test clean-site

all: study

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import analysis, torch, snakemake, pandas, pyarrow, seaborn, pypandoc"
	touch $@

# What `make test` needs beyond Python, from Debian: a browser for the site check (any name analysis/site/sitecheck.py
# tries), and the daemons and clients of the real single-node cluster tests/test_slurm.py starts. Checked with
# `command -v` first (milliseconds when present); installed as root with apt-get; otherwise one line says what to
# install and the target fails, so no test is ever skipped for want of them.
HAS_CHROMIUM := command -v chromium || command -v chromium-browser || command -v google-chrome
HAS_SLURM := command -v slurmctld && command -v slurmd && command -v sbatch && command -v squeue && command -v munged
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

sysdeps: sysdeps-data
	@pkgs=; why=; \
	if ! { $(HAS_CHROMIUM); } >/dev/null 2>&1; then \
	  pkgs=chromium; why="the browser tests need Debian's chromium"; \
	fi; \
	if ! { $(HAS_SLURM); } >/dev/null 2>&1; then \
	  pkgs="$${pkgs:+$$pkgs }slurm-wlm munge"; why="$${why:+$$why; }the Slurm test needs Debian's slurm-wlm and munge"; \
	fi; \
	[ -n "$$pkgs" ] || exit 0; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "nnlab: $$why: run \`sudo apt-get install $$pkgs\`" >&2; exit 1; \
	fi; \
	echo "nnlab: installing $$pkgs ($$why)"; \
	$(APT_INSTALL) $$pkgs >/dev/null || { apt-get update -qq && $(APT_INSTALL) $$pkgs >/dev/null; } \
	  || { echo "nnlab: \`apt-get install $$pkgs\` failed (see above); $$why" >&2; exit 1; }; \
	{ $(HAS_CHROMIUM); } >/dev/null 2>&1 && { $(HAS_SLURM); } >/dev/null 2>&1 \
	  || { echo "nnlab: installed $$pkgs, but chromium or a Slurm command is still not on PATH" >&2; exit 1; }

# Fashion-MNIST's fallback source is Debian's dataset-fashion-mnist (`apt-get download`, analysis/data/datasets.py); on a
# fresh machine apt's package lists are empty, so they are refreshed once. Not fatal: the canonical host may
# answer, and when every source fails the data step lists each one and why.
sysdeps-data:
	@if command -v apt-get >/dev/null && ! apt-cache show dataset-fashion-mnist >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq || echo "nnlab: apt-get update failed; the data step will say which sources it tried" >&2; \
	  else \
	    echo "nnlab: apt's package lists lack dataset-fashion-mnist (Fashion-MNIST's fallback source):" \
	      "run \`sudo apt-get update\` once" >&2; \
	  fi; \
	fi

study: env sysdeps-data
	@$(BIN)/python -m analysis.tools.estimate --profile $(PROFILE) --cores $(CORES) --save results/$(PROFILE)/estimate.json || true
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) --config profile=$(PROFILE)
	@$(BIN)/python -m analysis.tools.estimate --measured results/$(PROFILE)/estimate.json || true
	@echo "site: results/$(PROFILE)/site/index.html"

quick:
	$(MAKE) study PROFILE=quick

full:
	$(MAKE) study PROFILE=full

# What a finished build found, as files to commit (docs/results/<profile>.md and its figures): results/ is not in git.
summary: env
	$(BIN)/python -m analysis.site.results_summary --profile $(PROFILE)

# Every cached run of a profile checked against the checksums in its record.json; trains and moves nothing (a build
# moves a damaged run's files aside and retrains it: analysis/store/run_files.py; the command: analysis/pipeline/verify.py).
verify: env
	$(BIN)/python -m analysis.pipeline.verify --profile $(PROFILE)

# Lint first (seconds): ruff and snakefmt read their settings from pyproject.toml.
test: env sysdeps
	$(BIN)/ruff check analysis tests
	$(BIN)/snakefmt --check Snakefile workflow/rules/
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

clean-site:
	rm -rf results/*/site results/*/report_build
