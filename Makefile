# tradingSim: `make run` serves the platform, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test install install-dev migrate lint format bench lambda-package clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo

## run: install, migrate, load the demo, and serve everything on 127.0.0.1:$(PORT) (Ctrl-C stops it)
run: migrate
	$(PY) manage.py serve --port $(PORT)

## test: install, start PostgreSQL and Redis, run the whole suite, then the embedded SQLite pass
test: install-dev
	$(PY) scripts/run_tests.py

lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lambda-package: install
	$(PY) lambda/build_package.py

clean:
	rm -rf var build .pytest_cache .ruff_cache
