# The hotline's everyday commands. Every target does its own set-up (`install` is idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export HOTLINE_DATA_DIR ?= var

.PHONY: install system-packages browser-packages demo test serve bench lint clean screenshots

install: system-packages $(STAMP)

# Debian packages the project needs: espeak-ng (prompts and the emulator's speech) and, for
# Debian's own Python, python3-venv. Installed with apt when missing; a clear error otherwise.
APT_PACKAGES = $(shell command -v espeak-ng >/dev/null 2>&1 || echo espeak-ng) \
               $(shell $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1 || echo python3-venv)
# The console's browser tests drive Debian's Chromium through its matching ChromeDriver (no downloads).
BROWSER_PACKAGES = $(shell command -v chromium >/dev/null 2>&1 || echo chromium) \
                   $(shell command -v chromedriver >/dev/null 2>&1 || echo chromium-driver)

system-packages:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(strip $(APT_PACKAGES))"

browser-packages:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(strip $(BROWSER_PACKAGES))"

.PHONY: apt-install
apt-install:
	@missing="$(PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then sudo="sudo"; \
	  else \
	    echo "error: missing $$missing and no apt-get here; install them with your package manager" >&2; \
	    exit 1; \
	  fi; \
	  echo "Installing $$missing with apt-get..."; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11 or later is required (found $$($(PYTHON) --version))" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/hotline demo --port $(PORT)

test: install browser-packages
	$(BIN)/python -m pytest -n 2 -q

serve: install
	$(BIN)/hotline db upgrade
	$(BIN)/hotline serve --host $(HOST) --port $(PORT)

screenshots: install browser-packages
	HOTLINE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:xdist tests/console/test_browser.py -k sqlite

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache

lint: install
	$(BIN)/ruff check .
