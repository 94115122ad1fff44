# unseen: `make demo` runs the shop, `make test` runs the whole suite. Both build what they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: help env demo dashboards serve seed test test-deps browser postgres bench notebooks openapi clean

help:
	@echo "make demo       create the environment, seed the shop, then run it with the dashboards, the scheduler"
	@echo "                and a background attack simulation; prints the URLs to open"
	@echo "make dashboards the operator dashboards (Voila) on http://$(HOST):8866/, behind the operator token"
	@echo "make test       create the environment, install test dependencies, run the whole suite"
	@echo "make bench      run the benchmarks in bench/ and print their figures"
	@echo "make notebooks  execute every research notebook with papermill on small parameters (runs/notebooks/)"
	@echo "make openapi    regenerate api/openapi.json after an intended API change"
	@echo "make clean      remove the environment and generated data"

env: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "unseen needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[dev]'
	touch $(STAMP)

seed: env
	$(BIN)/unseen seed

demo: env
	$(BIN)/unseen seed
	$(BIN)/unseen train recommend --if-missing
	$(BIN)/unseen demo --host $(HOST) --port $(PORT)

dashboards: env
	$(BIN)/unseen dashboards --host $(HOST)

serve: env
	$(BIN)/unseen serve --host $(HOST) --port $(PORT)

# What the tests drive besides Python: Debian's Chromium (browser tests) and PostgreSQL's server binaries.
test-deps: browser postgres

browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }

test: env test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: env
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Every research notebook on its small parameters (notebooks/small.toml); FULL=1 for the notebooks' own defaults.
notebooks: env
	$(BIN)/unseen notebooks $(if $(FULL),--full)

openapi: env
	$(BIN)/unseen openapi --write

clean:
	rm -rf $(VENV) var artefacts runs models data/processed
