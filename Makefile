# pachflow: Spark ML pipelines on Pachyderm with MLflow lineage.
# Fresh machine: `make demo` runs the whole chain, `make test` runs the tests.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION ?= 0.13.9
PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
RUN := $(UV) run --frozen --no-sync
STAGES := $(notdir $(wildcard stages/*))
ROWS ?= 1000000
SPARK ?= auto
MLFLOW_UI_PORT ?= 5000

SPARK_CDS := $(VENV)/share/pachflow/spark.jsa

export PACHFLOW_HOME ?= $(CURDIR)/.pachflow

.PHONY: help setup check-java lint types check format test test-slow test-all test-fast test-stage test-services demo run spark-cluster put jobs validate pin mlflow-ui bench spark-cds lineage clean

# V=1: show the install output (uv sync) and the commands make runs; quiet otherwise.
Q := $(if $(V),,@)
UV_QUIET := $(if $(V),,--quiet)
VERBOSE_FLAG := $(if $(V),-v)
# make variables named in the help texts, shown with their values
HELP_VARS := MLFLOW_UI_PORT REGISTRY ROWS

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
	  | sed $(foreach v,$(HELP_VARS),-e 's|$$($(v))|$($(v))|g') \
	  | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(UV):
	@echo "uv not found: installing uv $(UV_VERSION) with pip --user"
	$(PYTHON) -m pip install --user --quiet "uv==$(UV_VERSION)" || $(PYTHON) -m pip install --user --quiet --break-system-packages "uv==$(UV_VERSION)"

setup: check-java $(VENV)/.synced $(SPARK_CDS) ## create .venv from uv.lock (installs uv if missing) and archive Spark's classes

$(VENV)/.synced: uv.lock $(UV) $(wildcard */pyproject.toml */*/pyproject.toml)
	@echo "installing the locked dependencies into $(VENV) (uv sync; V=1 shows every package)"
	$(Q)$(UV) sync --frozen --all-packages $(UV_QUIET)
	@touch $@

check-java: ## Spark needs Java 17+: say exactly what to install when it is missing
	@v=$$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+)(\.[0-9]+)?.*/\1/p' | head -1); \
	if [ -z "$$v" ]; then echo "Java 17+ is required for Spark and was not found: sudo apt-get install openjdk-17-jre-headless (Debian/Ubuntu) or brew install openjdk@17 (macOS)"; exit 1; fi; \
	if [ "$$v" -lt 17 ]; then echo "Java $$v found; Spark 4 needs Java 17+: sudo apt-get install openjdk-17-jre-headless (Debian/Ubuntu) or brew install openjdk@17 (macOS)"; exit 1; fi

lint: check-java $(VENV)/.synced lint-docker ## ruff (lint + format check), spec validation, hadolint
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) pachflow validate

lint-docker: $(VENV)/.synced   # hadolint runs from the venv (mk/images.mk)

types: $(VENV)/.synced ## mypy (strict) over every package's sources (settings: pyproject.toml [tool.mypy])
	$(RUN) mypy

check: lint types ## the gates CI runs before the tests: lint + types (~1 min)

format: setup ## ruff format + autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# The tests start hundreds of Python processes: let them cache bytecode as a user's Python
# does, even where the environment says not to (with PYTHONDONTWRITEBYTECODE=1 every process
# that imports MLflow and PySpark compiles them again: 5-7 s instead of ~2 s).
test test-slow test-all test-fast test-stage: export PYTHONDONTWRITEBYTECODE :=

# pytest-xdist workers (docs/testing.md "Two workers"; 0: one process). The unit tests leave
# a core idle ~40 % of the time in one process: `make test-fast` and `make test` run two
# workers (74 s instead of 125 s; 376 s instead of ~425 s). The slow tier keeps both cores
# busy in one process (its tests only get slower side by side): one.
UNIT_WORKERS ?= 2
TEST_WORKERS ?= 2
SLOW_WORKERS ?= 0
xdist = -n $(1) --dist loadgroup

# Two tiers (docs/testing.md): `make test` is everything but the tests marked `slow`;
# `make test-slow` is those; CI runs both, so every test runs on every change.
test: setup ## the tests, without the slow tier (~6 min, two pytest workers); cluster tests skip with a reason
	$(RUN) pytest $(call xdist,$(TEST_WORKERS)) libs stages apps tests -m "not slow"

test-slow: setup ## the slow tier only (~16 min, one process): kill -9, the clean clone, engines, clusters, image builds (CI runs it)
	$(RUN) pytest $(call xdist,$(SLOW_WORKERS)) libs stages apps tests -m slow

test-all: setup ## both tiers in one pytest session
	$(RUN) pytest $(call xdist,$(SLOW_WORKERS)) libs stages apps tests

# Unit tests: no slow tier, no Spark, no MLflow test server, no containers, no cluster (docs/testing.md).
UNIT_TESTS := not slow and not spark and not mlflow and not containers and not cluster

test-fast: setup ## unit tests only (~1 min, two pytest workers), for the edit loop; `make test` runs everything
	$(RUN) pytest $(call xdist,$(UNIT_WORKERS)) libs stages apps tests -m "$(UNIT_TESTS)"

# The production-like MLflow test server (libs/testing: PostgreSQL, basic auth, S3 artifacts).
test-services: setup s3rver ## install PostgreSQL (apt) and s3rver (npm, pinned) for the production-like MLflow tests
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends postgresql; \
	else echo "PostgreSQL server binaries missing: sudo apt-get install postgresql (Debian/Ubuntu) or brew install postgresql@15 (macOS)"; exit 1; fi

test-stage: setup ## one stage's unit tests alone: make test-stage STAGE=split
	@[ -n "$(STAGE)" ] && [ -d stages/$(STAGE) ] || { echo "usage: make test-stage STAGE=<$(STAGES)>"; exit 2; }
	$(UV) run --frozen --package pachflow-$(STAGE) pytest stages/$(STAGE)/tests

demo: setup ## generate $(ROWS) PaySim-like rows and run the whole chain locally (ROWS=N, V=1, SPARK=auto|stage|engine|standalone|connect|URL)
	$(Q)$(RUN) pachflow demo --rows $(ROWS) --spark $(SPARK) $(VERBOSE_FLAG)

run: setup ## run every pipeline whose inputs changed (after `make put FILE=...`), V=1, SPARK=...
	$(Q)$(RUN) pachflow run --spark $(SPARK) $(VERBOSE_FLAG)

spark-cluster: setup ## a Spark standalone master + 2 workers on 127.0.0.1:7077 until Ctrl-C (then SPARK=spark://127.0.0.1:7077)
	$(Q)$(RUN) pachflow spark up

put: setup ## put a PaySim CSV (.csv or .csv.gz) into the local raw_data repo: make put FILE=...
	@[ -n "$(FILE)" ] || { echo "usage: make put FILE=<PaySim CSV, plain or .gz>"; exit 2; }
	$(Q)$(RUN) pachflow put raw_data $(FILE)

jobs: setup ## the local jobs, newest first
	$(Q)$(RUN) pachflow jobs

validate: setup ## check pipelines/*.json strictly against Pachyderm's CreatePipelineRequest
	$(RUN) pachflow validate

pin: setup ## set spec image tags (and registry) from each stage's pyproject version
	$(RUN) pachflow pin --registry $(REGISTRY)

mlflow-ui: setup ## open the local MLflow store (the demo's runs) at http://127.0.0.1:$(MLFLOW_UI_PORT)
	$(RUN) mlflow ui --backend-store-uri sqlite:///$(PACHFLOW_HOME)/mlflow.db \
	  --default-artifact-root $(PACHFLOW_HOME)/mlruns --host 127.0.0.1 --port $(MLFLOW_UI_PORT)

bench: setup ## the issue-8 benchmarks on the full data set (30-40 min) -> bench/RESULTS.md
	$(RUN) python bench/run_all.py --max-load 2.5

spark-cds: $(SPARK_CDS) ## (part of setup) archive Spark's classes once: every Spark stage starts ~2.5 s sooner

# Remade when the lock changes (other jars, other archive); an archive that fails to build
# only costs speed, so setup goes on without it.
$(SPARK_CDS): $(VENV)/.synced
	@echo "archiving Spark's classes for faster Spark starts (once per venv, ~30 s, ~180 MB)"
	@$(RUN) python -m pachflow_spark.cds $@ 2>$(VENV)/spark-cds.log \
	  || echo "warning: no Spark class archive (stages start ~2.5 s slower); see $(VENV)/spark-cds.log"

lineage: setup ## lineage of an MLflow run (RUN_ID=<id>) or a commit (COMMIT=repo@id)
	@[ -n "$(RUN_ID)$(COMMIT)" ] || { echo "usage: make lineage RUN_ID=<mlflow run id> | COMMIT=<repo@id>"; exit 2; }
	$(Q)$(if $(RUN_ID),$(RUN) pachflow lineage run $(RUN_ID),$(RUN) pachflow lineage commit $(COMMIT))

clean: ## remove the venv, the local store and caches
	rm -rf $(VENV) $(PACHFLOW_HOME) .pytest_cache .ruff_cache

include $(wildcard mk/*.mk)
