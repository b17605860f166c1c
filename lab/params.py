"""The shape of a lab: how many sites and clients, link rates, payload size.

A frozen, keyword-only config with one ``validate()`` that reports every
problem at once, so a bad command line fails before any namespace exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.shapes import LabShape

# Every namespace the lab makes starts with this, so that the leftovers of a
# run that was killed hard (SIGKILL, power loss) are found and removed by the
# next run, and nothing else on the machine is ever touched.
DEFAULT_PREFIX = "p2pl-"

# Site k's LAN is 10.200.k.0/24 and its WAN transit link 10.200.(128+k).0/30,
# so sites are limited to 100 and clients per site to 200 (hosts .11 ....210).
MAX_SITES = 100
MAX_CLIENTS_PER_SITE = 200
MIB = 1024 * 1024
# How the p2pdist scenario runs Salt's side: real salt-master and salt-minions
# (the default), or the agents mode: the same orders to the same agents, no
# Salt daemon (lab/agentsdriver.py), for labs larger than the machine holds.
SALT = "salt"
AGENTS = "agents"
MODES = (SALT, AGENTS)


@dataclass(frozen=True, kw_only=True)
class LabParams:
    branches: int = 4
    clients_per_branch: int = 5
    branch_mbit: float = 20.0
    hq_mbit: float = 100.0
    size_mib: float = 64.0
    prefix: str = DEFAULT_PREFIX
    shape: LabShape | None = None  # from --topology; None: the flags' uniform case
    mode: str = SALT  # SALT or AGENTS (MODES)

    @property
    def layout(self) -> LabShape:
        """The sites and links to build: the topology file's, or the flags' uniform case."""
        return self.shape or LabShape.uniform(self.branches, self.clients_per_branch,
                                              self.branch_mbit, self.hq_mbit)

    @property
    def plan(self) -> dict[str, Any]:
        """The product planner's plan for this lab and payload (bound, binding term, per site)."""
        return self.layout.plan(self.size_bytes)

    @property
    def bound_s(self) -> float:
        return float(self.plan["bound_s"])

    def validate(self) -> list[str]:
        """Return every problem with these parameters (empty when fine)."""
        problems: list[str] = []
        if self.shape is not None:  # checked when its file was read
            return problems + self._common()
        if not 1 <= self.branches <= MAX_SITES:
            problems.append(f"branches must be 1..{MAX_SITES}, got {self.branches}")
        if not 1 <= self.clients_per_branch <= MAX_CLIENTS_PER_SITE:
            problems.append(
                f"clients per branch must be 1..{MAX_CLIENTS_PER_SITE}, "
                f"got {self.clients_per_branch}"
            )
        for name, value in (("branch", self.branch_mbit), ("hq", self.hq_mbit)):
            # Below ~0.1 Mbit/s a 1500-byte frame takes over 100 ms: the tbf
            # sizing below would no longer give a sane queue.
            if not 0.1 <= value <= 10_000:
                problems.append(f"{name} Mbit/s must be 0.1..10000, got {value}")
        return problems + self._common()

    def _common(self) -> list[str]:
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0 < self.size_mib <= 16 * 1024:
            problems.append(f"size MiB must be >0 and <=16384, got {self.size_mib}")
        if not self.prefix or len(self.prefix) > 8 or not self.prefix.endswith("-"):
            problems.append(f"prefix must be 1..8 chars ending in '-', got {self.prefix!r}")
        return problems

    @property
    def size_bytes(self) -> int:
        return int(self.size_mib * MIB)

    @property
    def t_lb_s(self) -> float:
        """Lower bound on any distribution: T_lb = max(F/branch_WAN, F/HQ_uplink).

        Every branch must pull at least one copy over its link, and the origin
        must push at least one copy over the HQ uplink. F in bits, rates in
        Mbit/s (10^6 bit/s, as ``tc`` counts them).
        """
        bits = self.size_bytes * 8
        slowest = min(s.down for s in self.layout.sites)
        return max(bits / (slowest * 1e6), bits / (self.layout.hq_up * 1e6))

    @property
    def naive_s(self) -> float:
        """Time for every client to pull its own copy over the links."""
        return self.layout.naive_s(self.size_bytes)

    @property
    def timeout_s(self) -> float:
        """How long a scenario may take before its missing clients are failed.

        Three times the everyone-pulls-their-own-copy time, plus start-up
        slack: any sane method finishes well inside it, a hung one does not
        stall the bench forever.
        """
        return 3 * self.naive_s + 60
