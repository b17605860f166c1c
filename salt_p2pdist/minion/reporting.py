"""Progress reports to the master: what a report holds, and the beacon and schedule behind it.

Reports are sent by the ``p2pdist`` beacon (:mod:`salt_p2pdist.minion.beaconing`),
which runs inside the salt-minion process; the ``p2pdist_agent`` schedule keeps
the agent up. Minions set up by older versions reported through a
``p2pdist_report`` schedule: it is removed when the next order arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.core.pacing import MAX_REPORT_EVERY_S
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.minion.policysync import sync_policy

BEACON_NAME = "p2pdist"
SCHEDULE_NAME = "p2pdist_report"  # the older way of reporting: a process per report
KEEPALIVE_NAME = "p2pdist_agent"
KEEPALIVE_S = 300
PACE_FILE = "report_every"  # the heartbeat the master's last order set (core/pacing.py)


def ensure_reporting(minion: Minion) -> None:
    """The report beacon and the agent's keepalive schedule are in place (idempotent)."""
    jobs = minion.salt.schedules()
    if SCHEDULE_NAME in jobs:
        minion.salt.delete_schedule(SCHEDULE_NAME)
    if BEACON_NAME not in minion.salt.beacons():
        minion.salt.add_beacon(BEACON_NAME, [{"interval": minion.settings().report_interval}])
    if KEEPALIVE_NAME not in jobs:
        # Keeps the agent (and so seeding) up across reboots and crashes, also
        # when nothing is active. No return: it costs the master nothing.
        minion.salt.add_schedule(KEEPALIVE_NAME, function="p2pdist.ensure_agent",
                                 seconds=KEEPALIVE_S, run_on_start=True, return_job=False,
                                 persist=True)


def set_pace(minion: Minion, every_s: Any) -> None:
    """Keep the heartbeat the latest order names; 0 (or an older master's order): ``report_interval``."""
    path = minion.settings().state_dir / PACE_FILE
    try:
        every = min(int(every_s), MAX_REPORT_EVERY_S)
    except (TypeError, ValueError):
        every = 0
    if every > 0:
        write_atomic(path, str(every).encode())
    else:
        path.unlink(missing_ok=True)


def pace(minion: Minion) -> int:
    """Seconds between an active minion's reports: the master's word, else ``report_interval``."""
    return PaceFile().seconds(minion)


@dataclass
class PaceFile:
    """:func:`pace` for a caller that asks on every tick (the beacon): the file is read again only
    when it changed. Changed means another mtime, size or file: set_pace replaces the file
    (write_atomic), so a new pace within the file system's mtime resolution is still seen."""

    seen: tuple[int, int, int] | None = None  # (mtime_ns, size, inode) of the file last read
    word: int | None = None  # what it said (None: nothing usable)

    def seconds(self, minion: Minion) -> int:
        """As :func:`pace`."""
        settings = minion.settings()
        tick, path = settings.report_interval, settings.state_dir / PACE_FILE
        try:
            st = path.stat()
        except OSError:  # no word from the master (or none readable now): report_interval
            self.seen, self.word = None, None
            return tick
        if (st.st_mtime_ns, st.st_size, st.st_ino) != self.seen:
            try:
                text = path.read_text()
            except OSError:  # not remembered: read again at the next tick
                return tick
            self.seen, self.word = (st.st_mtime_ns, st.st_size, st.st_ino), _pace_in(text)
        return tick if self.word is None else max(tick, self.word)


def _pace_in(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def snapshot(minion: Minion, timeout: float = 30, policy: bool = True) -> dict[str, Any]:
    """Every distribution's state on this minion, as a report. Raises P2PDistError.

    ``policy``: hand the agent the pillar's policy first (pillar changes reach
    the session on the fly).
    """
    agent = minion.agent()
    # Each distribution's state carries the agent's own stamp (as_of), which
    # the master orders reports and answers by; this one is for older agents.
    ts = time.time()
    dists = agent.call("GET", "/dists", timeout=timeout)
    policy_error = sync_policy(minion, agent) if policy else ""
    dists.update(replaced_versions(dists))
    # Each distribution's report names the host's site as the master's map
    # (sent with the order) places it, so no site of its own is added here.
    return {"minion": minion.id, "ts": ts, "dists": dists,
            **({"policy_error": policy_error} if policy_error else {})}


def report(minion: Minion) -> dict[str, Any]:
    """A report on demand (``salt <id> p2pdist.report``): starts the agent if it is down."""
    try:
        minion.agent().ensure()
        return snapshot(minion)
    except P2PDistError as exc:
        return {"minion": minion.id, "ts": time.time(), "dists": {}, "error": str(exc)}


def replaced_versions(dists: dict[str, Any]) -> dict[str, Any]:
    """Older versions a placed new one replaced at dest: the master learns they are gone here."""
    gone: dict[str, Any] = {}
    for held in dists.values():
        for old, order_id in (held.get("replaced") or {}).items():
            if old not in dists:
                gone[old] = {"state": lifecycle.REMOVED, "order_id": order_id, "as_of": held.get("as_of")}
    return gone
