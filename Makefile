# Two commands do everything: `make lab` opens the course, `make test` checks it.
# Both create .venv (with the python3 on PATH) and install the project into it when needed.
# `make lab` serves the student's working copy, my-work/ (`make refresh` updates it after a pull).
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
EXTRAS    := dev,browser
NOTEBOOKS  = $(wildcard chapters/*.ipynb solutions/*.ipynb)
NBVAL     := --nbval --nbval-current-env --nbval-sanitize-with .ci/nbval-sanitize.cfg \
             --nbval-cell-timeout 300

.PHONY: lab work refresh test unit nbval notebooks exercises bench clean test-browser chromium book test-book \
        reference

## The set-up (the first `make lab` or `make test`): one line per step on the terminal, everything
## pip and venv print in $(SETUP_LOG); a failing step shows the log's last 30 lines and stops make.
SETUP_LOG := $(VENV)/install.log
define setup_step
	@echo "$(1) (log: $(SETUP_LOG))"; \
	{ echo; echo "=== $$(date '+%F %T') $(1)"; $(2); } >>'$(SETUP_LOG)' 2>&1 || { status=$$?; \
	  echo "FAILED: $(1). The last 30 lines of $(SETUP_LOG):" >&2; tail -n 30 '$(SETUP_LOG)' >&2; \
	  echo "FAILED: $(1) (exit status $$status); the whole log: $(SETUP_LOG)" >&2; exit 1; }
endef

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { echo "gradcourse" \
	  "needs Python 3.10 or newer, and $(PYTHON) is $$($(PYTHON) --version 2>&1 | head -n 1):" \
	  "name another, e.g. make lab PYTHON=python3.12" >&2; exit 1; }
	@mkdir -p $(VENV) && : >'$(SETUP_LOG)'
	$(call setup_step,creating $(VENV) with $$($(PYTHON) --version 2>&1),$(PYTHON) -m venv $(VENV) || { rm -f $@; false; })

$(STAMP): $(BIN)/python pyproject.toml
	$(call setup_step,upgrading pip in $(VENV),$(BIN)/python -m pip install --upgrade --disable-pip-version-check pip)
	$(call setup_step,installing gradcourse and its extras [$(EXTRAS)],$(BIN)/python -m pip install --disable-pip-version-check -e ".[$(EXTRAS)]")
	@touch $@
	@echo "$(VENV) is ready"

## reference: PyTorch in $(VENV), so that the comparison tests against it run (tests/test_reference_*.py,
## tests/test_properties_*.py, and the torch cases of the others; without torch they skip). CI runs it.
## TORCH pins the release: pip takes it from a local wheel where there is one (CI's machine has
## 2.13.0's CPU build); a newer release, or no pin, would bring PyPI's default build, several GB of
## CUDA libraries on Linux. Elsewhere: make reference TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH           ?= torch==2.13.0
TORCH_INDEX     ?=
REFERENCE_STAMP := $(VENV)/.reference-stamp
$(REFERENCE_STAMP): $(STAMP)
	$(call setup_step,installing PyTorch ($(TORCH)$(if $(TORCH_INDEX), from $(TORCH_INDEX))),$(BIN)/python \
	  -m pip install --disable-pip-version-check $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) '$(TORCH)')
	$(call setup_step,installing the extra [reference] (satisfied by that torch),$(BIN)/python \
	  -m pip install --disable-pip-version-check -e ".[reference]")
	@touch $@

reference: $(REFERENCE_STAMP)

## work: your working copy, $(WORK)/ (git-ignored): chapters/ and exercises/ copied from the course
## the first time, and never overwritten, so that your runs and edits never touch the tracked
## notebooks and `git pull` never conflicts. A folder missing from it is copied again.
WORK        ?= my-work
WORK_DIRS   := chapters exercises
START_PAGE  := chapters/00_start_here.ipynb
# a checksum of the course's own notebooks (names and contents), recorded when the copy is made
COURSE_SUM   = find $(WORK_DIRS) -type f ! -path '*/.ipynb_checkpoints/*' ! -path '*/__pycache__/*' \
               -exec cksum {} + | LC_ALL=C sort | cksum
work:
	@mkdir -p '$(WORK)'; copied=; \
	for dir in $(WORK_DIRS); do \
	  if [ ! -e '$(WORK)'/$$dir ]; then \
	    cp -R $$dir '$(WORK)'/ || exit 1; \
	    find '$(WORK)'/$$dir \( -name .ipynb_checkpoints -o -name __pycache__ \) -prune -exec rm -rf {} +; \
	    copied="$$copied $$dir/"; \
	  fi; \
	done; \
	if [ -n "$$copied" ]; then \
	  $(COURSE_SUM) >'$(WORK)/.course-version'; \
	  echo "copied$$copied into $(WORK)/, your working copy: run and edit the notebooks there" \
	       "(git ignores it; \`make refresh\` brings in a course update)"; \
	elif [ "$$($(COURSE_SUM))" != "$$(cat '$(WORK)/.course-version' 2>/dev/null)" ]; then \
	  echo "The course's notebooks have changed since $(WORK)/ was copied: \`make refresh\` brings" \
	       "them in (your copies are moved aside, not deleted)"; \
	fi

## refresh: the course's current chapters/ and exercises/ into $(WORK)/ (say, after a `git pull`).
## Your copies are moved, not deleted, to $(WORK)/before-refresh-<date>-<time>/, which the lab's
## file browser shows next to the new ones; nothing else in $(WORK)/ is touched. Close the lab first.
refresh:
	@[ -x $(BIN)/jupyter ] || exit 0; \
	for info in "$$($(BIN)/jupyter --runtime-dir)"/jpserver-*.json; do \
	  pid=$${info##*/jpserver-}; pid=$${pid%.json}; \
	  if grep -q '"root_dir": "$(abspath $(WORK))"' "$$info" 2>/dev/null && kill -0 "$$pid" 2>/dev/null; then \
	    echo "JupyterLab (pid $$pid) is serving $(WORK)/: stop it first (Ctrl-C in its terminal)," \
	         "then make refresh" >&2; exit 1; \
	  fi; \
	done
	@same=yes; for dir in $(WORK_DIRS); do \
	  diff -r -q -x .ipynb_checkpoints -x __pycache__ $$dir '$(WORK)'/$$dir >/dev/null 2>&1 || same=; \
	done; \
	if [ -n "$$same" ]; then $(COURSE_SUM) >'$(WORK)/.course-version'; \
	  echo "$(WORK)/ already holds the course's current $(WORK_DIRS): nothing to refresh"; exit 0; fi; \
	old='$(WORK)'/before-refresh-$$(date +%Y%m%d-%H%M%S); \
	while [ -e "$$old" ]; do sleep 1; old='$(WORK)'/before-refresh-$$(date +%Y%m%d-%H%M%S); done; \
	for dir in $(WORK_DIRS); do \
	  if [ -e '$(WORK)'/$$dir ]; then mkdir -p "$$old" && mv '$(WORK)'/$$dir "$$old"/ || exit 1; fi; \
	done; \
	if [ -d "$$old" ]; then echo "moved your copies of $(WORK_DIRS) to $$old/ (nothing deleted)"; fi
	@$(MAKE) --no-print-directory work WORK='$(WORK)'

## lab: open JupyterLab on your working copy, $(WORK)/ (its root: chapters/ and exercises/ side by
## side), on the start page, with the course's settings (jupyter/): prose at a readable width, no news
## pop-up, custom CSS on, nbgrader's instructor extensions off (server: jupyter_server_config.json;
## lab: labconfig/page_config.json)
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB        = JUPYTER_CONFIG_DIR=$(CURDIR)/jupyter $(BIN)/jupyter lab \
             --ServerApp.root_dir=$(abspath $(WORK)) $(if $(filter 0,$(shell id -u)),--allow-root)
$(LAB_SETTINGS): jupyter/overrides.json $(STAMP)
	@mkdir -p $(dir $@) && cp $< $@

lab: $(STAMP) $(LAB_SETTINGS) work
	@echo "opening JupyterLab on $(WORK)/$(START_PAGE) (stop it with Ctrl-C, twice)"
	$(LAB) $(abspath $(WORK))/$(START_PAGE)

## test: unit tests, then every chapter and solution notebook under nbval (the longest first: the
## browser tests, then the notebooks, so that the many short unit tests fill the workers' last minutes)
## (three workers on CI's two cores: the browser tests spend much of their time waiting for a kernel
## or for Chromium, and a third worker runs the rest meanwhile; measured 357 s against 454 s with two)
test: $(STAMP)
	$(BIN)/python -m pytest -n 3 --dist loadscope tests/browser $(if $(NOTEBOOKS),$(NBVAL) $(NOTEBOOKS)) tests \
	  --ignore=$(BOOK_TESTS)

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
	GRADCOURSE_BROWSER_TESTS=required GRADCOURSE_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser \
	  --ignore=$(BOOK_TESTS)

## book: the course as a static website in build/book/ (Sphinx + myst-nb, from the committed notebooks,
## never re-executed; no solutions; MathJax served from the site): open build/book/index.html
BOOK_STAMP := $(VENV)/.book-stamp
BOOK_TESTS := tests/browser/book
$(BOOK_STAMP): $(STAMP)
	$(call setup_step,installing the website's tools [book],$(BIN)/python -m pip install --disable-pip-version-check -e ".[book]")
	@touch $@

book: $(BOOK_STAMP)
	$(BIN)/python book/build.py build/book

## test-book: build the website, then open its index and every chapter page in headless Chromium
## (no console error, no request beyond localhost, maths rendered, every image loaded, a link to the
## next chapter; screenshots in tests/browser/screenshots/book/)
test-book: book chromium
	GRADCOURSE_BROWSER_TESTS=required GRADCOURSE_CHROMIUM=$(CHROMIUM) GRADCOURSE_BOOK=build/book \
	  $(BIN)/python -m pytest $(BOOK_TESTS)

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

## bench: a training step against the same step in hand-written numpy (ratio, microseconds per graph node), then the explorers' latency
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py
	$(BIN)/python benchmarks/bench_explorers.py

## clean: remove what the set-up built (never $(WORK)/, which holds the student's work)
clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
