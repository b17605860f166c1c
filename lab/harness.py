"""Running one scenario in a built lab and measuring it."""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from pathlib import Path

from lab.netns import LabError
from lab.report import RunRecord, make_record
from lab.sampling import Sampler
from lab.scenarios import Scenario
from lab.shaping import Counters
from lab.topology import Lab

HASH_CHUNK = 4 * 1024 * 1024


def _empty(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    path.chmod(0o755)


def clean(lab: Lab) -> None:
    """Empty every client's dir and the HQ scratch dir."""
    for d in (lab.hq_dir, *(c.dir for c in lab.clients)):
        _empty(d)


def sha256_of(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def run_scenario(lab: Lab, scenario: Scenario, run_no: int) -> RunRecord:
    """prepare, count, run, count, stop processes, verify, clean."""
    clean(lab)
    times: dict[str, float | None] = {c.name: None for c in lab.clients}
    delta: dict[str, Counters] = {}
    error = ""
    started = time.monotonic()
    sampler = Sampler(lab)
    try:
        scenario.prepare(lab)
        before = lab.wan_counters()
        sampler.start()
        try:
            times.update(scenario.run(lab))
        finally:
            sampler.stop()
        after = lab.wan_counters()
        delta = {k: after[k] - before[k] for k in after}
    except Exception as exc:
        # Recorded as a failed run; the next scenario still runs. Ctrl-C and
        # SIGTERM are not Exceptions here and stop the whole bench.
        error = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
        print(f"[lab] {scenario.name}: {error}", file=sys.stderr)
    finally:
        # Seeders, servers and stragglers of this scenario go before the
        # next one starts, also when it failed or was interrupted.
        lab.stop_processes()
    bad = [c.name for c in lab.clients if sha256_of(lab.dest(c)) != lab.payload_sha256]
    for name in bad:
        # A copy that fails verification does not count as done.
        times[name] = None
    record = make_record(
        lab.params, scenario=scenario.name, run=run_no, times=times,
        delta=delta, bad_hash=bad, error=error,
        wall_s=time.monotonic() - started, cpu_busy=sampler.cpu_busy,
        first_piece_s=getattr(scenario, "first_piece_s", None),
        cpu_s_by_role=getattr(scenario, "cpu_s_by_role", None),
        samples=[[t, by_site] for t, by_site in sampler.samples],
    )
    clean(lab)
    return record
