"""``make demo``: a real distribution on this machine, no root needed.

Starts a throwaway Salt master and six minions on loopback, pushes a generated
64 MiB file to all of them with ``salt-run p2pdist.push``, shows progress,
checks every copy's SHA-256, prints a summary and tears everything down.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from salt_p2pdist.core.progress import board_lines
from salt_p2pdist.master.terminal import Painter
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import WaitTimeout, wait_for

DEST = "/opt/dist"


def run(minions: int, size_mib: int, keep: bool) -> int:
    root = Path(tempfile.mkdtemp(prefix="p2pd-"))
    print(f"p2pdist demo: master + {minions} minions under {root}")
    payload = write_random(root / "srv" / "dist" / f"demo-{size_mib}MiB.bin", size_mib << 20)
    digest = sha256(payload)
    # The master serves the distribution at 4 MiB/s at most, as a thin HQ uplink would:
    # the minions must get most of the data from each other.
    lab = Deployment(root, master_p2pdist={"origin_upload_rate": 4 << 20})
    try:
        t0 = time.monotonic()
        lab.start([lab.minion(f"minion{i}", i) for i in range(1, minions + 1)])
        print(f"  salt daemons up in {time.monotonic() - t0:.1f} s")
        print(f"$ salt-run p2pdist.push {payload} tgt='*' dest={DEST}")
        t_push = time.monotonic()
        pushed = lab.salt_run("p2pdist.push", str(payload), kwargs={"tgt": "*", "dest": DEST})
        if not pushed.get("result"):
            print(f"push failed: {pushed}")
            return 1
        dist_id = pushed["id"]
        print(f"  distribution {dist_id}: {pushed['pieces']} pieces to {len(pushed['targets'])} minions")
        view = follow(lab, dist_id, timeout=300)
        elapsed = time.monotonic() - t_push
        return summarize(lab, view, payload.name, digest, elapsed, minions)
    finally:
        lab.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        print("  everything stopped" + ("" if not keep else f"; files kept in {root}"))


def follow(lab: Deployment, dist_id: str, timeout: float) -> dict[str, Any]:
    # The same board as salt-run p2pdist.push wait=True draws.
    painter = Painter(sys.stdout, plain_every=2)
    view: dict[str, Any] = {}

    def settled() -> bool:
        view.update(lab.salt_run("p2pdist.status", dist_id))
        done = view["distribution"]["state"] not in ("active", "pending")
        painter.draw(board_lines(view), final=done)
        return done

    with contextlib.suppress(WaitTimeout):  # the summary shows what did not finish
        wait_for("the distribution to settle", settled, timeout=timeout, every=1)
    return view


def summarize(lab: Deployment, view: dict[str, Any], name: str, digest: str, elapsed: float,
              minions: int) -> int:
    d = view["distribution"]
    ok = 0
    for minion_id in sorted(view["minions"]):
        copy = lab.copy_at(minion_id, DEST, name)
        good = copy.is_file() and sha256(copy) == digest
        ok += good
        print(f"  {minion_id}: {view['minions'][minion_id]['state']:<8} sha256 "
              f"{'OK' if good else 'MISMATCH/MISSING'}  {copy}")
    served = d["served_by_master"] or 0
    fetched = d["downloaded_by_hosts"] or 0
    print(f"\nsummary: {ok}/{minions} copies verified in {elapsed:.1f} s "
          f"({d['bytes'] / 2**20:.0f} MiB each)")
    print(f"  bytes received by minions: {fetched / 2**20:.1f} MiB")
    print(f"  served by the master:      {served / 2**20:.1f} MiB "
          f"({100 * served / fetched if fetched else 0:.0f} %)")
    print(f"  served by peers:           {(fetched - served) / 2**20:.1f} MiB")
    return 0 if ok == minions else 1


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="make demo")
    p.add_argument("--minions", type=int, default=6)
    p.add_argument("--size-mib", type=int, default=64)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, copies)")
    a = p.parse_args(argv)
    return run(a.minions, a.size_mib, a.keep)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
