# Two commands do everything on a fresh machine:
#   make book   creates .venv, installs, builds the HTML book into _build/html (and its Chinese edition into _build/html/zh)
#   make test   same set-up, then unit tests, nbval on every notebook, the book with -W, the browser test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run two workers side by side on two cores: one BLAS thread each avoids oversubscription.
PYTEST := OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest
# nbval re-executes every notebook: checked outputs must match, and every assert must hold.
NBVAL := $(PYTEST) --nbval-lax --nbval-current-env -n 2 --dist loadfile -p no:cacheprovider
NOTEBOOKS = $(shell $(BIN)/python scripts/toc_notebooks.py)
export CNNCOURSE_DATA ?= $(abspath ../shared/data)
# Keep TensorFlow quiet and deterministic on CPU.
export TF_CPP_MIN_LOG_LEVEL ?= 3
export TF_ENABLE_ONEDNN_OPTS ?= 0
export PYTHONHASHSEED ?= 0

.PHONY: book test test-robust unit notebooks book-strict site lab student student-zh bench clean execute times repository

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cnncourse)" > /dev/null
	touch $(STAMP)

# Both editions: English in _build/html, Chinese (from i18n/zh/) in _build/html/zh.
book: $(STAMP)
	$(BIN)/python scripts/build_book.py
	@echo "Open $(abspath _build/html/index.html) in a browser (中文: $(abspath _build/html/zh/index.html))."

test: $(STAMP)
	$(PYTEST) -n 2 --dist loadfile -m "not browser" tests
	$(NBVAL) $(NOTEBOOKS)
	$(MAKE) book-strict
	$(PYTEST) -m browser tests

# The robustness run: every notebook again with every seed shifted (cnncourse.set_seed adds
# CNNCOURSE_SEED_OFFSET). Every assert must hold, so no chapter claims what one lucky seed showed.
ROBUST_SEED_OFFSET ?= 100
test-robust: $(STAMP)
	CNNCOURSE_SEED_OFFSET=$(ROBUST_SEED_OFFSET) $(NBVAL) $(NOTEBOOKS)

unit: $(STAMP)
	$(PYTEST) -n 2 --dist loadfile -m "not browser" tests

notebooks: $(STAMP)
	$(NBVAL) $(NOTEBOOKS)

# Warnings are errors: a broken reference or a missing figure fails the build.
book-strict: $(STAMP)
	$(BIN)/python scripts/build_book.py -W --clean

site: $(STAMP)
	$(PYTEST) -m browser tests

# Re-execute notebooks in place (after the code they show changes): make execute NB=chapters/03_convolution.ipynb
execute: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $(or $(NB),$(NOTEBOOKS))

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

student: $(STAMP)
	$(BIN)/python scripts/make_student.py --out student

# The student edition in Chinese (the markdown of i18n/zh/), in student-zh/.
student-zh: $(STAMP)
	$(BIN)/python scripts/make_student.py --out student-zh --language zh

times: $(STAMP)
	$(BIN)/python scripts/time_notebooks.py

# Scratch vs Keras speed (issues 14, 23); e.g. make bench BENCH_ARGS="--profile" or "--blas-threads 1".
# Keras as users run it: TensorFlow reads TF_ENABLE_ONEDNN_OPTS at import, so the bench does not inherit
# the =0 above (it times oneDNN off too, labelled, in a child process).
bench: $(STAMP)
	env -u TF_ENABLE_ONEDNN_OPTS $(BIN)/python -m cnncourse.bench $(BENCH_ARGS)

# The repository URL lives in _config.yml; this rewrites every place that repeats it
# (README badges, CITATION.cff, the instructors' guide, each chapter's setup cell, and so the
# Chinese notebooks under zh/, regenerated from the chapters):
#   make repository URL=https://github.com/OWNER/cnncourse
repository: $(STAMP)
	test -n "$(URL)" || { echo "usage: make repository URL=https://github.com/OWNER/cnncourse" >&2; exit 2; }
	$(BIN)/python scripts/set_repository.py "$(URL)"
	$(BIN)/python scripts/translations.py notebooks

clean:
	rm -rf _build student student-zh .pytest_cache
