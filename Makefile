# The two commands of README.md: `make lab` opens the collection, `make test` runs the tests.
# Both create .venv and install everything on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test test-unit test-notebooks clean-notebooks install models models-full

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab

# Train every lesson's models ahead of a class (skips those already saved): quick mode, or both modes.
models: $(STAMP)
	$(BIN)/python -m helpers.pretrain --mode quick

models-full: $(STAMP)
	$(BIN)/python -m helpers.pretrain --mode both

# Quick mode, on CPU: unit tests, then every notebook top to bottom (nbval).
test: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env -v --durations=15 --junitxml=artifacts/test-report.xml

test-unit: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python -m pytest tests -v

test-notebooks: $(STAMP)
	ADVLAB_QUICK=1 $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env -v

# Strip outputs before committing a notebook.
clean-notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb
