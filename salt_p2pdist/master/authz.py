"""Who may push what (R5), from the master config's ``p2pdist:admins``::

    p2pdist:
      admins:
        alice: {}                        # any path, any target
        "dist-team%":                    # a Salt eauth group (trailing %, as in external_auth)
          paths: [/srv/dist/teamA]       # may push only from under these
          targets: ["G@team:A"]          # may push only to these target expressions

A group is the user's groups on the master host, as its name service knows
them (local groups, or LDAP/AD groups through sssd): what Salt's PAM eauth
uses for its own ``group%`` entries. A user the host does not know (Salt's
``auto`` eauth, an LDAP user without NSS) has no groups.

Without ``p2pdist:admins`` anyone Salt lets run the runner may push: Salt's
publisher_acl / external_auth stay the first gate, this is a narrower second.
An empty mapping lets nobody push. A user may push when any one entry that
names them or one of their groups allows both the path and the target.

The target check compares *expressions*: the request, written the compound
way (``G@team:A`` for tgt_type grain), must equal an allowed expression; a
subset written differently (``web1`` inside ``G@team:A``) is refused. It says
nothing about which minions match, so the runner must also check that the
minions the target resolves to are within those the allowed expressions
resolve to, with :func:`targets_within` and :meth:`Admins.targets_for`.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from salt_p2pdist.core.errors import Forbidden, InvalidRequest

# tgt_type -> the compound matcher's prefix, so one spelling can be compared.
_PREFIX = {"glob": "", "compound": "", "grain": "G@", "grain_pcre": "P@", "pillar": "I@",
           "pillar_pcre": "J@", "list": "L@", "pcre": "E@", "ipcidr": "S@", "range": "R@",
           "nodegroup": "N@"}


def expression(tgt: str, tgt_type: str) -> str | None:
    """The compound-style spelling of a Salt target, or None for a type it cannot express."""
    prefix = _PREFIX.get(tgt_type)
    return None if prefix is None else " ".join(f"{prefix}{tgt}".split())


def lexical(path: PurePath) -> PurePath:
    """``path`` with ``..`` resolved by name only (no symlinks: the runner resolves those first)."""
    parts: list[str] = []
    for part in path.parts[1 if path.anchor else 0:]:
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()  # ".." at the root stays at the root
    return type(path)(path.anchor, *parts)


def host_groups(user: str) -> list[str]:
    """``user``'s group names on this host; ``sudo_<name>`` (Salt's name for a sudo user) is <name>."""
    name = user.removeprefix("sudo_")
    try:
        gids = os.getgrouplist(name, pwd.getpwnam(name).pw_gid)
    except (KeyError, OSError):
        return []
    names = set()
    for gid in gids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:  # a gid without a name: nothing to match
            continue
    return sorted(names)


def targets_within(resolved: set[str], allowed_sets: Iterable[set[str]]) -> bool:
    """True if every resolved minion is matched by one of the allowed targets."""
    return resolved <= set().union(*allowed_sets)


@dataclass(frozen=True)
class Grant:
    name: str  # a user, or a group with a trailing %
    paths: tuple[PurePath, ...] | None = None  # None: any path
    targets: tuple[str, ...] | None = None  # None: any target

    def applies_to(self, user: str, groups: Iterable[str]) -> bool:
        return self.name[:-1] in groups if self.name.endswith("%") else self.name == user

    def allows_path(self, source: PurePath) -> bool:
        # Compares whole components: /srv/dist/teamA-evil is not under /srv/dist/teamA.
        return self.paths is None or any(source == p or p in source.parents for p in self.paths)

    def allows_target(self, expr: str | None) -> bool:
        return self.targets is None or expr in self.targets

    def describe(self) -> str:
        who = f"group {self.name[:-1]}" if self.name.endswith("%") else self.name
        only = [f"only from {', '.join(map(str, self.paths))}" if self.paths is not None else "",
                f"only to {', '.join(self.targets)}" if self.targets is not None else ""]
        return f"{who} may push {' and '.join(o for o in only if o) or 'anything'}"

    @classmethod
    def from_config(cls, name: str, spec: Any) -> Grant:
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            raise InvalidRequest("expected a mapping with optional paths and targets")
        problems = []
        unknown = set(spec) - {"paths", "targets"}
        if unknown:
            problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        lists: dict[str, tuple[str, ...] | None] = {}
        for key in ("paths", "targets"):
            raw = spec.get(key)
            items = [raw] if isinstance(raw, str) else raw
            if raw is None:
                lists[key] = None
            elif not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
                problems.append(f"{key}: expected a list of strings")
            elif not items:
                problems.append(f"{key}: an empty list allows nothing; omit {key} to allow any")
            else:
                lists[key] = tuple(items)
        paths = lists.get("paths")
        for p in paths or ():
            if not PurePath(p).is_absolute():
                problems.append(f"paths: {p!r} is not an absolute path")
        if problems:
            raise InvalidRequest("; ".join(problems))
        targets = lists.get("targets")
        return cls(name, None if paths is None else tuple(lexical(PurePath(p)) for p in paths),
                   None if targets is None else tuple(" ".join(t.split()) for t in targets))


@dataclass(frozen=True)
class Admins:
    grants: tuple[Grant, ...] | None = None  # None: p2pdist:admins is not set, anyone may push

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Admins:
        """Build from ``p2pdist:admins``; report every problem at once."""
        if raw is None:
            return cls(None)
        if not isinstance(raw, Mapping):
            raise InvalidRequest("invalid p2pdist:admins: expected a mapping of users and groups%")
        problems, grants = [], []
        for name, spec in raw.items():
            if not isinstance(name, str) or not name.rstrip("%"):
                problems.append(f"{name!r}: not a user or group name")
                continue
            try:
                grants.append(Grant.from_config(name, spec))
            except InvalidRequest as e:
                problems.append(f"{name!r}: {e}")
        if problems:
            raise InvalidRequest("invalid p2pdist:admins: " + "; ".join(problems))
        return cls(tuple(grants))

    def _grants_for(self, user: str, groups: Iterable[str]) -> list[Grant]:
        groups = set(groups)
        return [g for g in self.grants or () if g.applies_to(user, groups)]

    def check(self, user: str, groups: list[str], source: PurePath, tgt: str, tgt_type: str) -> None:
        """Raise :class:`Forbidden` unless ``user`` may push ``source`` to the target."""
        if self.grants is None:
            return
        mine = self._grants_for(user, groups)
        if not mine:
            member = f" (nor are its groups: {', '.join(groups)})" if groups else ""
            raise Forbidden(f"{user} may not push: not in p2pdist:admins{member}")
        if not source.is_absolute():
            raise Forbidden(f"{user} may not push {source}: the source must be an absolute path")
        path, expr = lexical(source), expression(tgt, tgt_type)
        if any(g.allows_path(path) and g.allows_target(expr) for g in mine):
            return
        asked = expr if expr is not None else f"{tgt} ({tgt_type})"
        raise Forbidden(f"{user} may not push {path} to {asked}: "
                        + "; ".join(g.describe() for g in mine))

    def targets_for(self, user: str, groups: list[str], source: PurePath) -> list[str] | None:
        """Target expressions ``user`` may push ``source`` to; None when any target will do."""
        if self.grants is None:
            return None
        path = lexical(source)
        allowed = [g for g in self._grants_for(user, groups) if g.allows_path(path)]
        if any(g.targets is None for g in allowed):
            return None
        return sorted({t for g in allowed for t in g.targets or ()})
