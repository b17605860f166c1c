"""The master's :class:`~salt_p2pdist.master.minions.Minions` for the agents mode: no Salt transport.

What the runner publishes through Salt is handed to each host's execution
module by :mod:`lab.courier` instead: same function, same keyword arguments,
each host's return collected as the master would collect it.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from lab.agentspec import Host
from lab.courier import deliver
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.master.terminal import Painter


class LabMinions:
    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = {h.id: h for h in hosts}

    def resolve(self, tgt: str, tgt_type: str) -> list[str]:
        """Glob and list targets, as Salt matches them against accepted minion ids."""
        if tgt_type == "glob":
            return sorted(fnmatch.filter(self.hosts, tgt))
        if tgt_type == "list":
            named = tgt.split(",") if isinstance(tgt, str) else list(tgt)
            return sorted({n.strip() for n in named} & set(self.hosts))
        raise InvalidRequest(f"the lab's agents mode matches glob and list targets only, not {tgt_type}")

    def _of(self, targets: list[str]) -> list[Host]:
        return [self.hosts[t] for t in targets if t in self.hosts]

    def ask(self, targets: list[str], fun: str, kwarg: dict[str, Any], timeout: int,
            painter: Painter) -> dict[str, Any]:
        painter.note(f"p2pdist: {fun} delivered to {len(targets)} host(s) without Salt (lab agents "
                     f"mode); waiting up to {timeout} s for their answers")
        returns = deliver(self._of(targets), fun, [], kwarg, timeout)
        silent = sorted(set(targets) - set(returns))
        if silent:
            painter.note(f"p2pdist: no answer from {', '.join(silent)} within {timeout} s")
        return returns

    def run(self, targets: list[str], fun: str, args: list[Any], kwarg: dict[str, Any] | None,
            timeout: int) -> dict[str, Any]:
        return deliver(self._of(targets), fun, args, kwarg or {}, timeout)

    def send(self, targets: list[str], fun: str, kwarg: dict[str, Any]) -> None:
        """Salt publishes and returns at once; here the call is made and its answer dropped."""
        deliver(self._of(targets), fun, [], kwarg, 30)
