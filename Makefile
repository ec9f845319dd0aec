# Tahto: `make run` starts the whole service on embedded defaults; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE := mydata_operator.settings

.PHONY: help install run migrate demo worker test test-browser test-services lint format bench bench-core bench-scale bench-profile clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

install: $(STAMP) ## Create .venv and install the service with its development tools

migrate: $(STAMP) ## Apply migrations as the owner (DATABASE_OWNER_URL), then set the service role's grants
	TAHTO_DB_AS_OWNER=1 $(BIN)/python manage.py migrate --noinput
	TAHTO_DB_AS_OWNER=1 $(BIN)/python manage.py db_roles

demo: migrate ## Load the demo citizens, providers and regulator (idempotent)
	$(BIN)/python manage.py demo_data

run: demo ## Install, migrate, load demo data; start the web service (:8000), Kanta stand-in (:8001), Celery worker and log integrator
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	bin/run-service

worker: $(STAMP) ## Start only a Celery worker (with the periodic scheduler)
	$(BIN)/celery -A mydata_operator worker --beat --loglevel INFO --concurrency 2

test: $(STAMP) ## Run the test suite on the embedded defaults (SQLite, no servers)
	$(BIN)/pytest -q -m "not services and not browser and not replica" -p no:cacheprovider

test-browser: $(STAMP) ## Browser tests in headless Chromium (installs Debian's chromium if missing)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/pytest -q -m browser -p no:cacheprovider

test-services: $(STAMP) ## The suite on PostgreSQL with a live Celery worker (needs DATABASE_URL, CELERY_BROKER_URL)
	$(BIN)/pytest -q -m "not browser and not replica" -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy, the import contracts, no missing migration, a clean OpenAPI description
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BENCH_STAMP) ## HTTP benchmarks on PostgreSQL with wrk, and introspection's floor (DATABASE_URL; ~15 min); docs/benchmarks/serving.*
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(BIN)/python bench/serving.py

bench-core: $(STAMP) ## The consent core's benchmarks (log appends, integrator, proofs); results-<database>.json
	$(BIN)/python bench/run.py

bench-scale: $(BENCH_STAMP) ## Regulator, dashboard and decisions as the log grows (BENCH_SCALE_SIZES); scale.json, PNGs
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/plots.py

bench-profile: $(BENCH_STAMP) ## py-spy over pages on the bench-scale database: PROFILE_URLS, PROFILE_TIMES
	$(BIN)/py-spy record --format raw --output docs/benchmarks/profile-pages.txt -- \
	    $(BIN)/python bench/scale.py --profile $${PROFILE_TIMES:-30} $${PROFILE_URLS:-/consents/}

clean: ## Remove the embedded database, keys, broker folder and caches (not .venv)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis
