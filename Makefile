# Set-up on a fresh machine: `make demo` (the main job) and `make test`.
# torch is pinned and installed first: an unpinned request pulls several GB of CUDA wheels.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
SWEEP := demo-$(shell date +%Y-%m-%d_%H-%M-%S)
export WANDB_MODE ?= offline

.PHONY: install demo test test-fast lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) train.py -m experiment=demo sweep_name=$(SWEEP)
	@echo "Runs: multirun/$(SWEEP)/<job>/  Analysis: multirun/$(SWEEP)/analysis/"

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/pairwise.py

clean:
	rm -rf multirun outputs analysis .pytest_cache
