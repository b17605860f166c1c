"""``salt-run p2pdist.plan`` on a real master: the bound before anything moves, and nothing moves."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.testing.deployment import Deployment, write_random

SITES = {"paris": {"networks": ["10.20.0.0/16"], "down": 20, "up": 20},
         "lyon": {"networks": ["10.21.0.0/16"], "down": 8, "up": 1}}


@pytest.fixture(scope="module")
def planned() -> Iterator[Deployment]:
    """A master that knows its WAN, two minions in paris, one in lyon, one in no site."""
    root = Path(tempfile.mkdtemp(prefix="p2pp-"))
    lab = Deployment(root, master_p2pdist={"sites": SITES, "hq": {"up": 100, "down": 100},
                                           "wan": "mesh"})
    placed = {"p1": "paris", "p2": "paris", "l1": "lyon", "x1": ""}
    specs = [lab.minion(m, 40 + i) for i, m in enumerate(placed)]
    specs = [dataclasses.replace(s, grains={"p2pdist": {"site": placed[s.id]}} if placed[s.id] else {})
             for s in specs]
    try:
        lab.start(specs)
        yield lab
    finally:
        lab.stop()


def test_plan_prints_the_bound_and_records_nothing(planned: Deployment) -> None:
    payload = write_random(planned.root / "srv" / "plan.bin", 8 << 20, seed=81)
    proc = planned.cli("salt-run", "--out", "json", "p2pdist.plan", str(payload), "tgt=*")
    plan = json.loads(proc.stdout)
    assert proc.returncode == 0 and plan["dry_run"], (proc.stdout, proc.stderr)
    assert plan["size_bytes"] == 8 << 20 and plan["targets"] == 4
    assert plan["sites"]["paris"]["hosts"] == 2 and plan["sites"]["lyon"]["hosts"] == 1
    # 8 MiB over lyon's 8 Mbit/s downlink: 8.39 s, more than anything else
    assert plan["binding"]["term"] == "downlink:lyon"
    assert abs(plan["bound_s"] - (8 << 20) / 1e6) < 1e-6
    assert not plan["complete"] and any("x1" in u for u in plan["unknown"])

    # Nothing was recorded or sent: no distribution on the master, none on any minion.
    proc = planned.cli("salt-run", "--out", "json", "p2pdist.status")
    assert proc.returncode == 0 and json.loads(proc.stdout) == {}, proc.stdout
    for minion, held in planned.salt("*", "p2pdist.status").items():
        assert held == {}, (minion, held)

    # For people: the binding term, one line per site, what cannot be known.
    proc = planned.cli("salt-run", "p2pdist.plan", "2GiB", "tgt=p*")
    assert proc.returncode == 0 and "bound by downlink:paris" in proc.stdout, proc.stdout
    assert "paris" in proc.stdout and "lyon" not in proc.stdout, proc.stdout


def test_a_bad_plan_request_is_refused(planned: Deployment) -> None:
    for argv, words in ((("/no/such.iso", "tgt=*"), "does not exist on the master"),
                        (("1GiB", "tgt=nobody"), "matches no minion"),
                        (("1GiB",), "tgt is required"),
                        (("1GiB", "tgt=*", "tgt_typ=list"), "did you mean tgt_type")):
        proc = planned.cli("salt-run", "p2pdist.plan", *argv)
        assert proc.returncode == 1 and words in proc.stdout + proc.stderr, (argv, proc.stdout)
