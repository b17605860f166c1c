"""Salt-side access control with a real master and minion.

Two gates stand before a distribution: Salt's ``external_auth`` decides who may
run which runner function at all, then the runner's ``p2pdist:admins`` narrows
what an allowed user may push. Here alice may push (only from one directory)
and read status; bob may only read status.

The ``auto`` eauth backend accepts any password: it is Salt's backend for tests.
A real master uses pam, ldap or file with the same ``external_auth`` mapping
(docs/security.md). This module starts a deployment of its own because it needs
its own master config.
"""

from __future__ import annotations

import grp
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.files import audit
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random

EXTERNAL_AUTH = {
    "auto": {
        "alice": [{"@runner": ["p2pdist.push", "p2pdist.status"]}],
        "bob": [{"@runner": ["p2pdist.status"]}],
    }
}
# What salt-run prints when external_auth refuses a function (Salt 3008). It says
# "Authentication" even when the password was fine and only the right is missing.
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
SALT_REFUSAL = 'Authentication failure of type "eauth" occurred for user {user}.'


def login(user: str) -> list[str]:
    return ["-a", "auto", "--username", user, "--password", "anything"]


def allowed_dir(lab: Deployment) -> Path:
    """The only directory alice may push from (p2pdist:admins)."""
    return lab.root / "srv" / "allowed"


@pytest.fixture(scope="module")
def lab() -> Iterator[Deployment]:
    # A short root: Unix socket paths are limited to ~107 bytes.
    root = Path(tempfile.mkdtemp(prefix="p2pt-")).resolve()
    # bob is not in p2pdist:admins either, but Salt stops him first: the runner
    # never runs for him (its audit log has no entry for him).
    admins = {"alice": {"paths": [str(root / "srv" / "allowed")]},
              # A group entry: the shell user who runs these tests is in its primary group.
              f"{MY_GROUP}%": {"paths": [str(root / "srv" / "team")]}}
    deployment = Deployment(root, master_opts={"external_auth": EXTERNAL_AUTH},
                            master_p2pdist={"admins": admins})
    try:
        deployment.start([deployment.minion("m1", 1)])
        yield deployment
    finally:
        deployment.stop()


def run_as(lab: Deployment, user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """salt-run as an eauth user, human output: what an admin at the shell sees."""
    return lab.cli("salt-run", *login(user), *argv)


def distributions(lab: Deployment) -> set[str]:
    # As root, no eauth: the master's full list of distribution ids.
    return set(lab.salt_run("p2pdist.status", check=True))


def audit_entries(lab: Deployment, user: str) -> list[dict[str, Any]]:
    log = Path(lab.master_opts["cachedir"]) / "p2pdist" / "audit.log"
    return [e for e in audit.read(log, limit=1000) if e.get("user") == user]


def test_alice_pushes_and_the_file_arrives(lab: Deployment) -> None:
    payload = write_random(allowed_dir(lab) / "alice.bin", 256 << 10, seed=11)
    ret = lab.salt_run("p2pdist.push", str(payload), user_args=login("alice"), check=True,
                       kwargs={"tgt": "m1", "dest": "/opt/alice", "wait": True})
    assert ret["result"] is True and ret["accepted"] == ["m1"], ret
    # The runner saw the eauth user, not the shell's root.
    assert ret["summary"]["created_by"] == "alice", ret["summary"]
    assert ret["summary"]["state"] == "complete", ret["summary"]
    assert sha256(lab.copy_at("m1", "/opt/alice", payload.name)) == sha256(payload)
    assert ret["id"] in distributions(lab)


def test_bob_may_not_push(lab: Deployment) -> None:
    payload = write_random(allowed_dir(lab) / "bob.bin", 64 << 10, seed=12)
    before = distributions(lab)
    proc = run_as(lab, "bob", "p2pdist.push", str(payload), "tgt=m1", "dest=/opt/bob")
    # Salt 3008 exits 0 on an eauth refusal, so the text is what tells: scripts
    # must look for it (docs/security.md). The code is not asserted on purpose.
    assert SALT_REFUSAL.format(user="bob") in proc.stdout, (proc.returncode, proc.stdout, proc.stderr)
    assert "result" not in proc.stdout  # nothing ran that could return one
    # Nothing was distributed: no file, no new distribution, no runner call at all.
    assert not lab.copy_at("m1", "/opt/bob", payload.name).exists()
    assert distributions(lab) == before
    assert audit_entries(lab, "bob") == []


def test_bob_may_read_status(lab: Deployment) -> None:
    seen = lab.salt_run("p2pdist.status", user_args=login("bob"), check=True)
    # A runner called through eauth runs inside the master, so --out json does not
    # reach it: it returns one line per distribution. The ids are the same.
    assert isinstance(seen, dict) and set(seen) == distributions(lab), seen
    assert SALT_REFUSAL.format(user="bob") not in str(seen)


def test_unknown_user_is_refused(lab: Deployment) -> None:
    proc = run_as(lab, "mallory", "p2pdist.status")
    assert SALT_REFUSAL.format(user="mallory") in proc.stdout, (proc.stdout, proc.stderr)


def test_alice_outside_her_paths_is_refused_by_the_runner(lab: Deployment) -> None:
    # Salt lets alice run p2pdist.push; p2pdist:admins refuses this source path.
    payload = write_random(lab.root / "srv" / "elsewhere" / "other.bin", 64 << 10, seed=13)
    before = distributions(lab)
    proc = run_as(lab, "alice", "p2pdist.push", str(payload), "tgt=m1", "dest=/opt/elsewhere")
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert f"p2pdist.push refused: alice may not push {payload} to m1" in proc.stdout, proc.stdout
    assert f"alice may push only from {allowed_dir(lab)}" in proc.stdout, proc.stdout
    assert not lab.copy_at("m1", "/opt/elsewhere", payload.name).exists()
    assert distributions(lab) == before
    # The refusal is in the master's audit log, with who and what.
    last = audit_entries(lab, "alice")[-1]
    assert last["action"] == "push" and last["result"].startswith("refused: "), last
    assert last["details"]["path"] == str(payload), last


def test_a_group_entry_in_admins_lets_its_members_push_from_its_paths_only(lab: Deployment) -> None:
    # No eauth: the runner's user is the shell user, a member of MY_GROUP on the master.
    payload = write_random(lab.root / "srv" / "team" / "team.bin", 64 << 10, seed=14)
    ret = lab.salt_run("p2pdist.push", str(payload), check=True,
                       kwargs={"tgt": "m1", "dest": "/opt/team", "wait": True})
    assert ret["result"] is True, ret
    assert sha256(lab.copy_at("m1", "/opt/team", payload.name)) == sha256(payload)
    other = write_random(lab.root / "srv" / "elsewhere" / "team2.bin", 64 << 10, seed=15)
    before = distributions(lab)
    refused = lab.salt_run("p2pdist.push", str(other), kwargs={"tgt": "m1", "dest": "/opt/team2"})
    assert refused["result"] is False, refused
    assert f"group {MY_GROUP} may push only from {lab.root / 'srv' / 'team'}" in refused["error"], refused
    assert distributions(lab) == before
