"""Where the CPU goes during a p2pdist run: CPU seconds per kind of process in the lab's namespaces.

Read from /proc before the push and once every client is done: user and
system time of each process (with its reaped children's, so a salt-minion's
job processes count to it), grouped by what the command line says it is.
Only processes alive at the second reading count (the push command, gone by
then, does not); the kernel's own work (packets through veths, bridges and
shapers, softirqs) belongs to no process and is not here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from lab.netns import ns_pids

# (role, what its command line holds), first match wins: the origin agent before other agents.
ROLES = (("p2pdist origin agent + tracker", "--host-id origin"),
         ("p2pdist client agents", "salt_p2pdist.agent"),
         ("salt-minions", "salt-minion"),
         ("salt-master", "salt-master"))
OTHER = "other"
Reading = dict[int, tuple[str, float]]


def role_of(cmdline: str) -> str:
    return next((role for role, mark in ROLES if mark in cmdline), OTHER)


def _read(pid: int) -> tuple[str, float] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None  # gone meanwhile
    # After the ")" closing comm: state is field 0, utime..cstime are 11..14.
    ticks = sum(int(x) for x in fields[11:15])
    return role_of(cmdline), ticks / os.sysconf("SC_CLK_TCK")


def reading(namespaces: Iterable[str]) -> Reading:
    found: Reading = {}
    for ns in namespaces:
        for pid in ns_pids(ns):
            got = _read(pid)
            if got is not None:
                found[pid] = got
    return found


def spent(before: Reading, after: Reading) -> dict[str, float]:
    """CPU seconds per role between two readings (a process new since ``before`` counts whole)."""
    per_role: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        earlier = before.get(pid)
        used = seconds - (earlier[1] if earlier and earlier[0] == role else 0.0)
        per_role[role] = round(per_role.get(role, 0.0) + max(used, 0.0), 2)
    return dict(sorted(per_role.items(), key=lambda kv: -kv[1]))
