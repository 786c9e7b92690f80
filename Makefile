# One command per habit. Each target creates the virtualenv and installs what it needs.
SHELL := /bin/bash
# The first Python >= 3.11 that actually runs (pyenv shims can exist for versions that don't).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test processes (pytest-xdist): each runs its own embedded Postgres and Redis; a test file
# stays in one process. `make test PYTEST_WORKERS=0` runs everything in this one.
PYTEST_WORKERS ?= auto

.PHONY: dev test lint format openapi up bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (python3.12, python3.11 or python3)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# -qq: errors only. setuptools explains how editable installs work in a boxed warning on
	@# every install (our `workers/` sits beside `src/`); a newcomer's first command stays quiet.
	$(BIN)/python -m pip install -qq -e '.[dev]'
	@touch $(STAMP)

dev: $(STAMP)  ## run API + worker on embedded Postgres and Redis (data under .scripe/)
	$(BIN)/scripe-api dev

test: $(STAMP)  ## the whole suite against real (embedded) Postgres and Redis
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: $(STAMP)  ## regenerate openapi/openapi.json from the app
	$(BIN)/scripe-api openapi --output openapi/openapi.json

up:  ## the production-like stack (needs a Docker engine)
	docker compose up --build

BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## performance harness (never a test): prints the table, writes bench/RESULTS.md
	$(BIN)/python -m bench $(BENCH_ARGS)
