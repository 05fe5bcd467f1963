# Haven: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEBIAN_RUN := janus
DEBIAN_TEST := janus coturn chromium iproute2 fonts-dejavu-core redis-server sqlite3 postgresql-client nginx systemd

.PHONY: help run test test-both-databases bench lint typecheck typecheck-js check demo-password clean

help:
	@echo "make run    - set up and run Haven with Janus and a demo organisation (http://localhost:8000)"
	@echo "make test   - set up and run the whole test suite on SQLite and on PostgreSQL, side by side"
	@echo "make check  - ruff format check, ruff lint, mypy, and TypeScript's check of the page's JS"
	@echo "make bench  - run the benchmarks (minutes) and write bench/results/latest.{json,md,png}"
	@echo "make demo-password - print a new password for the demo host"

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	scripts/install-debian-packages $(DEBIAN_RUN)
	scripts/run-dev

# The whole suite twice, side by side: on SQLite (the default) and on PostgreSQL, each run
# on a fresh database of its own (scripts/ensure-postgres starts a server where none
# answers). `test-both-databases` is the same, kept as a name for it.
test test-both-databases: check
	scripts/install-debian-packages $(DEBIAN_TEST)
	scripts/ensure-postgres
	PY=$(PY) scripts/test-both-databases

# The full benchmark run, for people: never in CI (tests/test_bench_smoke.py runs tiny sizes).
bench: $(VENV)/.installed
	scripts/install-debian-packages $(DEBIAN_TEST)
	$(PY) -m bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.installed
	HAVEN_SECRET_KEY=typecheck $(VENV)/bin/mypy haven tests bench

# The page's JS is plain ES modules with JSDoc types (// @ts-check in every file):
# TypeScript checks them (jsconfig.json, strict) and builds nothing. From the npm registry,
# pinned in package-lock.json; Node.js and npm from Debian where the machine has none.
node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null || scripts/install-debian-packages nodejs npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

typecheck-js: node_modules/.installed
	node_modules/.bin/tsc -p jsconfig.json

check: lint typecheck typecheck-js

demo-password: $(VENV)/.installed
	scripts/dev-env
	set -a; . var/dev.env; set +a; $(PY) manage.py demo_password

clean:
	rm -rf $(VENV) var node_modules .mypy_cache .ruff_cache .pytest_cache
