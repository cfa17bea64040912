# Two commands do everything: `make lab` opens the course, `make test` checks it.
# Both create .venv (with the python3 on PATH) and install the project into it when needed.
PYTHON    ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed-stamp
NOTEBOOKS  = $(wildcard chapters/*.ipynb solutions/*.ipynb)
NBVAL     := --nbval --nbval-current-env --nbval-sanitize-with .ci/nbval-sanitize.cfg \
             --nbval-cell-timeout 300

.PHONY: lab test unit nbval notebooks bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## lab: open JupyterLab on the chapters
lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

## test: unit tests, then every chapter and solution notebook under nbval
test: $(STAMP)
	$(BIN)/python -m pytest tests $(if $(NOTEBOOKS),$(NBVAL) $(NOTEBOOKS))

## unit: the unit tests only
unit: $(STAMP)
	$(BIN)/python -m pytest tests

## nbval: the notebooks only
nbval: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) $(NOTEBOOKS)

## notebooks: re-execute every notebook in place, so the stored outputs match the code
notebooks: $(STAMP)
	$(BIN)/python .ci/run_notebooks.py $(NOTEBOOKS)

## bench: the autograd benchmark against hand-written numpy
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
