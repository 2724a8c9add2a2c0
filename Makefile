# One-command set-up on a fresh machine: every target creates .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of PyTorch (an unpinned torch pulls a multi-GB CUDA build).
TORCH ?= torch==2.13.0

.PHONY: demo test lint format examples schema clean

# The demo needs TensorFlow only; the tests need JAX and PyTorch too. Either
# stamp says what is installed; the full install satisfies the demo as well.
DEMO_STAMP := $(VENV)/.installed-demo

$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[keras]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,jax]' '$(TORCH)'
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)  ## Generate a layer from a shipped example spec and run its tests.
	rm -rf demo_out
	$(BIN)/layergen new generated_examples/specs/simple_dense.toml -o demo_out
	@echo "---- demo_out/simple_dense.py (first 60 lines) ----"
	@head -n 60 demo_out/simple_dense.py

test: $(STAMP)  ## Lint, then the whole test suite.
	$(BIN)/ruff check layergen tests tools benchmarks
	$(BIN)/black --check --quiet layergen tests tools benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check layergen tests tools benchmarks
	$(BIN)/black --check layergen tests tools benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix layergen tests tools benchmarks
	$(BIN)/black layergen tests tools benchmarks

examples: $(STAMP)  ## Regenerate generated_examples/ from their specs.
	$(BIN)/layergen new --force --no-test -o generated_examples generated_examples/specs/*.toml

schema: $(DEMO_STAMP)  ## Regenerate the shipped JSON Schema and docs/spec.md from layergen/spec/tables/.
	$(BIN)/layergen schema -o layergen/data/spec.schema.json
	$(BIN)/layergen schema --format markdown -o docs/spec.md

clean:
	rm -rf $(VENV) demo_out build dist .pytest_cache
