"""Two-person rule with a real master, two minions and eauth users.

alice and carol may both push, cancel and approve. A push to more than one
minion waits for the other admin: no minion hears of it until then, the
requester cannot approve it herself, and everything is in the audit log.
The ``auto`` eauth backend accepts any password (Salt's backend for tests).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.files import audit
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random

RIGHTS = [{"@runner": ["p2pdist.push", "p2pdist.status", "p2pdist.approve", "p2pdist.cancel"]}]
EXTERNAL_AUTH = {"auto": {"alice": RIGHTS, "carol": RIGHTS}}


def login(user: str) -> list[str]:
    return ["-a", "auto", "--username", user, "--password", "anything"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix="p2pt-")).resolve()  # short: Unix socket paths
    deployment = Deployment(root, master_opts={"external_auth": EXTERNAL_AUTH},
                            master_p2pdist={"approval": {"max_targets": 1}})
    try:
        deployment.start([deployment.minion("m1", 1), deployment.minion("m2", 2)])
        yield deployment
    finally:
        deployment.stop()


def run_as(lab: Deployment, user: str, fun: str, *args: str, **kwargs: Any) -> Any:
    return lab.salt_run(fun, *args, user_args=login(user), kwargs=kwargs)


def audit_log(lab: Deployment) -> list[dict[str, Any]]:
    return audit.read(Path(lab.master_opts["cachedir"]) / "p2pdist" / "audit.log", limit=1000)


def minion_dists(lab: Deployment, minion: str) -> Any:
    return lab.salt(minion, "p2pdist.status")[minion]


def test_a_large_push_waits_for_a_second_admin(lab: Deployment) -> None:
    payload = write_random(lab.root / "srv" / "big.bin", 512 << 10, seed=31)
    held = run_as(lab, "alice", "p2pdist.push", str(payload), tgt="m*", dest="/opt/two")
    assert held["state"] == "awaiting approval", held
    rid = held["request"]
    assert "2 targets, more than approval:max_targets (1)" in held["reasons"], held

    # Nothing moved: no distribution on the master, no order on any minion.
    listing = lab.salt_run("p2pdist.status", check=True)
    assert listing[rid]["state"] == "awaiting approval" and listing[rid]["user"] == "alice", listing
    assert [k for k, v in listing.items() if v.get("state") != "awaiting approval"] == []
    time.sleep(3)
    for m in ("m1", "m2"):
        assert not lab.copy_at(m, "/opt/two", payload.name).exists()
        assert payload.name not in str(minion_dists(lab, m))

    mine = run_as(lab, "alice", "p2pdist.approve", rid)
    assert mine["result"] is False and "alice asked for" in mine["error"], mine

    done = run_as(lab, "carol", "p2pdist.approve", rid, wait=True)
    assert isinstance(done, dict), done
    assert done["result"] is True and done["approved_by"] == "carol", done
    assert done["requested_by"] == "alice" and done["summary"]["created_by"] == "alice", done
    assert done["summary"]["state"] == "complete", done["summary"]
    for m in ("m1", "m2"):
        assert sha256(lab.copy_at(m, "/opt/two", payload.name)) == sha256(payload)

    again = run_as(lab, "carol", "p2pdist.approve", rid)
    assert again["result"] is False and "no request" in again["error"], again

    entries = [(e["action"], e["user"], e["result"]) for e in audit_log(lab)]
    assert ("push", "alice", "awaiting approval") in entries, entries
    assert ("approve", "alice", f"refused: alice asked for {rid} and cannot approve it: another "
            f"admin must run salt-run p2pdist.approve {rid}") in entries, entries
    assert ("approve", "carol", "ok") in entries, entries
    pushed = [e for e in audit_log(lab) if e["action"] == "push" and e["result"] == "ok"]
    assert pushed[-1]["user"] == "alice" and pushed[-1]["details"]["approved_by"] == "carol", pushed

    # Cancelling it reaches two minions as well: held the same way.
    cancel = run_as(lab, "carol", "p2pdist.cancel", done["id"])
    assert cancel["state"] == "awaiting approval", cancel
    assert lab.salt_run("p2pdist.status", check=True)[done["id"]]["state"] == "complete"
    time.sleep(2)
    assert sha256(lab.copy_at("m1", "/opt/two", payload.name)) == sha256(payload)


def test_a_small_push_goes_at_once(lab: Deployment) -> None:
    payload = write_random(lab.root / "srv" / "small.bin", 64 << 10, seed=32)
    ret = run_as(lab, "alice", "p2pdist.push", str(payload), tgt="m1", dest="/opt/one", wait=True)
    assert ret["result"] is True and ret["summary"]["state"] == "complete", ret
    assert sha256(lab.copy_at("m1", "/opt/one", payload.name)) == sha256(payload)
