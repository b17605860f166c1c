# p2pdist: every workflow is one command, the same locally and in CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test test-windows unit integration lint bench bench-scale bench-status bench-policy bench-wan-total clean

$(STAMP): requirements.txt requirements-dev.txt setup.py
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { apt-get update && apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -e .
	@rm -f $(VENV)/.installed-*; touch $@

demo: $(STAMP)            ## a real distribution: throwaway master + 6 minions on loopback
	$(BIN)/python -m salt_p2pdist.testing.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

test: $(STAMP)            ## lint, unit tests, then real master/minion/libtorrent tests
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q tests

WINDOWS_CACHE ?= .cache/windows
test-windows: $(STAMP)    ## the Windows tier: the agent under the real Windows CPython + libtorrent (Wine; root, Debian)
	$(BIN)/python tests/windows/build_env.py $(WINDOWS_CACHE)
	P2PDIST_WINDOWS_TIER=1 P2PDIST_WINDOWS_CACHE=$(abspath $(WINDOWS_CACHE)) $(BIN)/pytest -q tests/windows

BENCH_ARGS ?= --runs 3
bench: $(STAMP)           ## the WAN lab (root): p2pdist vs HTTP vs plain BitTorrent, 4x5, 3 runs
	$(BIN)/python -m lab $(BENCH_ARGS) --out bench/results/latest.json

bench-scale: $(STAMP)     ## the same with 8 branches x 5 clients, one run
	$(BIN)/python -m lab --branches 8 --runs 1 --out bench/results/scale-8x5.json

bench-status: $(STAMP)    ## status path at 10,000 simulated minions
	$(BIN)/python -m lab.status_bench

bench-policy: $(STAMP)    ## share policy cases with real agents on loopback (no root)
	$(BIN)/python -m lab.policy_bench

bench-wan-total: $(STAMP) ## a site's wan_rate as one total, vs the per-host cap (no root)
	$(BIN)/python -m lab.wan_total_bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
