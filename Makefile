# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11 is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# What running needs (requirements.txt), and what testing and linting add (requirements-dev.txt).
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
DEV := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install install-dev run test lint bench worker clean

$(RUNTIME): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	rm -f $(VENV)/.runtime-* && touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	rm -f $(VENV)/.dev-* && touch $(DEV)

install: $(RUNTIME)

install-dev: $(DEV)

## make run: install, migrate, load the demo dataset, serve on :8000 (gunicorn + a Celery worker)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_load
	$(BIN)/python manage.py serve

## make test: install (with the test tools) and run the whole suite
test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p labeling -p workbench -p quality

## make bench: benchmarks with figures and ratios against bare baselines (see bench/README.md)
bench: install-dev
	$(BIN)/python bench/run.py

## make worker: a Celery worker alone (production: one or more per machine)
worker: install
	$(BIN)/celery -A workbench worker --loglevel=info

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
