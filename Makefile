# Two commands do all set-up on a fresh machine: `make study` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup study test test-all lint clean-studies report-replay replay-table dashboard

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; plain pip (the torch wheels come from local disk).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

study: setup
	$(PY) -m hpo.study $(ARGS)

# The developer's loop: every test but `slow` ones (pyproject.toml); with CI=true (as .ci/run
# runs it) every test, slow ones included.
ALL_IN_CI := $(if $(filter true,$(CI)),-m '',)
test: setup
	$(PY) -m pytest -q $(ALL_IN_CI) $(ARGS)

# Every test, slow ones included, on any machine.
test-all: setup
	$(PY) -m pytest -q -m '' $(ARGS)

lint: setup
	$(VENV)/bin/ruff check hpo tests benchmarks
	$(VENV)/bin/ruff format --check hpo tests benchmarks

clean-studies:
	rm -rf studies/*.db studies/*/

# Fair comparison on the shipped replay table: 3 samplers × 10 seeds × 50 trials, then the report.
REPLAY_TABLE := hpo/tables/digits_mnist_cnn.json.gz
report-replay: setup
	$(PY) -m hpo.compare --experiment replay --objective table:$(REPLAY_TABLE) \
		--space conf/spaces/replay.yaml --max-epochs 20 --n-trials 50 --seeds 0-9 \
		--storage journal:///studies/replay.log --workers 2
	$(PY) -m hpo.report --storage journal:///studies/replay.log --experiment replay \
		--out reports/replay

# Rebuild the replay table with real fits (7 optimizers × 24 LRs × 2 repeats; resumable).
replay-table: setup
	$(PY) -m hpo.replay build --out $(REPLAY_TABLE) --max-epochs 20

# optuna-dashboard on 127.0.0.1:8080 with the artifact store; ARGS="--storage URL --port P"
dashboard: setup
	$(PY) -m hpo.dashboard $(ARGS)
