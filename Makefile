# Every target sets up .venv itself, so each works on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed

.PHONY: demo test lint format docs bench bench-quick clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, from the pinned CPU wheel: a bare "torch" would pull the CUDA build.
	$(PIP) install -c constraints.txt torch 2>&1 | grep -v "is ignored" || true
	$(PIP) install -c constraints.txt -e ".[text,test,docs,bench,distributed,tabular]" 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import sk_mtl, torch, skorch, sklearn"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check sk_mtl tests benchmarks examples docs conftest.py
	$(PY) -m ruff format --check sk_mtl tests benchmarks examples docs conftest.py
	# The layer map: import contracts in pyproject.toml ([tool.importlinter]).
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest

format: $(STAMP)
	$(PY) -m ruff format sk_mtl tests benchmarks examples docs conftest.py
	$(PY) -m ruff check --fix sk_mtl tests benchmarks examples docs conftest.py

# Benchmarks on the real data in ../shared/data (or SK_MTL_DATA=/path); see benchmarks/.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(PY) -m benchmarks.run --quick $(BENCH_ARGS)

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
