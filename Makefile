# Ducha: `make run` serves the app, `make test` passes the tests. Both install what is missing first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000
DEVICESIM_PORT ?= 7310

.PHONY: run test lint format deps sysdeps db bench bench-peer bench-load bench-load-stress clean devicesim-start devicesim-stop

run: deps db
	$(FLASK) ducha seed-demo
	$(FLASK) ducha deploy
	@$(MAKE) --no-print-directory devicesim-start
	trap '$(MAKE) --no-print-directory devicesim-stop' EXIT; \
	DUCHA_EXCHANGE_FAKES=$${DUCHA_EXCHANGE_FAKES:-1} DUCHA_GATEWAY_URL=http://127.0.0.1:$(DEVICESIM_PORT) \
	DUCHA_GATEWAY_POLL=1 PORT=$(PORT) $(BIN)/python -m app.serve

# The device simulator (指挥调度: 50 cameras, 20 vehicles on loopback), in the background; make devicesim-stop ends it.
devicesim-start:
	@mkdir -p instance
	@if [ -f instance/devicesim.pid ] && kill -0 $$(cat instance/devicesim.pid) 2>/dev/null; then \
	  echo "devicesim already running (pid $$(cat instance/devicesim.pid))"; \
	else \
	  $(BIN)/python -m app.devicesim --port $(DEVICESIM_PORT) --data-dir instance/devicesim \
	    --webhook http://127.0.0.1:$(PORT)/dispatch/gateway/webhook > instance/devicesim.log 2>&1 & \
	  echo $$! > instance/devicesim.pid; echo "devicesim started on 127.0.0.1:$(DEVICESIM_PORT) (pid $$!)"; \
	fi

devicesim-stop:
	@if [ -f instance/devicesim.pid ]; then kill $$(cat instance/devicesim.pid) 2>/dev/null || true; \
	  rm -f instance/devicesim.pid; echo "devicesim stopped"; fi

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

# The peer-bench pass (../shared/peer-bench) on PostgreSQL: 1 and 4 clients, timer probe, statements per call.
BENCH_PEER_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/ducha_bench_peer
bench-peer: deps
	nice $(BIN)/python bench/peer.py --database-url $(BENCH_PEER_DB) --clients 1,4 --duration 40 --timer 5 --statements

# R7.3 under load on PostgreSQL: the 3-year data set (generated once, then reused) and 300 s of Locust.
BENCH_LOAD_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/ducha_bench_load
BENCH_LOAD_DIR ?= instance/bench-load
bench-load: deps
	nice $(BIN)/python bench/generate.py --years 3 --scale 1.0 --seed 42 --database-url $(BENCH_LOAD_DB) \
	    --instance-dir $(BENCH_LOAD_DIR) --reuse --quiet
	nice $(BIN)/python bench/load.py --database-url $(BENCH_LOAD_DB) --instance-dir $(BENCH_LOAD_DIR) \
	    --duration 300 --spawn-rate 4 --mix realistic

# The same with the heavier mix (a monthly report and a login every 19 operations of each actor).
bench-load-stress: deps
	nice $(BIN)/python bench/generate.py --years 3 --scale 1.0 --seed 42 --database-url $(BENCH_LOAD_DB) \
	    --instance-dir $(BENCH_LOAD_DIR) --reuse --quiet
	nice $(BIN)/python bench/load.py --database-url $(BENCH_LOAD_DB) --instance-dir $(BENCH_LOAD_DIR) \
	    --duration 300 --spawn-rate 4 --mix stress

clean:
	rm -rf $(VENV) node_modules app/static/dist app/static/vendor
