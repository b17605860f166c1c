# p2pdist: every workflow is one command, the same locally and in CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt setup.py | cksum | cut -d' ' -f1)
# Bench-only dependencies (charts), never installed by make test.
BENCH_STAMP := $(VENV)/.bench-$(shell cat requirements-bench.txt | cksum | cut -d' ' -f1)

.PHONY: demo test test-windows unit integration lint lint-win32 bench bench-scale bench-modes bench-topologies bench-status bench-status-e2e bench-policy bench-wan-total bench-report-cost bench-tracker bench-large bench-startup bench-rollouts bench-spread bench-fetcher clean

$(STAMP): requirements.txt requirements-dev.txt setup.py
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { apt-get update && apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -e .
	@rm -f $(VENV)/.installed-*; touch $@

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/pip install -q -r requirements-bench.txt
	@rm -f $(VENV)/.bench-*; touch $@

demo: $(STAMP)            ## a real distribution: throwaway master + 6 minions on loopback
	$(BIN)/python -m salt_p2pdist.testing.demo

lint: $(STAMP) lint-win32
	$(BIN)/ruff check .
	$(BIN)/mypy

# The minion side runs on Windows too: type-check it as Windows sees it (sys.platform
# branches, msvcrt, no fcntl/os.kill semantics). Loader modules one at a time (each is
# named p2pdist.py); Salt injects their __opts__/__salt__, hence no name-defined there.
MINION_SIDE := salt_p2pdist/agent salt_p2pdist/core salt_p2pdist/files salt_p2pdist/torrent \
               $(wildcard salt_p2pdist/minion)
lint-win32: $(STAMP)      ## mypy --platform win32 over the minion-side code
	$(BIN)/mypy --platform win32 $(MINION_SIDE)
	for m in _modules _states _returners _beacons; do \
	  $(BIN)/mypy --platform win32 --disable-error-code name-defined $$m/p2pdist.py || exit 1; done

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

test: $(STAMP) lint-win32 ## lint, unit tests, then real master/minion/libtorrent tests
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q --durations=15 tests  # the slowest tests named: CI time is watched

WINDOWS_CACHE ?= .cache/windows
test-windows: $(STAMP)    ## the Windows tier: the agent under the real Windows CPython + libtorrent (Wine; root, Debian)
	$(BIN)/python tests/windows/build_env.py $(WINDOWS_CACHE)
	P2PDIST_WINDOWS_TIER=1 P2PDIST_WINDOWS_CACHE=$(abspath $(WINDOWS_CACHE)) $(BIN)/pytest -q tests/windows

BENCH_ARGS ?= --runs 3
bench: $(BENCH_STAMP)           ## the WAN lab (root): p2pdist vs HTTP vs plain BitTorrent, 4x5, 3 runs
	$(BIN)/python -m lab $(BENCH_ARGS) --out bench/results/latest.json

# 8 x 5 holds more salt-minions than 2 cores run unsaturated: by default the agents
# mode (real agents and tracker, orders delivered without a Salt daemon; lab/agentsdriver.py).
SCALE_MODE ?= agents
SCALE_ARGS ?=
SCALE_OUT ?= bench/results/scale-8x5-64MiB-$(SCALE_MODE)-mode.json
bench-scale: $(BENCH_STAMP)     ## 8 branches x 5 clients, one run of each way, in SCALE_MODE (root)
	$(BIN)/python -m lab --branches 8 --runs 1 --mode $(SCALE_MODE) $(SCALE_ARGS) --out $(SCALE_OUT)

bench-modes: $(BENCH_STAMP)     ## the default lab (4x5, 64 MiB), p2pdist once in each mode (root)
	for m in salt agents; do \
	  $(BIN)/python -m lab --scenarios p2pdist --runs 1 --mode $$m \
	    --out bench/results/default-4x5-64MiB-$$m-mode.json || exit 1; \
	done

bench-spread: $(BENCH_STAMP)    ## ten runs in a row of 4x2 and of 4x5 (64 MiB, p2pdist, Salt mode, defaults; root)
	for c in 2 5; do \
	  $(BIN)/python -m lab --scenarios p2pdist --runs 10 --clients $$c \
	    --out bench/results/spread-4x$$c-64MiB-10runs.json || exit 1; \
	done

FETCHER_ARGS ?= --runs 3
bench-fetcher: $(BENCH_STAMP)   ## a site's WAN fetcher slowed to a tenth of its link, or killed, mid-run (4x2, 64 MiB, root)
	$(BIN)/python -m lab.fetcher_bench $(FETCHER_ARGS)

TOPOLOGIES ?= uneven asymmetric hub
bench-topologies: $(BENCH_STAMP) ## each bench/topologies/*.yaml once (root): JSON + chart per topology
	for t in $(TOPOLOGIES); do \
	  $(BIN)/python -m lab --topology bench/topologies/$$t.yaml --size-mib 32 --runs 1 \
	    --out bench/results/topology-$$t.json --chart bench/results/topology-$$t.png || exit 1; \
	done

ROLLOUTS_ARGS ?=
bench-rollouts: $(BENCH_STAMP)  ## roll-outs in the WAN lab (root): business flow beside background, delta, urgent
	$(BIN)/python -m lab.rollouts_bench $(ROLLOUTS_ARGS) --out bench/results/rollouts.json

bench-status: $(BENCH_STAMP)    ## status path at 10,000 simulated minions
	$(BIN)/python -m lab.status_bench

bench-status-e2e: $(BENCH_STAMP) ## the same through a real salt-master: keys, AES, bus, returner (~4 min)
	$(BIN)/python -m lab.status_e2e

bench-policy: $(BENCH_STAMP)    ## share policy cases with real agents on loopback (no root)
	$(BIN)/python -m lab.policy_bench

bench-wan-total: $(BENCH_STAMP) ## a site's wan_rate as one total, vs the per-host cap (no root)
	$(BIN)/python -m lab.wan_total_bench

bench-report-cost: $(BENCH_STAMP) ## CPU a minion spends on reporting: beacon vs scheduled job (no root)
	$(BIN)/python -m lab.report_cost

bench-tracker: $(STAMP)         ## announces/s the tracker sustains, alone and over TLS (no root)
	$(BIN)/python -m lab.tracker_bench --out bench/results/tracker.json

bench-large: $(BENCH_STAMP)     ## a 4 GiB file and a 20,000-file tree, origin -> 2 agents: RSS, order size (no root)
	$(BIN)/python -m lab.large_bench --out bench/results/large.json

bench-startup: $(BENCH_STAMP)   ## seconds from salt-run p2pdist.push to the first block, by stage (no root)
	$(BIN)/python -m lab.startup

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
