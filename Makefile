# The two commands: `make run` (set up and start the console) and `make test` (lint + suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format install migrate seed bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the lock file changes.
# pip's own progress (no --quiet): the first install takes a while and should look alive.
$(VENV)/.installed: requirements.lock | $(BIN)/python
	@echo "Installing the locked dependencies into $(VENV)…"
	$(BIN)/pip install --progress-bar on -r requirements.lock
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# runconsole prints the sign-in URL and the demo credentials once the server answers.
run: migrate
	$(BIN)/python manage.py seed_demo --quiet
	$(BIN)/python manage.py runconsole --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: migrate
	$(BIN)/python -m bench

soak: migrate
	$(BIN)/python -m bench.soak

clean:
	rm -rf var/broker var/test-*.sqlite3
