# The README contract: `make run` and `make test` work on a fresh machine that
# has only Python 3.11 and the package registries.  `.venv` is created on
# demand and re-installed when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck docs bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml examples/blog/pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]' -e examples/blog
	touch $(STAMP)

# The example blog on http://127.0.0.1:5000 through the development server
# (reloads on changes); its SQLite database is created on first run.
run: $(STAMP)
	$(PY) examples/blog/serve.py

test: $(STAMP)
	$(PY) -m pytest
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy --strict src/erlen
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .mypy_cache .ruff_cache

# The benchmarks (bench/README.md), in their own venv so the peers never
# become Erlen's dependencies: `make bench`, `make bench ARGS=--quick`,
# `make bench ARGS=--wire` (needs wrk).
bench:
	test -x bench/.venv/bin/python || $(PYTHON) -m venv bench/.venv
	bench/.venv/bin/python -m pip install --quiet --upgrade pip
	bench/.venv/bin/python -m pip install --quiet -r bench/requirements.txt -e .
	bench/.venv/bin/python -m bench.run $(ARGS)
