# Two commands do everything: `make lab` opens the course, `make test` checks it.
# Both create .venv (with the python3 on PATH) and install the project into it when needed.
PYTHON    ?= python3
# The course's matrices are small: one BLAS thread per process is faster than two fighting
export OPENBLAS_NUM_THREADS ?= 1
# Stored notebook outputs must not depend on which x86-64 machine runs them. OpenBLAS and numpy
# choose SIMD kernels by CPU (AVX-512 on some Intel and AMD machines, AVX2 on others); their
# rounding differs in the last bit, and a training run amplifies that into a different printed
# number. Pin both to the AVX2 kernels, which every current x86-64 machine has.
ifeq ($(shell uname -m),x86_64)
export OPENBLAS_CORETYPE ?= Haswell
export NPY_DISABLE_CPU_FEATURES ?= X86_V4 AVX512_ICL AVX512_SPR
endif
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed-stamp
NOTEBOOKS  = $(wildcard chapters/*.ipynb solutions/*.ipynb)
NBVAL     := --nbval --nbval-current-env --nbval-sanitize-with .ci/nbval-sanitize.cfg \
             --nbval-cell-timeout 300

.PHONY: lab test unit nbval notebooks exercises bench clean test-browser chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	touch $(STAMP)

## lab: open JupyterLab on the course's start page, with the course's settings (jupyter/):
## prose at a readable width, no news pop-up; exercises/ and solutions/ reachable from the file browser
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB        = JUPYTER_CONFIG_DIR=$(CURDIR)/jupyter $(BIN)/jupyter lab --LabApp.custom_css=True \
             --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)
$(LAB_SETTINGS): jupyter/overrides.json $(STAMP)
	mkdir -p $(dir $@) && cp $< $@

lab: $(STAMP) $(LAB_SETTINGS)
	$(LAB) chapters/00_start_here.ipynb

## test: unit tests, then every chapter and solution notebook under nbval
## (three workers on CI's two cores: the browser tests spend much of their time waiting for a kernel
## or for Chromium, and a third worker runs the rest meanwhile; measured 357 s against 454 s with two)
test: $(STAMP)
	$(BIN)/python -m pytest -n 3 --dist loadscope tests $(if $(NOTEBOOKS),$(NBVAL) $(NOTEBOOKS))

## unit: the unit tests only
unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/browser

## nbval: the notebooks only
nbval: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) $(NOTEBOOKS)

## notebooks: re-execute every notebook in place, so the stored outputs match the code
notebooks: $(STAMP)
	$(BIN)/python .ci/run_notebooks.py $(NOTEBOOKS)

## test-browser: every chapter run in JupyterLab by headless Chromium, each explorer moved and redrawn
## (installs Debian's chromium first when it is missing and we are root; screenshots: tests/browser/screenshots/)
test-browser: $(STAMP) chromium
	GRADCOURSE_BROWSER_TESTS=required GRADCOURSE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser

## chromium: make sure Debian's Chromium is at $(CHROMIUM) (apt-get as root; otherwise say what to install)
CHROMIUM  ?= /usr/bin/chromium
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM). Install it as root:" \
		     "apt-get update && apt-get install -y chromium (Debian/Ubuntu)," \
		     "or set CHROMIUM=/path/to/chromium." >&2; \
		exit 1; \
	fi

## exercises: write the student notebooks in exercises/ from solutions/
exercises: $(STAMP)
	$(BIN)/gradcourse exercises build --source solutions --dest exercises

## bench: the autograd benchmark against hand-written numpy
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py
	$(BIN)/python benchmarks/bench_explorers.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
