# Two commands do all set-up on a fresh machine: `make study` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup study test test-all lint clean-studies report-replay replay-table dashboard \
	table-5d report-5d

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

# The 5-D table (lr × optimizer × batch size × dropout × width) from real fits: two processes at
# nice 19 fit the design (resumable: run it again to continue; FITS_5D outside the repo), then
# pack the fits, holding 15 % out to measure the surrogate's fidelity. The shipped table: the 96
# corners and the first 12288 Sobol points (N_5D; ~75 min on 2 cores); the GP candidate is left
# out (its cost is cubic in the fits). To grow a table, `hpo replay unpack` its fits into FITS_5D
# first.
TABLE_5D := hpo/tables/digits_5d.json.gz
SPACE_5D := conf/spaces/digits_5d.yaml
FITS_5D  ?= /tmp/hpo-table5d
N_5D     ?= 12288
MODELS_5D := extra_trees,random_forest,knn
table-5d: setup
	for k in 0 1; do nice -n 19 $(PY) -m hpo.replay sample --space $(SPACE_5D) \
		--fits $(FITS_5D) --n $(N_5D) --shard $$k --shards 2 $(ARGS) & done; wait
	$(PY) -m hpo.replay pack --space $(SPACE_5D) --fits $(FITS_5D) --out $(TABLE_5D) \
		--models $(MODELS_5D)

# Nine methods × 20 seeds × 100 trials on the 5-D table, then the report.
METHODS_5D := random,grid,qmc,tpe,tpe_multivariate,cmaes,gp,tpe_hyperband,lr_find
report-5d: setup
	$(PY) -m hpo.compare --experiment table5d --objective table:$(TABLE_5D) \
		--space $(SPACE_5D) --max-epochs 15 --n-trials 100 --seeds 0-19 \
		--methods $(METHODS_5D) --storage journal:///studies/table5d.log --workers 2
	$(PY) -m hpo.report --storage journal:///studies/table5d.log --experiment table5d \
		--out reports/table5d

# optuna-dashboard on 127.0.0.1:8080 with the artifact store; ARGS="--storage URL --port P"
dashboard: setup
	$(PY) -m hpo.dashboard $(ARGS)
