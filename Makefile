# nnlab: `make` builds the default study and site; `make test` runs the tests.
# Both create .venv first if it is missing (`make env` does only that).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
PROFILE ?= default

.PHONY: all env study quick full test clean-site

all: study

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import analysis, torch, snakemake, pandas, pyarrow, seaborn, pypandoc"
	touch $@

study: env
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) --config profile=$(PROFILE)
	@echo "site: results/$(PROFILE)/site/index.html"

quick:
	$(MAKE) study PROFILE=quick

full:
	$(MAKE) study PROFILE=full

test: env
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

clean-site:
	rm -rf results/*/site results/*/report_build
