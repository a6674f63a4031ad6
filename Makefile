# `make lab`: set everything up and start JupyterLab with a local cluster.
# `make test`: set everything up and run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.raiden-installed

.PHONY: lab test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lab: $(STAMP)
	$(BIN)/raiden lab

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_agent.py
	$(BIN)/python benchmarks/bench_startup.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
