"""Two-person rule: large or sensitive pushes and cancels wait for a second admin.

From the master config::

    p2pdist:
      approval:
        max_targets: 50              # more targets than this needs a second admin
        protected: ["G@role:db"]     # any target matched by one of these needs one too

A request that needs approval is written down here and nothing else happens:
no torrent is made, no minion gets an order. ``salt-run p2pdist.approve <id>``
by another admin carries it out as it was asked; the requester cannot approve
their own request. A request is carried out at most once (the approval takes
its file away first) and expires after ``ttl`` seconds.

The rule itself is pure (:class:`ApprovalRule`); :class:`ApprovalDesk` keeps
the requests as one JSON file each, so a request survives a master restart.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salt_p2pdist.core.errors import Forbidden, InvalidRequest, NotFound

DEFAULT_TTL_S = 24 * 3600


@dataclass(frozen=True)
class ApprovalRule:
    max_targets: int | None = None
    protected: tuple[str, ...] = ()
    ttl: float = DEFAULT_TTL_S

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> ApprovalRule:
        """``p2pdist:approval``; every problem named at once."""
        if not raw:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidRequest("p2pdist:approval must be a mapping with max_targets and/or protected")
        problems = [f"unknown key {k!r}" for k in raw if k not in ("max_targets", "protected", "ttl")]
        limit = raw.get("max_targets")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            problems.append(f"max_targets must be a whole number >= 0, not {limit!r}")
        protected = raw.get("protected") or []
        if not isinstance(protected, list) or not all(isinstance(p, str) and p.strip() for p in protected):
            problems.append("protected must be a list of compound target expressions")
        ttl = raw.get("ttl", DEFAULT_TTL_S)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            problems.append(f"ttl must be a number of seconds > 0, not {ttl!r}")
        if problems:
            raise InvalidRequest("p2pdist:approval: " + "; ".join(problems))
        return cls(max_targets=limit, protected=tuple(protected), ttl=float(ttl))

    @property
    def active(self) -> bool:
        return self.max_targets is not None or bool(self.protected)

    def reasons(self, targets: Iterable[str], resolve: Callable[[str], Iterable[str]]) -> list[str]:
        """Why these targets need a second admin ([] when they do not).

        ``resolve`` turns a compound expression into minion ids (Salt's matcher,
        handed in so this stays pure).
        """
        targets = set(targets)
        why = []
        if self.max_targets is not None and len(targets) > self.max_targets:
            why.append(f"{len(targets)} targets, more than approval:max_targets ({self.max_targets})")
        for expr in self.protected:
            hit = sorted(targets & set(resolve(expr)))
            if hit:
                named = ", ".join(hit[:5]) + (" ..." if len(hit) > 5 else "")
                why.append(f"protected target {expr!r} ({named})")
        return why


@dataclass
class ApprovalDesk:
    directory: Path
    clock: Callable[[], float] = field(default=time.time)

    def request(self, action: str, user: str, args: Mapping[str, Any], reasons: list[str]) -> dict[str, Any]:
        """Write a request down; returns it with its id."""
        rid = secrets.token_hex(6)
        entry = {"id": rid, "action": action, "user": user, "args": dict(args),
                 "reasons": reasons, "created": self.clock()}
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{rid}.tmp"
        tmp.write_text(json.dumps(entry, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.directory / f"{rid}.json")
        return entry

    def pending(self, ttl: float = DEFAULT_TTL_S) -> list[dict[str, Any]]:
        """Requests still waiting, oldest first; expired ones are dropped."""
        found = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if self.clock() - float(entry.get("created", 0)) > ttl:
                path.unlink(missing_ok=True)
                continue
            found.append(entry)
        return sorted(found, key=lambda e: e["created"])

    def take(self, rid: str, approver: str, ttl: float = DEFAULT_TTL_S) -> dict[str, Any]:
        """Hand a request over for execution, once, to an admin who did not ask for it."""
        entry = next((e for e in self.pending(ttl) if e["id"] == rid), None)
        if entry is None:
            raise NotFound(f"no request {rid!r} awaits approval (already approved, expired or mistyped); "
                           "list them with: salt-run p2pdist.status")
        if entry["user"] == approver:
            raise Forbidden(f"{approver} asked for {rid} and cannot approve it: another admin must "
                            f"run salt-run p2pdist.approve {rid}")
        try:  # the rename is the one-time gate: two approvers cannot both win it
            os.replace(self.directory / f"{rid}.json", self.directory / f".{rid}.taken")
        except FileNotFoundError:
            raise NotFound(f"request {rid!r} was approved by someone else meanwhile") from None
        (self.directory / f".{rid}.taken").unlink(missing_ok=True)
        return entry
