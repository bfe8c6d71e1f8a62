# The two commands of the README:
#   make run    set everything up and run the demo on the embedded defaults (SQLite, local sandbox)
#   make test   install what the tests need and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-sqlite lint bench bench-browser screenshots clean

run: $(VENV)/.installed
	$(BIN)/tracker demo

# Tests run in parallel processes (pytest-xdist; WORKERS=1 for one process), a test file per process
# at a time so module-scoped servers keep their order. One worker more than the machine has cores: many
# tests wait on a subprocess, a server or the browser, and the extra worker keeps the cores busy meanwhile.
# Each pass prints its 25 slowest tests.
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST := $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile --durations=25

# The whole suite on SQLite, then on PostgreSQL (a throwaway server the tests start). The SQLite pass
# starts no PostgreSQL; the PostgreSQL pass runs the tests that need it and everything on PostgreSQL.
test: $(VENV)/.installed-test
	./scripts/ensure-system-packages.sh chromium fonts-wqy-zenhei
	$(PYTEST)
	TRACKER_TEST_DB=postgresql $(PYTEST)

test-sqlite: $(VENV)/.installed-test
	$(PYTEST)

# ruff, then mypy over tracker, claims, spiders and dashboard (pyproject.toml [tool.mypy]): no error allowed,
# the pure core checked strictly.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every bench prints `BENCH <name> <ratio> <target> <ok|MISS>`; bench/report.py runs each command below, then
# writes one table of those lines to docs/performance.md with the machine it ran on. Add a bench: one quoted
# command more here.
BENCHES ?= "bench/import.py --scale full" "bench/ingest.py --scale full" "bench/push.py --scale full" \
	"bench/poll.py --scale full" "bench/board.py --scale full" \
	"bench/rules.py --scale full --open-share 1.0" "bench/rules.py --scale full --open-share 1.0 --db postgresql" \
	"bench/board.py --browser --runs 9" "bench/board.py --browser --scale 1m --runs 9"
bench: $(VENV)/.installed-test
	./scripts/ensure-system-packages.sh chromium fonts-wqy-zenhei postgresql
	$(BIN)/python bench/report.py --out docs/performance.md $(BENCHES)

# Each board page's first render in Chromium (demo scale; SCALE=1m for 1,000,000 parcels: exit 1 over 2 s).
bench-browser: $(VENV)/.installed-test
	./scripts/ensure-system-packages.sh chromium fonts-wqy-zenhei
	$(BIN)/python bench/board.py --browser --scale $(or $(SCALE),demo)

# docs/screenshots/<page>-<desktop|phone>.png from the demo data (README "Screenshots").
screenshots: $(VENV)/.installed-test
	./scripts/ensure-system-packages.sh chromium fonts-wqy-zenhei
	$(BIN)/python bench/screenshots.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) var build *.egg-info
