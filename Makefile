# The two commands of README.md: `make lab` opens the collection, `make test` runs the tests.
# Both create .venv and install everything on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab lab-solutions student book test lint test-unit test-notebooks test-browser clean-notebooks install models models-full browser hub

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Jupyter refuses to run as root without --allow-root (a Docker container, a cloud notebook): say so and pass it.
ROOT_FLAG := $(shell [ "$$(id -u 2>/dev/null)" = 0 ] && echo --allow-root)

# Students work in student/: the lessons without their solutions, made once (a copy already there is never
# overwritten, so a student's work survives). Instructors open the lessons with their solutions: make lab-solutions.
student: $(STAMP)
	$(BIN)/python tools/student_version.py notebooks/[0-9]*.ipynb --output student --keep

lab: student
	@if [ -n "$(ROOT_FLAG)" ]; then echo "make lab: you are root (a container or a cloud notebook?); Jupyter refuses root unless told, so it starts with --allow-root. On a shared machine, run make lab as an ordinary user instead."; fi
	cd student && ../$(BIN)/jupyter lab $(ROOT_FLAG)

lab-solutions: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab $(ROOT_FLAG)

# The course as a static website: every lesson executed in quick mode, then Jupyter Book (build/book/_build/html).
book: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python tools/book.py

# Train every lesson's models ahead of a class (skips those already saved): quick mode, or both modes; the
# second also rewrites shipped_models/ (lessons 02-08, full mode, weights only) and its table. It needs full
# MNIST: ADVLAB_DATA_DIR=/path/to/mnist make models-full.
models: $(STAMP)
	$(BIN)/python -m helpers.pretrain --mode quick

models-full: $(STAMP)
	$(BIN)/python -m helpers.pretrain --mode both --ship

# The browser the browser tests drive: Debian's chromium package (installed here when run as root with apt-get;
# otherwise it says how, and the browser tests skip).
browser:
	@bash tools/install_browser.sh

# Quick mode, on CPU: unit tests, then every notebook top to bottom (nbval), then what a person sees in a browser
# (JupyterLab, the slides, the website; tests/browser) and a class on JupyterHub (tests/hub, as root).
test: $(STAMP) browser lint
	ADVLAB_QUICK=1 $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -v --durations=25 --junitxml=artifacts/test-report.xml

# pyflakes and pycodestyle (ruff) on the package, tests, benchmarks, tools, experiments and lessons; and the
# lessons in the form they are committed in (no outputs, canonical JSON; `make clean-notebooks` fixes that).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/clean_notebooks.py --check notebooks/*.ipynb

test-browser: $(STAMP) browser
	ADVLAB_QUICK=1 $(BIN)/python -m pytest tests/browser -v

# A class on this machine: JupyterHub on http://127.0.0.1:8000 for the Linux users of the group advlab-class, with
# the course under ADVLAB_COURSE_DIR (default /srv/advlab). Run as root; docs/instructor.md says the whole path.
hub: $(STAMP)
	$(BIN)/python classroom/course.py setup
	$(BIN)/python classroom/course.py start

test-unit: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python -m pytest tests -v --ignore=tests/browser --ignore=tests/hub

test-notebooks: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env -v

# Strip outputs before committing a notebook.
clean-notebooks: $(STAMP)
	$(BIN)/python tools/clean_notebooks.py notebooks/*.ipynb
