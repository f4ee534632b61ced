# Förderportal Digitalisierung Hessen — the two commands of the contract:
#   make run    set up, migrate, deploy processes, seed demo data, start web + worker + beat
#   make test   set up and run the whole suite on SQLite and again on PostgreSQL
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-sqlite test-postgres frontend lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,ops]"
	touch $(STAMP)

setup: $(STAMP) frontend
	./scripts/setup-system

frontend:
	./scripts/build-frontend

run: setup
	$(BIN)/python -m app.runner

test: setup
	./scripts/test

lint: $(STAMP)
	$(BIN)/ruff check app workers tests
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) app/static/dist frontend/node_modules var
