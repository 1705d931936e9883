# RetroVault: `make run` starts everything and places two demo orders; `make test` runs the whole suite.
# Both set up a fresh machine on their own: virtualenv, pinned packages, PostgreSQL, Kafka, localstripe.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# Instances of every service `make run` starts (`make run INSTANCES=2`).
INSTANCES ?= 1
# Go programs the lint runs on the deployment files, built from their modules at these versions into .local/.
GO ?= go
KUSTOMIZE_VERSION := v5.7.1
ACTIONLINT_VERSION := v1.7.12
KUSTOMIZE := .local/go/kustomize-$(KUSTOMIZE_VERSION)/kustomize
ACTIONLINT := .local/go/actionlint-$(ACTIONLINT_VERSION)/actionlint

.PHONY: run test lint unit e2e up down demo lock clean chromium axe bench test-containers

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet --requirement requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	RV_KAFKA_JIT=full $(PY) -m infra.stack run --instances $(INSTANCES)

test: lint unit e2e

lint: $(STAMP) $(KUSTOMIZE) $(ACTIONLINT)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) -m tools.contracts check
	$(PY) -m tools.contracts compat
	$(PY) -m tools.openapi check
	$(PY) -m tools.configuration check
	$(PY) -m tools.manifests check --kustomize $(KUSTOMIZE) --actionlint $(ACTIONLINT)

$(KUSTOMIZE):
	GOBIN=$(abspath $(@D)) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(ACTIONLINT):
	GOBIN=$(abspath $(@D)) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# No services needed: domain, saga and contract tests.
unit: $(STAMP)
	$(PY) -m pytest tests/unit tests/contracts $(PYTEST_ARGS)

# Brings the real stack up, runs everything that needs it, and always takes the stack down again.
e2e: $(STAMP) chromium axe
	$(PY) -m infra.stack up --trace-sink
	$(PY) -m pytest tests/e2e tests/browser tests/faults tests/packaging $(PYTEST_ARGS); status=$$?; $(PY) -m infra.stack down; exit $$status

# compose.yaml in Docker (started, and stopped again, by containers/engine.sh): builds the images, kills one
# container of each service under load, checks the invariants. See containers/README.md.
test-containers: $(STAMP)
	bash containers/test.sh

# Debian's Chromium for the dashboard's browser tests (Playwright drives it; it downloads no browser).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# axe-core, the accessibility checker the browser tests inject into pages: the exact version pinned in
# tests/browser/package.json, installed by npm into .local/node/ (no lock file: one pin, no dependencies).
AXE := .local/node/node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE): tests/browser/package.json
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	mkdir -p .local/node && cp tests/browser/package.json .local/node/package.json
	cd .local/node && npm install --no-package-lock --ignore-scripts --no-audit --no-fund --silent
	@touch $@

# The benchmark (never part of `make test`): sweep, DBOS peer, pgbench; writes bench/results/ and docs/performance.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet --requirement bench/requirements.txt
	$(PY) -m mypy bench/*.py
	RV_KAFKA_JIT=full $(PY) -m bench $(BENCH_ARGS)

up: $(STAMP)
	$(PY) -m infra.stack up

down: $(STAMP)
	$(PY) -m infra.stack down

demo: $(STAMP)
	$(PY) -m infra.stack demo

# Re-pin requirements.txt from requirements.in in a scratch virtualenv (no download addresses are written).
lock:
	rm -rf .local/lock-venv && $(PYTHON) -m venv .local/lock-venv
	.local/lock-venv/bin/pip install --quiet -r requirements.in
	.local/lock-venv/bin/pip freeze --exclude-editable > requirements.txt

clean: down
	rm -rf .local
