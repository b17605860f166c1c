"""A minion whose dest volume is too small refuses the push at once, and the admin reads why."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.core import diskspace
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random

SMALL = 8 << 20  # the dest volume: a tmpfs of 8 MiB


@pytest.fixture
def small_dest(deployment: Deployment) -> Iterator[Path]:
    """m1's /opt/small: a real 8 MiB file system (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = deployment.host_root("m1") / "opt" / "small"
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        # What went there is dropped first: a seeding agent holds its files open.
        for dist_id, held in deployment.salt("m1", "p2pdist.status")["m1"].items():
            if str(held.get("dest", "")).startswith(str(mount)):
                deployment.salt_run("p2pdist.cancel", dist_id)
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)  # never leave it mounted


def test_a_push_bigger_than_the_dest_volume_is_refused_with_the_sizes(
        deployment: Deployment, srv: Path, small_dest: Path) -> None:
    big = write_random(srv / "big.bin", 16 << 20, seed=61)
    proc = deployment.cli("salt-run", "--out", "json", "p2pdist.push", str(big), "tgt=m1",
                          "dest=/opt/small/big")
    data = json.loads(proc.stdout)
    assert data["result"] is False and proc.returncode != 0, data
    error = data["refused"]["m1"]
    # The path is the minion's own (the test deployment puts each minion's / under a directory).
    needed = diskspace.human(big.stat().st_size + diskspace.margin(big.stat().st_size))
    assert f"needs {needed} at {small_dest / 'big'}, 8.0 MiB free" in error, error
    assert list(small_dest.iterdir()) == []  # nothing written at dest
    assert data["id"] not in deployment.salt("m1", "p2pdist.status")["m1"]  # nor a record
    shown = json.dumps(deployment.salt_run("p2pdist.status", data["id"]))  # the master keeps why
    assert "not enough disk space" in shown and "8.0 MiB free" in shown, shown

    # What fits is taken: the same volume holds a smaller push, moved across file systems.
    small = write_random(srv / "small.bin", 2 << 20, seed=62)
    ret = deployment.salt_run("p2pdist.push", str(small), timeout=180,
                              kwargs={"tgt": "m1", "dest": "/opt/small/ok", "wait": True})
    assert ret["result"] is True, ret
    assert sha256(small_dest / "ok" / "small.bin") == sha256(small)
