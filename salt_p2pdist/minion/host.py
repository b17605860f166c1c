"""This minion as p2pdist sees it: Salt's opts, grains and pillar, the Salt functions it calls.

The execution module and the states build a :class:`Minion` from what Salt's
loader injects; tests build one from plain dicts and a fake :class:`MinionSalt`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core.config import MinionSettings
from salt_p2pdist.core.errors import P2PDistError


class MinionSalt(Protocol):
    """The few Salt functions p2pdist calls on a minion."""

    def fire_master(self, data: dict[str, Any], tag: str) -> None: ...

    def schedules(self) -> dict[str, Any]: ...

    def add_schedule(self, name: str, **job: Any) -> None: ...

    def delete_schedule(self, name: str) -> None: ...

    def run_job(self, name: str) -> None: ...

    def beacons(self) -> dict[str, Any]: ...

    def add_beacon(self, name: str, config: list[dict[str, Any]]) -> None: ...

    def delete_beacon(self, name: str) -> None: ...


class SaltCalls:
    """:class:`MinionSalt` through the loader's ``__salt__``."""

    def __init__(self, salt: Mapping[str, Callable[..., Any]]):
        self.salt = salt

    def fire_master(self, data: dict[str, Any], tag: str) -> None:
        self.salt["event.fire_master"](data, tag)

    def schedules(self) -> dict[str, Any]:
        return dict(self.salt["schedule.list"](return_yaml=False) or {})

    def add_schedule(self, name: str, **job: Any) -> None:
        self.salt["schedule.add"](name, **job)

    def delete_schedule(self, name: str) -> None:
        self.salt["schedule.delete"](name, persist=True)

    def run_job(self, name: str) -> None:
        """Run a schedule job now, in its own process; returns at once.

        Not ``schedule.run_job``: it first lists the schedule through the minion's own loop and
        waits up to 30 s for the answer, which never comes when the caller is that loop (the
        beacon): the job did not run, and the minion stood still meanwhile. The event it would
        fire is fired here directly; the loop runs the job once the beacon returns.
        """
        self.salt["event.fire"]({"name": name, "func": "run_job"}, "manage_schedule")

    def beacons(self) -> dict[str, Any]:
        return dict(self.salt["beacons.list"](return_yaml=False) or {})

    def add_beacon(self, name: str, config: list[dict[str, Any]]) -> None:
        """Add a beacon and keep it across restarts (minion.d/beacons.conf, as ``beacons.save`` does)."""
        added = self.salt["beacons.add"](name, config)
        if not added.get("result"):
            raise P2PDistError(f"cannot add the {name} beacon: {added.get('comment')}")
        self.salt["beacons.save"]()

    def delete_beacon(self, name: str) -> None:
        self.salt["beacons.delete"](name)
        self.salt["beacons.save"]()


@dataclass(frozen=True)
class Minion:
    opts: Mapping[str, Any]
    grains: Mapping[str, Any]
    pillar: Mapping[str, Any]
    salt: MinionSalt
    agent_client: AgentClient | None = None  # this host's agent; built from opts when None

    @property
    def id(self) -> str:
        return str(self.opts["id"])

    def settings(self) -> MinionSettings:
        # Only the two keys it reads: copying Salt's whole opts (a layered
        # OptsDict) took half the report beacon's CPU.
        return MinionSettings.from_opts({"p2pdist": self.opts.get("p2pdist"),
                                         "cachedir": self.opts["cachedir"]})

    def site_grain(self) -> str:
        """``p2pdist:site`` from grains: the admin's word on this host's site, "" when not set."""
        section = self.grains.get("p2pdist")
        return str(section.get("site") or "") if isinstance(section, Mapping) else ""

    def master_key(self) -> Path:
        """The master's public key: it signs every torrent this minion may fetch."""
        return Path(self.opts["pki_dir"]) / "minion_master.pub"

    def salt_key(self) -> Path:
        """This minion's Salt key: it signs requests for certificates and torrents (swarmca.py)."""
        return Path(self.opts["pki_dir"]) / "minion.pem"

    def agent(self) -> AgentClient:
        if self.agent_client is not None:
            return self.agent_client
        cfg = self.settings()
        return AgentClient(cfg.state_dir, self.id, [*cfg.agent_args(), "--salt-key", str(self.salt_key())])

    def held_on_disk(self) -> list[str]:
        """Ids of the distributions the agent keeps on disk (it resumes them when it starts)."""
        return self.agent().held_on_disk()
