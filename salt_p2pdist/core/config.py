"""p2pdist settings read from Salt's opts (``p2pdist:`` in the master or minion config).

Frozen, typed, with defaults; ``from_opts`` reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path, PurePath
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.pacing import DEFAULT_TICK_S
from salt_p2pdist.core.quiet import DEFAULT_QUIET_AFTER, parse_grace
from salt_p2pdist.core.wanlinks import wan_from_config


def _check_keys(section: dict[str, Any], cls: type, where: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(section) - known - {"state_dir"})
    if unknown:
        raise InvalidRequest(f"unknown p2pdist setting(s) in the {where} config: "
                             f"{', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _check_values(section: dict[str, Any], cls: type, where: str) -> None:
    """Refuse values of the wrong type or range (a YAML string where a list belongs...)."""
    hints = get_type_hints(cls)
    problems = []
    for key, value in section.items():
        hint = hints[key]
        allowed = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
        kinds = tuple(get_origin(a) or a for a in allowed if a is not Any)
        ok = type(None) in allowed if value is None else isinstance(value, kinds) and not (
            isinstance(value, bool) and bool not in kinds)
        if ok and key == "dest_prefix" and value:
            ok = PurePath(value).is_absolute()
        if ok and isinstance(value, list):
            ok = all(isinstance(v, str) and PurePath(v).is_absolute() for v in value)
        if ok and isinstance(value, int) and not isinstance(value, bool):
            low = 1 if key in ("tracker_port", "announce_interval", "report_interval",
                               "wan_fetchers_per_site", "announce_budget") else 0
            ok = low <= value < (65536 if key.endswith("_port") else 2**63)
        if not ok:
            problems.append(f"{key}: {value!r} is not {' or '.join(k.__name__ for k in kinds)}"
                            " of the right range (see docs/configuration.md)")
    if problems:
        raise InvalidRequest(f"invalid p2pdist setting(s) in the {where} config: " + "; ".join(problems))


@dataclass(frozen=True, kw_only=True)
class MasterSettings:
    state_dir: Path  # catalog, the origin agent's state; default <cachedir>/p2pdist
    tracker_port: int = 6970
    tracker_host: str = ""  # address minions use to reach the master; default: interface/fqdn
    bt_interface: str = "0.0.0.0"  # where the origin seeds
    bt_port: int = 0
    origin_upload_rate: int = 0  # bytes/s per distribution the master serves; 0 = unlimited
    announce_interval: int = 30  # seeds'; downloading hosts are asked back sooner, within:
    announce_budget: int = 50  # announces/s the tracker may spend on downloading hosts' short intervals
    # Progress reports/s the master takes from active minions: orders slow their heartbeat
    # (core/pacing.py) when active minions x 1/5 s would exceed it. 0: no budget. A report
    # costs a salt-master 4-6 ms of CPU on 2 cores (docs/benchmark.md): 250/s took 1.6 cores.
    report_budget: int = 250
    # Where each push writes <name>.torrent for p2pdist.present states; by default
    # <first base file_root>/p2pdist, i.e. salt://p2pdist/<name>.torrent. "" = off.
    torrent_dir: str | None = None
    sites: dict[str, Any] | None = None  # site -> {networks: [cidr...], parent: region, down, up}
    # The HQ link {up, down, site} and the WAN's shape (mesh or hub), for the planner (wanlinks.py).
    hq: dict[str, Any] | None = None
    wan: str = "mesh"
    wan_fetchers_per_site: int = 1  # hosts per site that fetch across its WAN link
    stall_after: int = 60  # seconds without progress before a WAN fetcher is replaced
    # Restart the origin agent from the event stream when it died. Off when a
    # service manager supervises it (or in benchmarks of the report path).
    supervise_origin: bool = True
    # Swarms admit push targets and the minions a push's allow= matched
    # (admission.py). False reopens them to every accepted minion (not advised).
    targets_only: bool = True
    admins: dict[str, Any] | None = None  # who may push what; see salt_p2pdist.master.authz
    # Two-person rule for large or protected pushes and cancels; see salt_p2pdist.master.approval
    approval: dict[str, Any] | None = None
    # Where pushes may land on minions; enforced by the runner and, symlinks
    # resolved, by each minion (the roots travel signed in the torrent).
    allowed_dest: list[str] = field(default_factory=lambda: ["/srv/p2pdist"])
    # How long a swarm stays up once every target holds its distribution (core/quiet.py):
    # seconds, "15m", "2h", "7d", or "never"; a push's quiet_after= overrides it.
    quiet_after: str | int | float | None = DEFAULT_QUIET_AFTER

    @classmethod
    def from_opts(cls, opts: dict[str, Any]) -> MasterSettings:
        section = dict(opts.get("p2pdist") or {})
        _check_keys(section, cls, "master")
        _check_values({k: v for k, v in section.items() if k != "state_dir"}, cls, "master")
        state_dir = Path(section.pop("state_dir", Path(opts["cachedir"]) / "p2pdist"))
        wan_from_config(section.get("sites"), section.get("hq"), section.get("wan"))
        parse_grace(section.get("quiet_after", DEFAULT_QUIET_AFTER))  # refused at once if invalid
        if section.get("torrent_dir") is None:
            roots = (opts.get("file_roots") or {}).get("base") or []
            section["torrent_dir"] = str(Path(roots[0]) / "p2pdist") if roots else ""
        return cls(state_dir=state_dir, **section)

    @property
    def quiet_after_s(self) -> float | None:
        """The default grace in seconds; None: swarms never go quiet."""
        return parse_grace(self.quiet_after)

    @property
    def ca_dir(self) -> Path:
        """The swarm CA (closed swarms); its key never leaves the master."""
        return self.state_dir / "ca"


@dataclass(frozen=True, kw_only=True)
class MinionSettings:
    state_dir: Path  # agent state, staging; default <cachedir>/p2pdist
    bt_interface: str = "0.0.0.0"
    bt_port: int = 0
    outgoing_interface: str = ""
    # seconds between the beacon's looks at the agent; an active minion reports at every one,
    # or as seldom as the master's last order says when many are active (core/pacing.py)
    report_interval: int = DEFAULT_TICK_S
    # Prefix for every dest on this host. Empty in normal installs; set when
    # several minions share one machine (the demo, tests) so they do not collide.
    dest_prefix: str = ""

    @classmethod
    def from_opts(cls, opts: dict[str, Any]) -> MinionSettings:
        section = dict(opts.get("p2pdist") or {})
        _check_keys(section, cls, "minion")
        _check_values({k: v for k, v in section.items() if k != "state_dir"}, cls, "minion")
        state_dir = Path(section.pop("state_dir", Path(opts["cachedir"]) / "p2pdist"))
        return cls(state_dir=state_dir, **section)

    def resolve_dest(self, dest: str) -> str:
        if not self.dest_prefix:
            return dest
        return str(Path(self.dest_prefix) / Path(dest).relative_to(Path(dest).anchor))

    def agent_args(self) -> list[str]:
        args = ["--bt-interface", self.bt_interface, "--bt-port", str(self.bt_port)]
        if self.outgoing_interface:
            args += ["--outgoing-interface", self.outgoing_interface]
        return args
