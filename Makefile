# Two commands for a fresh clone (see README): `make report` and `make test`.
# Each creates .venv on first use and installs rnnlab into it. torch is pinned
# here, not in pyproject.toml (which asks for torch>=2.4), so that pip takes the
# CPU build that lies on this machine's disk instead of a multi-GB CUDA build;
# override with `make test TORCH=torch==2.6.0` or similar elsewhere.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin

.PHONY: report test bench-full
report: $(VENV)/.installed
	$(BIN)/rnnlab bench --quick --out bench-out

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

bench-full: $(VENV)/.installed
	$(BIN)/rnnlab bench --out bench-out

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[dev]"
	touch $@
