# Two entry points a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/tierwise: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: venv demo test lint bench bench-proxy bench-side-by-side chromium
venv: $(BIN)/tierwise

demo: venv
	$(BIN)/tierwise demo

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest

bench: venv
	$(BIN)/python benchmarks/bench_decision.py

# The proxy benchmark drives load with wrk (Debian's package).
bench-proxy: venv
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_proxy.py

# tierwise beside claude-code-router (npm, installed by the script outside the repo) on wrk.
# ARGS passes options, e.g. make bench-side-by-side ARGS='--seconds 3 --rounds 2 --realistic'
bench-side-by-side: venv
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_side_by_side.py $(ARGS)

# Headless Chromium and its driver (Debian's packages) for the dashboard's browser test.
chromium:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends chromium chromium-driver)
