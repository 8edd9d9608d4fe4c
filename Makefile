# Two commands for a fresh clone (see README): `make report` and `make test`.
# Each creates .venv on first use and installs rnnlab into it. torch is pinned
# here, not in pyproject.toml (which asks for torch>=2.4), so that pip takes the
# CPU build that lies on this machine's disk instead of a multi-GB CUDA build;
# override with `make test TORCH=torch==2.6.0` or similar elsewhere.
# `make report` is `rnnlab reproduce --all --quick` (reproduce-out/report.md). The Shakespeare and
# sentiment runs read the repository's data/ unless DATA=DIR names another directory; Fashion-MNIST
# is passed only where it exists (FASHION; Debian's dataset-fashion-mnist), else those runs are skipped.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
FASHION ?= /usr/share/datasets/fashion-mnist
DATA_FLAGS = $(if $(DATA),--data $(DATA)) $(if $(wildcard $(FASHION)),--fashion $(FASHION))

.PHONY: report test bench bench-full reproduce-full
report: $(VENV)/.installed
	$(BIN)/rnnlab reproduce --all --quick $(DATA_FLAGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/rnnlab bench --quick --out bench-out

bench-full: $(VENV)/.installed
	$(BIN)/rnnlab bench --out bench-out

reproduce-full: $(VENV)/.installed
	$(BIN)/rnnlab reproduce --all $(DATA_FLAGS)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[dev]"
	touch $@
