# Every target sets itself up: a fresh machine needs only python3 (>= 3.10) and a C compiler.
# `make demo` installs abidiff and its runtime dependencies only; the other targets add the
# test extras (pytest, the zig toolchain for the binary fixtures, linters, actionlint, ...).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-stamp
TEST_STAMP := $(VENV)/.test-stamp

.PHONY: demo test bench lint regen

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP) $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(PY) scripts/demo.py

test: $(TEST_STAMP)
	$(PY) -m pytest

bench: $(TEST_STAMP)
	$(PY) scripts/bench.py

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/mypy

regen: $(TEST_STAMP)
	$(PY) scripts/regen.py
