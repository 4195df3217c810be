# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11 is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run test lint bench worker clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, load the demo dataset, serve on :8000 with a background worker
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_load
	$(BIN)/python manage.py serve

## make test: install and run the whole suite
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p labeling -p workbench -p quality

## make bench: benchmarks with figures and ratios against bare baselines (see bench/README.md)
bench: install
	$(BIN)/python bench/run.py

## make worker: a Celery worker alone (production: one or more per machine)
worker: install
	$(BIN)/celery -A workbench worker --loglevel=info

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
