# The two commands: `make run` (start the app) and `make test` (lint + the whole suite).
# Both create the virtualenv and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
HOST ?= localhost

.PHONY: run test lint format system-deps bench clean kit

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Chromium for the end-to-end tests, and Fashion-MNIST's original files (Debian packages).
system-deps:
	@command -v chromium >/dev/null 2>&1 && test -d /usr/share/datasets/fashion-mnist || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-color-emoji dataset-fashion-mnist >/dev/null; \
	  else echo "Install Chromium (the browser tests need it at /usr/bin/chromium or set CHROMIUM=path)."; fi; }

# MALLOC_ARENA_MAX=2: glibc's limit on malloc arenas must be set before the server's first thread
# starts; a 10-browser classroom then grows the server by about half as much (BENCHMARKS.md).
run: $(VENV)/.installed
	MALLOC_ARENA_MAX=2 $(PY) -m streamlit run explorer_app.py --server.address $(HOST) --server.port $(PORT)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(VENV)/.dev-installed system-deps lint
	$(PY) -m pytest -q

# The lesson kit in checkpoints/kit/ (vae/kit.py): six small models, each about a minute of one core,
# trained again from scratch (the files in the repo are replaced).
kit: $(VENV)/.installed
	$(PY) -m vae kit --overwrite

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
