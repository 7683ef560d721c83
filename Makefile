# Ducha: `make run` serves the app, `make test` passes the tests. Both install what is missing first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000

.PHONY: run test lint format deps sysdeps db bench clean

run: deps db
	$(FLASK) ducha seed-demo
	$(FLASK) ducha deploy
	PORT=$(PORT) $(BIN)/python -m app.serve

test: deps
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: deps
	$(BIN)/ruff format .

deps: $(VENV)/.stamp app/static/dist/versions.json sysdeps

db: deps
	$(FLASK) db upgrade

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp: setup.cfg | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The front-end build (esbuild): app/static/js/entries/*.js -> app/static/dist/ (not committed).
FRONTEND_SRC := $(shell find app/static/js app/static/css -type f 2>/dev/null)
app/static/dist/versions.json: node_modules/.stamp scripts/build.mjs $(FRONTEND_SRC)
	node scripts/build.mjs

sysdeps:
	@bash scripts/sysdeps.sh

bench: deps db
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) node_modules app/static/dist app/static/vendor
