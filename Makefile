# Two commands do all set-up on a fresh machine: `make study` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup study test test-all lint clean-studies dashboard

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; plain pip (the torch wheels come from local disk).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

study: setup
	$(PY) -m hpo.study $(ARGS)

test: setup
	$(PY) -m pytest -q $(ARGS)

test-all: setup
	$(PY) -m pytest -q -m '' $(ARGS)

lint: setup
	$(VENV)/bin/ruff check hpo tests benchmarks
	$(VENV)/bin/ruff format --check hpo tests benchmarks

clean-studies:
	rm -rf studies/*.db studies/*/

# optuna-dashboard on 127.0.0.1:8080 with the artifact store; ARGS="--storage URL --port P"
dashboard: setup
	$(PY) -m hpo.dashboard $(ARGS)
