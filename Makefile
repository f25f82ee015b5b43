# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint schema clean

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

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(STAMP)
	$(BIN)/cms schema

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
