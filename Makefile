# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements.lock

.PHONY: run test lint schema clean bench lock

# Every dependency (the dev extra's too) comes from the lock, pinned with hashes; then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## make lock: write requirements.lock from pyproject.toml (dependencies and the dev extra, Python 3.11, with
## hashes), keeping the pins that still fit; `make lock UPGRADE=1` moves every pin to the newest allowed
lock:
	test -x $(BIN)/pip-compile || $(MAKE) $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet $(if $(UPGRADE),--upgrade) \
		--generate-hashes --extra dev --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file $(LOCK) pyproject.toml

## make run: install, migrate the SQLite database in ./var, seed it if empty, serve http://127.0.0.1:8000/graphql
run: $(STAMP)
	$(BIN)/cms migrate
	$(BIN)/cms seed --if-empty
	$(BIN)/cms serve

## make test: lint, types (mypy with Strawberry's plugin), the schema artifact, and the whole suite (SQLite and
## PostgreSQL)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
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
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
