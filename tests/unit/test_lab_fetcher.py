"""The disturbed-fetcher bench: seat changes read from the origin's log, and a run's figures."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from lab.fetcher_disturb import KILL, Disturbance, Disturber
from lab.fetcher_report import figures
from lab.params import LabParams
from lab.report import RunRecord, make_record
from lab.topology import Lab, plan

STAMP = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the agent's log format


def small_lab(tmp_path: Path) -> Lab:
    params = LabParams(branches=2, clients_per_branch=2, size_mib=1)
    return plan(params, tmp_path, tmp_path / "payload.bin", "0" * 64)


def tracker_log(path: Path, changes: list[tuple[str, list[str], list[str]]]) -> None:
    """Write seat changes as the master's tracker logs them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(STAMP))
    log = logging.getLogger("salt_p2pdist.tracker.tracker.test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for site, before, after in changes:
            log.info("%s: site %s's WAN fetchers %s -> %s", "ab" * 8, site, before, after)
    finally:
        log.removeHandler(handler)
        handler.close()


def test_the_first_other_host_seated_after_the_disturbance_is_the_replacement(tmp_path: Path) -> None:
    lab = small_lab(tmp_path)
    disturber = Disturber(lab, lambda host: tmp_path / "minions" / host, KILL)
    disturber._t0 = time.time() - 1.0  # the push started a second ago
    log = lab.hq_dir / "salt" / "master" / "cache" / "p2pdist" / "origin" / "agent.log"
    tracker_log(log, [("s1", [], ["s1c1"]), ("s2", [], ["s2c2"])])
    disturber._read_seats()
    assert [c[1:] for c in disturber.result.seat_changes] == [[[], ["s1c1"]]]  # s2's left out

    disturber.result.host, disturber.result.at_s = "s1c1", 0.0
    tracker_log(log, [("s1", ["s1c1"], []), ("s1", [], ["s1c1"]), ("s1", ["s1c1"], ["s1c2"])])
    disturber._read_seats()
    r = disturber.result
    assert [c[2] for c in r.seat_changes] == [["s1c1"], [], ["s1c1"], ["s1c2"]]
    assert r.replaced_by == "s1c2"  # the killed host seated again is no replacement
    assert r.replaced_after_s is not None and r.replaced_after_s >= 0


def test_a_run_is_judged_by_its_site_finish_against_the_undisturbed_run(tmp_path: Path) -> None:
    lab = small_lab(tmp_path)

    def record(times: dict[str, float | None]) -> RunRecord:
        return make_record(lab.params, scenario="p2pdist", run=1, times=times, delta={},
                           bad_hash=[], error="", wall_s=60.0, cpu_busy=0.3)

    base = record({"s1c1": 30.0, "s1c2": 31.0, "s2c1": 30.0, "s2c2": 32.0})
    hit = record({"s1c1": 70.0, "s1c2": 38.0, "s2c1": 30.5, "s2c2": 31.0})
    d = Disturbance(kind=KILL, site="s1", host="s1c1", at_s=10.0, replaced_by="s1c2",
                    replaced_after_s=7.5)
    f = figures(lab, base, hit, d)
    assert (f["undisturbed_site_s"], f["disturbed_site_s"]) == (31.0, 70.0)
    assert f["site_delay_s"] == 39.0 and f["rest_of_site_delay_s"] == 7.0
    assert f["replaced_after_s"] == 7.5 and f["valid"]
