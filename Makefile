# `make lab`: set everything up and start JupyterLab with a local cluster, on the workshop's lessons.
# `make test`: set everything up and run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.raiden-installed

.PHONY: lab test bench clean extension

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lab: $(STAMP)
	$(BIN)/raiden lab --workshop

test: $(STAMP)
	$(BIN)/python -m pytest

BENCH_STAMP := $(VENV)/.raiden-bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# Prints tables of ratios; figures go to benchmarks/results/*.json for later comparison.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_map.py
	$(BIN)/python benchmarks/bench_kernels.py
	$(BIN)/python benchmarks/bench_cache.py
	$(BIN)/python benchmarks/bench_agent.py
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python benchmarks/bench_startup.py && $(BIN)/python benchmarks/bench_launchers.py; \
	else echo "bench_startup, bench_launchers: need root for the virtual Pi cluster and Slurm; skipped"; fi

# Rebuild the JupyterLab extension (needs Node.js; its output in raiden_lab/labextension is committed).
extension: $(STAMP)
	cd extension && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm install && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm run build
	cp extension/install.json raiden_lab/labextension/install.json
	$(BIN)/python -m pip install --quiet --no-deps -e .

clean:
	rm -rf $(VENV) .pytest_cache test-output
