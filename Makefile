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

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m uvicorn --app-dir examples/hello app:app.asgi --host 127.0.0.1 --port 5000 --reload --reload-dir examples/hello --reload-dir src/erlen

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
