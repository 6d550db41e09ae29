SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.12, and `sam build` needs the same interpreter: take python3.12 from
# PATH when it works (a pyenv shim that is not selected does not), else from pyenv.
PYTHON312 ?= $(shell for p in "$$(command -v python3.12)" $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	[ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null \
	&& { echo "$$p"; break; }; done)
# The repository: sam runs build-CommonLayer with a copy of layers/common as working directory.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
VENV := .venv
LOCK := requirements.lock
BIN := $(VENV)/bin
# The venv first on PATH, so sam's python3.12 builder and our tools find the same interpreter.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-west-1
STAMP := $(VENV)/.installed
# checkov pins boto3 and friends to its own versions: it gets a virtualenv of its own. Within
# the range, a newer checkov may bring new checks; the stamp follows this Makefile.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV := checkov>=3.3.30,<3.4
# What bandit scans: the code that runs in Lambda and on developers' machines, not the tests.
BANDIT_TARGETS := layers/common/gateway functions cli infra

.PHONY: help venv lock requirements build-CommonLayer lint security typecheck cfn build deploy test test-unit test-integration test-e2e local demo bench reliability clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# Every version the virtualenv, CI and the layer get is requirements.lock's: uv, itself pinned
# there, installs it (`infra.requirements --check`, in `make cfn`, fails on a difference).
$(STAMP): pyproject.toml $(LOCK)
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (PATH or ~/.pyenv/versions/3.12*)" >&2; exit 1; }
	"$(PYTHON312)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^uv==' $(LOCK))"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

venv: $(STAMP) ## create the virtualenv with python3.12 and install everything from requirements.lock

lock: $(STAMP) ## re-resolve requirements.lock from pyproject.toml (UPGRADE=1: newest versions in range), then the layer's requirements
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 \
		--custom-compile-command "make lock" --quiet $(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/python -m infra.requirements --write

requirements: $(STAMP) ## regenerate layers/common/requirements.txt (the layer's pins) from requirements.lock
	$(BIN)/python -m infra.requirements --write

# What the layer's packages carry that Lambda never loads: console scripts, type stubs, C and
# Cython sources and headers, the lxml APIs the gateway does not use (it parses and builds
# MM7 with lxml.etree only), the pydantic 1 API, and the Swagger UI bundle that powertools
# serves only when enable_swagger() is called (the gateway does not). Paths under python/.
LAYER_UNUSED := bin wrapt-stubs lxml/includes lxml/html lxml/isoschematron lxml/objectify.* \
	pydantic/v1 aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.*
LAYER_UNUSED_FILES := '*.pyi' '*.pyx' '*.pxd' '*.pxi' '*.h' '*.c'
LAYER_PLATFORM ?= aarch64-manylinux2014

# sam build runs this (template.yaml: CommonLayer's BuildMethod makefile) in a copy of
# layers/common. The locked runtime subset for Lambda's arm64, no dependency resolved again,
# and bytecode that needs no source check: Lambda's /opt is read-only, so without .pyc files
# every cold start would compile every module it imports. LAYER_PLATFORM: the cold-start
# benchmark builds the same layer for the machine it runs on.
build-CommonLayer:
	$(ROOT)$(BIN)/uv pip install --quiet --python $(ROOT)$(BIN)/python --no-deps \
		--only-binary :all: --python-platform $(LAYER_PLATFORM) --python-version 3.12 \
		--link-mode copy --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	cp -R gateway "$(ARTIFACTS_DIR)/python/"
	cd "$(ARTIFACTS_DIR)/python" && rm -rf $(LAYER_UNUSED) && \
		find . -name __pycache__ -type d -prune -exec rm -rf {} + && \
		find . -type f \( $(foreach f,$(LAYER_UNUSED_FILES),-name $(f) -o) -false \) -delete
	$(ROOT)$(BIN)/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash \
		"$(ARTIFACTS_DIR)/python"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(CHECKOV_STAMP): Makefile
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (PATH or ~/.pyenv/versions/3.12*)" >&2; exit 1; }
	"$(PYTHON312)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '$(CHECKOV)'
	touch $@

# checkov: nothing fetched at scan time (no platform data, no update check on PyPI). Each check
# skipped is skipped on its resource, with the reason, in template.yaml's Metadata.
security: $(STAMP) $(CHECKOV_STAMP) ## checkov on template.yaml (no failed check), bandit on the code (nothing medium or high)
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov --file template.yaml \
		--framework cloudformation --compact --quiet --skip-download
	$(BIN)/bandit -c pyproject.toml -r $(BANDIT_TARGETS) --severity-level medium --quiet

typecheck: $(STAMP) ## mypy (strict)
	$(BIN)/mypy layers/common/gateway functions cli infra tests bench

cfn: $(STAMP) ## cfn-lint and sam validate --lint
	$(BIN)/python -m infra.requirements --check
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region $(AWS_DEFAULT_REGION)

# No --cached: sam's cache key for the layer is layers/common alone, not the Makefile's recipe.
build: $(STAMP) ## sam build (no Docker: uses the venv's python3.12)
	$(BIN)/sam build --parallel

# ENV: the samconfig.toml environment deployed. Its first deploy is guided, told by no region
# saved for it yet: sam asks for the region and the parameters and saves the answers under ENV
# (GUIDED=1 asks again, to change them).
ENV ?= default
SAVED_REGION := import sys, tomllib; config = tomllib.load(open("samconfig.toml", "rb")); \
	sys.exit(not config.get("$(ENV)", {}).get("deploy", {}).get("parameters", {}).get("region"))

deploy: build ## sam build, then sam deploy of samconfig.toml's ENV (default, prod): guided the first time, or with GUIDED=1
	$(BIN)/sam deploy --config-env $(ENV) \
		$(if $(GUIDED),--guided,$$($(BIN)/python -c '$(SAVED_REGION)' || echo --guided))

test: lint security typecheck cfn build ## everything CI runs: lint, security scans, types, template, build, unit + integration + e2e tests
	$(BIN)/pytest

test-unit: $(STAMP) ## unit tests (no network, no local stack)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) ## integration tests: moto, the simulators and the local stack on loopback
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP) ## end-to-end tests on the whole local stack (runs template.yaml's code folders, no sam build)
	$(BIN)/pytest tests/e2e

local: $(STAMP) ## run the whole gateway on this machine (moto + simulators), Ctrl-C stops it
	$(BIN)/cgw local

demo: $(STAMP) ## start the local stack, send the demo messages, exit 0 when each reached its expected state
	$(BIN)/cgw demo

bench: $(STAMP) ## benchmarks -> bench/results.json and docs/BENCHMARKS.md
	$(BIN)/python -m bench

reliability: $(STAMP) ## fault-injection run (1,000 SMS) and receipt storm (10,000 receipts) on the local stack (exit 1 on a violation)
	$(BIN)/python -m bench --only reliability --only receipt_storm

clean: ## remove build output and the virtualenvs
	rm -rf .aws-sam .local $(VENV) $(CHECKOV_VENV) *.egg-info
