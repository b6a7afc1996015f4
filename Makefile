# Two commands do everything on a fresh machine:
#   make book   creates .venv, installs, builds the HTML book into _build/html
#   make test   same set-up, then unit tests, nbval on every notebook, the book with -W, the browser test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run two workers side by side on two cores: one BLAS thread each avoids oversubscription.
PYTEST := OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest
NOTEBOOKS = $(shell $(BIN)/python scripts/toc_notebooks.py)
export CNNCOURSE_DATA ?= $(abspath ../shared/data)
# Keep TensorFlow quiet and deterministic on CPU.
export TF_CPP_MIN_LOG_LEVEL ?= 3
export TF_ENABLE_ONEDNN_OPTS ?= 0
export PYTHONHASHSEED ?= 0

.PHONY: book test unit notebooks book-strict site lab student bench clean execute times

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cnncourse)" > /dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build --keep-going .
	@echo "Open $(abspath _build/html/index.html) in a browser."

test: $(STAMP)
	$(PYTEST) -n 2 --dist loadfile -m "not browser" tests
	$(PYTEST) --nbval-lax --nbval-current-env -n 2 --dist loadfile -p no:cacheprovider $(NOTEBOOKS)
	$(MAKE) book-strict
	$(PYTEST) -m browser tests

unit: $(STAMP)
	$(PYTEST) -n 2 --dist loadfile -m "not browser" tests

notebooks: $(STAMP)
	$(PYTEST) --nbval-lax --nbval-current-env -n 2 --dist loadfile -p no:cacheprovider $(NOTEBOOKS)

# Warnings are errors: a broken reference or a missing figure fails the build.
book-strict: $(STAMP)
	rm -rf _build/html _build/.doctrees
	$(BIN)/jupyter-book build -W --keep-going .

site: $(STAMP)
	$(PYTEST) -m browser tests

# Re-execute notebooks in place (after the code they show changes): make execute NB=chapters/03_convolution.ipynb
execute: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $(or $(NB),$(NOTEBOOKS))

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

student: $(STAMP)
	$(BIN)/python scripts/make_student.py --out student

times: $(STAMP)
	$(BIN)/python scripts/time_notebooks.py

bench: $(STAMP)
	$(BIN)/python -m cnncourse.bench

clean:
	rm -rf _build student .pytest_cache
