# Payung: `make run` serves the seeded site on http://127.0.0.1:5000; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := PAYUNG_ENV=development $(BIN)/flask --app app
# Two workers: this machine has two cores. Override with `make test PYTEST_ARGS=...`.
PYTEST_ARGS ?= -n 2

.PHONY: run test install system-deps translations lint format check-migrations migration clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Debian packages the browser tests need (Chromium driven by Playwright). Installed only when
# missing; needs root (as on CI) or sudo.
system-deps:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@command -v wrk >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; }

translations: install
	$(BIN)/python -m i18n compile

run: install translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	PAYUNG_ENV=development $(BIN)/python -m devtools.run_dev

test: install system-deps translations
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache  # layers and no cycles: [tool.importlinter] in pyproject.toml
	$(BIN)/bandit --quiet --recursive . --exclude ./.venv,./tests,./bench --severity-level high

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Upgrade an empty database from the migrations, then check that the models agree with them.
check-migrations: install
	$(BIN)/python -m devtools.check_migrations

# After changing models: make migration m="what changed"
migration: install
	$(BIN)/python -m devtools.check_migrations --generate "$(m)"

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache .ruff_cache
