# Every target creates the virtualenv and installs iwtui into it when needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench bench-memory screenshots clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "iwtui needs Python >= 3.11 (set PYTHON=...)"; exit 2; }
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,dev]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c 'import iwtui.cli, textual, pytest' # fail here if the install did not work
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/iwtui demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/run.py

# the console's RSS over an hour of the demo (IWTUI_BENCH_MEMORY_MIN minutes)
bench-memory: $(STAMP)
	$(PY) bench/bench_memory.py

screenshots: $(STAMP)
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
