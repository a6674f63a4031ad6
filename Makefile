# `make lab`: set everything up and start JupyterLab with a local cluster, on the workshop's lessons.
# `make test`: set everything up and run the whole suite.
# `make lint`: ruff (Python) and eslint + prettier (TypeScript); CI fails on any finding.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.raiden-installed

.PHONY: lab test check coverage lint format bench clean extension node-deps class docs site-from-tests

# The front end's packages live in a cache outside the clone (a later clone reuses them);
# extension/node_modules is a link to it.
NODE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/raiden-lab/node_modules
JLPM := PATH="$(CURDIR)/$(BIN):$$PATH" jlpm
NODE_STAMP := extension/node_modules/.raiden-installed

# `make lab` installs what the lab needs; the tests' extras (pytest, Playwright, mpi4py, ruff) come
# with `make test` and `make lint` only, so a student's laptop does not download them.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

TEST_STAMP := $(VENV)/.raiden-test-installed
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lab: $(STAMP)
	$(BIN)/raiden lab --workshop

# `sudo make class TEACHER=alice STUDENTS=students.txt`: the room's JupyterHub on port 8000 (see
# notebooks/README.md, "Running a class"); needs configurable-http-proxy from npm on PATH.
HUB_STAMP := $(VENV)/.raiden-hub-installed
$(HUB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[hub]'
	touch $@

class: $(HUB_STAMP)
	@test -n "$(TEACHER)" || { echo "make class: give the teacher's account, e.g. make class TEACHER=alice STUDENTS=students.txt"; exit 2; }
	$(BIN)/raiden class hub --self-signed --teacher "$(TEACHER)" $(if $(STUDENTS),--users "$(STUDENTS)")

$(NODE_STAMP): extension/package.json extension/yarn.lock | $(STAMP)
	mkdir -p "$(NODE_CACHE)"
	[ -L extension/node_modules ] || { rm -rf extension/node_modules; ln -s "$(NODE_CACHE)" extension/node_modules; }
	cd extension && $(JLPM) install --immutable
	touch $@

node-deps: $(NODE_STAMP)

# Three workers on two cores: most of a test is waiting (SSH, engines registering, a browser);
# each module runs whole on one worker (loadfile: its module-scoped clusters start once), in the
# order tests/conftest.py gives them, the longest first.
TEST_WORKERS ?= 3
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest $(XDIST) --durations=20

# `make check`: the loop for a change, 30 s on the 2-core machine: lint, the tests that start no
# cluster, the exercises' checks, and one local cluster (the quick start run in a real kernel).
# `make test` stays the whole suite, which CI runs.
CHECK_TESTS := tests/test_layout.py tests/test_package.py tests/test_inventory.py tests/test_doctor.py \
	tests/test_agent.py tests/test_frontend.py tests/test_server_authz.py \
	"tests/test_docs.py::test_the_docs_tables_of_settings_are_the_declarations" \
	"tests/test_docs.py::test_the_example_names_only_declared_settings_and_loads" \
	"tests/test_docs.py::test_the_docs_name_only_what_exists" \
	"tests/test_docs.py::test_the_command_and_route_references_are_generated" \
	"tests/test_docs.py::test_the_quick_start_runs_as_written"

check: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile $(CHECK_TESTS)
	$(BIN)/python -m pytest -q tests/test_workshop.py -k "not local and not cluster and not recorded"  # the exercises' checks

# The suite's line coverage of raiden_lab, subprocesses included (the CLI, supervisors, engines on
# this machine; not what runs over SSH as another user or under qemu): test-output/coverage.txt.
coverage: $(TEST_STAMP) $(NODE_STAMP)
	rm -rf test-output/coverage && mkdir -p test-output/coverage && chmod 1777 test-output/coverage
	COVERAGE_FILE=$(CURDIR)/test-output/coverage/.coverage $(BIN)/python -m coverage run -m pytest \
		$(XDIST)
	$(BIN)/python -m coverage combine -q --data-file=test-output/coverage/.coverage test-output/coverage
	$(BIN)/python -m coverage report --data-file=test-output/coverage/.coverage > test-output/coverage.txt
	tail -n 1 test-output/coverage.txt

PY_SOURCES := raiden_lab tests benchmarks notebooks/*/lesson.py docs/*.py

lint: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	cd extension && $(JLPM) lint:check

# Fix what the linters can fix by themselves.
format: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)
	cd extension && $(JLPM) lint

BENCH_STAMP := $(VENV)/.raiden-bench-installed

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# Prints tables of ratios; figures go to benchmarks/results/*.json for later comparison.
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_map.py
	$(BIN)/python benchmarks/bench_kernels.py
	$(BIN)/python benchmarks/bench_cache.py
	$(BIN)/python benchmarks/bench_agent.py
	$(BIN)/python benchmarks/bench_engine_memory.py
	$(BIN)/python benchmarks/bench_transport.py
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python benchmarks/bench_startup.py && $(BIN)/python benchmarks/bench_launchers.py; \
	else echo "bench_startup, bench_launchers: need root for the virtual Pi cluster and Slurm; skipped"; fi

# The documentation site, into docs/_build/html; any warning (a broken link, a bad reference) fails it.
DOCS_STAMP := $(VENV)/.raiden-docs-installed
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

# The site's lessons with the outputs of the lesson tests' last run, and the browser tests' screenshots
# on the pages that show them (docs/fromtests.py): after `make test`.
site-from-tests: $(STAMP)
	$(BIN)/python docs/fromtests.py lessons test-output/lessons docs/lessons
	$(BIN)/python docs/fromtests.py screens test-output docs

# Rebuild the JupyterLab extension (needs Node.js; its output in raiden_lab/labextension is committed).
extension: $(STAMP) $(NODE_STAMP)
	cd extension && $(JLPM) run build
	cp extension/install.json raiden_lab/labextension/install.json
	$(BIN)/python -m pip install --quiet --no-deps -e .

clean:
	rm -rf $(VENV) .pytest_cache test-output docs/_build
