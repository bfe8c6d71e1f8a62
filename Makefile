# The two commands of the README:
#   make run    set everything up and run the demo on the embedded defaults (SQLite, local sandbox)
#   make test   install what the tests need and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-sqlite lint bench clean

run: $(VENV)/.installed
	$(BIN)/tracker demo

# The whole suite on SQLite, then again on PostgreSQL (a throwaway server the tests start).
test: $(VENV)/.installed-test
	./scripts/ensure-system-packages.sh chromium fonts-wqy-zenhei
	$(BIN)/python -m pytest -q
	TRACKER_TEST_DB=postgresql $(BIN)/python -m pytest -q

test-sqlite: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every bench prints `BENCH <name> <ratio> <target> <ok|MISS>`; bench/report.py runs each command below, then
# writes one table of those lines to docs/performance.md with the machine it ran on. Add a bench: one quoted
# command more here.
BENCHES ?= "bench/import.py --scale full" "bench/ingest.py --scale full" "bench/push.py --scale full" \
	"bench/poll.py --scale full"
bench: $(VENV)/.installed-test
	$(BIN)/python bench/report.py --out docs/performance.md $(BENCHES)

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
