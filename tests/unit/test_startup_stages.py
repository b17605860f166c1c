"""The start-up bench reads each stage of a push from the daemons' logs (lab/stages.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from lab.stages import stage_times

DIST = "f1820df96142d678"
JID = "20261207032624270580"


def ts(clock: str) -> float:
    return datetime.strptime(f"2026-12-07 {clock}", "%Y-%m-%d %H:%M:%S,%f").timestamp()  # ,%f: any digits


def salt(clock: str, where: str, pid: int, text: str) -> str:
    return f"2026-12-07 {clock} [{where:<17}][INFO    ][{pid}] {text}\n"


def write_logs(root: Path) -> None:
    logs, origin = root / "logs", root / "master" / "cache" / "p2pdist" / "origin"
    logs.mkdir(parents=True)
    origin.mkdir(parents=True)
    (logs / "master.log").write_text(
        salt("03:26:24,037", "p2pdist.push:120", 20749, f"p2pdist: {DIST}: torrent made in 0.22 s")
        + salt("03:26:24,281", "salt.master", 1, f"User root Published command p2pdist.fetch with jid {JID}")
        + salt("03:26:25,100", "p2pdist.push:88", 20749, f"p2pdist: root pushed /f1.bin ({DIST}) to 2")
        + salt("03:26:25,150", "salt.client.mixins:446", 1, "Runner completed: 20261207032600000000")
        + salt("03:26:25,200", "salt.client.mixins:446", 20749, "Runner completed: 20261207032623500000"))
    (logs / "minion-m1.log").write_text(
        salt("03:26:24,437", "salt.minion:3120", 20829, f"Starting a new job {JID} with PID 20829"))
    (logs / "minion-m2.log").write_text(
        salt("03:26:24,394", "salt.minion:3120", 20828, f"Starting a new job {JID} with PID 20828"))
    (origin / "agent.log").write_text(
        f"2026-12-07 03:26:24,680 INFO tracker: {DIST}: site a's WAN fetchers [] -> ['m1']\n"
        f"2026-12-07 03:26:24,825 INFO tracker: {DIST}: site b's WAN fetchers [] -> ['m2']\n")
    audit = [{"action": "certificate", "details": {"id": DIST}, "result": "issued",
              "ts": f"{datetime.fromtimestamp(ts(c)).astimezone().isoformat()}", "user": u}
             for c, u in (("03:26:24,102", "origin"), ("03:26:24,791", "m2"), ("03:26:24,670", "m1"))]
    (root / "master" / "cache" / "p2pdist" / "audit.log").write_text(
        "".join(json.dumps(a) + "\n" for a in audit))


def test_each_stage_is_read_from_the_logs_of_its_daemon(tmp_path: Path) -> None:
    write_logs(tmp_path)
    got = stage_times(tmp_path, DIST, since=ts("03:26:23,000"))
    assert got == {
        "runner_started": ts("03:26:23,500"), "origin_up": None, "torrent_made": ts("03:26:24,037"),
        "seeded": ts("03:26:24,102"), "published": ts("03:26:24,270580"), "minion_job": ts("03:26:24,394"),
        "minion_certificate": ts("03:26:24,670"), "first_handout": ts("03:26:24,680")}


def test_stages_of_an_earlier_push_are_not_counted(tmp_path: Path) -> None:
    write_logs(tmp_path)
    got = stage_times(tmp_path, DIST, since=ts("03:26:24,500"))
    assert got["torrent_made"] is None and got["published"] is None and got["minion_job"] is None
    assert got["first_handout"] == ts("03:26:24,680")
