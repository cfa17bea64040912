# Two commands do everything: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test unit nbval notebooks bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

test: $(STAMP)
	$(BIN)/python -m pytest tests
	@bash .ci/nbval.sh $(BIN)

unit: $(STAMP)
	$(BIN)/python -m pytest tests

notebooks: $(STAMP)
	$(BIN)/python -m gradcourse.tools.run_notebooks chapters solutions

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
