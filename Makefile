# Set-up on a fresh machine: `make demo` (the main job) and `make test`.
# torch is pinned and installed first: an unpinned request pulls several GB of CUDA wheels.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TORCH := torch==2.13.0
SWEEP := demo-$(shell date +%Y-%m-%d_%H-%M-%S)
export WANDB_MODE ?= offline

.PHONY: install demo test test-fast lint format bench clean

install: $(STAMP)

# The package alone (what the demo needs); the test extras (TensorFlow, reference libraries)
# come on top for make test. Each stamp is remade when pyproject.toml changes.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[test]"
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(PY) train.py -m experiment=demo sweep_name=$(SWEEP)
	@echo "Runs: multirun/$(SWEEP)/<job>/  Analysis: multirun/$(SWEEP)/analysis/"

test: $(TEST_STAMP)
	$(PY) -m pytest -q

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(TEST_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/pairwise.py

clean:
	rm -rf multirun outputs analysis .pytest_cache
