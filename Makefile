# TrafficDesk: `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export TRAFFICDESK_VAR_DIR ?= $(CURDIR)/var

.PHONY: axe cluster demo test test-sqlite test-postgres bench lint venv messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key

demo: $(STAMP) var/secret_key
	@SECRET_KEY=$$(cat var/secret_key) $(PY) manage.py migrate --no-input -v0
	@SECRET_KEY=$$(cat var/secret_key) $(PY) manage.py createcachetable
	@SECRET_KEY=$$(cat var/secret_key) $(PY) manage.py compilemessages -v0 --ignore=.venv 2>/dev/null || true
	@SECRET_KEY=$$(cat var/secret_key) $(PY) manage.py collectstatic --no-input -v0
	@SECRET_KEY=$$(cat var/secret_key) $(PY) manage.py load_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/); background worker started"
	@export SECRET_KEY=$$(cat var/secret_key); \
	  $(PY) manage.py db_worker --interval 1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  WEB_BIND=$(HOST):$(PORT) WEB_ACCESS_LOG=- $(VENV)/bin/gunicorn -c python:trafficdesk.gunicornconf trafficdesk.asgi:application

# N app servers behind HAProxy on one PostgreSQL database (docs/scaling.md):
#   make cluster DATABASE_URL=postgres://... ARGS="--servers 2"
cluster: $(STAMP) var/secret_key
	SECRET_KEY=$$(cat var/secret_key) $(PY) scripts/run_cluster.py --host $(HOST) --port $(PORT) $(ARGS)

# axe-core for the browser tests' accessibility checks (tests/browser/test_every_page.py).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

axe: $(AXE)

test: $(STAMP) $(AXE)
	$(PY) scripts/run_tests.py $(ARGS)

test-sqlite: $(STAMP) $(AXE)
	$(PY) scripts/run_tests.py --only sqlite $(ARGS)

test-postgres: $(STAMP) $(AXE)
	$(PY) scripts/run_tests.py --only postgres $(ARGS)

bench: $(STAMP)
	$(PY) bench/run.py $(NAME)

lint: $(STAMP)
	$(VENV)/bin/ruff check trafficdesk tests bench scripts
	SECRET_KEY=lint-only-key-that-is-long-enough-0123456789 $(VENV)/bin/mypy trafficdesk
	$(VENV)/bin/bandit -q -ll -r trafficdesk -x '*/migrations/*'
	@# The audit counts what it could check: offline (no advisory source) it prints
	@# "pip-audit: SKIPPED ... (audited 0 of N)" and exits 0 so that lint runs anywhere;
	@# PIP_AUDIT_REQUIRED=true makes a skipped or partial audit fail (scripts/pip_audit.py).
	$(PY) scripts/pip_audit.py

messages: $(STAMP)
	DEBUG=true $(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=tests
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache .hypothesis
