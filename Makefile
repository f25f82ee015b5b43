# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint schema clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: install, migrate the SQLite database in ./var, seed it if empty, serve http://127.0.0.1:8000/graphql
run: $(STAMP)
	$(BIN)/cms migrate
	$(BIN)/cms seed --if-empty
	$(BIN)/cms serve

## make test: lint, the schema artifact, and the whole suite (SQLite and PostgreSQL)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cms schema --check
	$(BIN)/pytest

## make bench: generate 50,000 articles (BENCH_ARTICLES=2000 for a quick run), time import and export, load
## the CMS and the raw-SQL baseline with wrk; prints the table and writes bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(STAMP)
	$(BIN)/cms schema

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
