"""Destinations for Linux and Windows minions alike (pure: no I/O).

A push names its ``dest`` one of two ways:

- a text: ``/srv/dist`` (a POSIX dest) or ``C:\\dist``, ``D:/x``, ``\\\\server\\share\\x``
  (a Windows dest). Only minions of that kind accept it; the others refuse
  the order with a clear error, which the push reports per minion.
- a mapping by OS: ``{windows: 'C:\\dist', posix: '/srv/dist'}``: every
  minion takes the dest of its own OS, so one push serves a mixed target set.

Each dest is checked with the rules of its OS (``PureWindowsPath`` or
``PurePosixPath``, never the master's own ``PurePath``): absolute, no ``..``,
no name Windows cannot hold. ``p2pdist:allowed_dest`` may list roots of both
kinds; a dest must lie under a root of its own kind, compared without regard
to case on Windows. The master sends a mapping as JSON text (the catalog keeps
one text per distribution); :func:`for_host` turns either form into the one
path a host uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import PurePath, PurePosixPath, PureWindowsPath  # noqa: TID251 - POSIX minions' dests
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.names import POSIX, WINDOWS, element_problem

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\[^\\/?.]+[\\/][^\\/]+)")
_ALIASES = {"windows": WINDOWS, "nt": WINDOWS, "win32": WINDOWS,
            "posix": POSIX, "linux": POSIX, "unix": POSIX}
EXAMPLE = "dest=/srv/dist, dest='C:\\dist' or dest='{windows: \"C:\\dist\", posix: /srv/dist}'"


def flavor_of(path: str) -> str:
    """WINDOWS for ``C:\\x``, ``C:/x`` and UNC ``\\\\server\\share``; POSIX for ``/x``; else refused."""
    if _WINDOWS_ABSOLUTE.match(path):
        return WINDOWS
    if path.startswith("/"):
        return POSIX
    raise InvalidRequest(f"dest must be an absolute path, got {path!r} (e.g. {EXAMPLE})")


def pure(path: str, flavor: str) -> PurePath:
    return PureWindowsPath(path) if flavor == WINDOWS else PurePosixPath(path)


def check_path(path: Any, flavor: str | None = None) -> str:
    """One dest, normalised, checked with the rules of its OS (``flavor``, else guessed)."""
    if not isinstance(path, str) or not path:
        raise InvalidRequest(f"dest must be a non-empty text, got {path!r} (e.g. {EXAMPLE})")
    if "\0" in path:
        raise InvalidRequest("dest must not contain a NUL character")
    kind = flavor_of(path)
    if flavor is not None and kind != flavor:
        raise InvalidRequest(f"dest {path!r} is a {kind} path where a {flavor} path is expected")
    p = pure(path, kind)
    if not p.is_absolute():  # e.g. "C:x", relative to the drive's current directory
        raise InvalidRequest(f"dest must be an absolute path, got {path!r}")
    for element in p.parts[1:]:
        problem = element_problem(element, kind)
        if problem:
            raise InvalidRequest(f"dest {path!r} has {problem} ({element!r}); choose another dest")
    return str(p)


def parse(dest: Any) -> dict[str, str]:
    """The push's dest as {flavor: path}: from a text, a mapping, or a mapping sent as JSON."""
    if isinstance(dest, str) and dest.lstrip().startswith("{"):
        try:
            dest = json.loads(dest)
        except ValueError:
            raise InvalidRequest(f"dest {dest!r} is neither a path nor a mapping") from None
    if isinstance(dest, dict):
        if not dest:
            raise InvalidRequest(f"dest is an empty mapping (e.g. {EXAMPLE})")
        out: dict[str, str] = {}
        for key, path in dest.items():
            flavor = _ALIASES.get(str(key).lower())
            if flavor is None or flavor in out:
                raise InvalidRequest(f"dest mapping key {key!r}: use windows and/or posix once each")
            out[flavor] = check_path(path, flavor)
        return out
    path = check_path(dest)
    return {flavor_of(path): path}


def text(dests: dict[str, str]) -> str:
    """The form orders and the catalog carry: the path itself, or JSON when there are two."""
    return next(iter(dests.values())) if len(dests) == 1 else json.dumps(dests, sort_keys=True)


def within(path: str, roots: Iterable[str], flavor: str) -> bool:
    """Is ``path`` at or below one of the ``roots`` of its own OS (Windows: ignoring case)?"""
    p = pure(path, flavor)
    same = [pure(r, flavor) for r in roots_for(roots, flavor)]
    return any(p == r or r in p.parents for r in same)


def same_place(a: str | None, b: str | None, flavor: str) -> bool:
    """Do two dests name one directory by ``flavor``'s rules?

    Windows: ``C:\\Dist``, ``c:/dist/`` and ``C:\\DIST\\`` are one folder (case, ``/``
    or ``\\``, a trailing separator); POSIX: case counts, a trailing ``/`` does not.
    """
    if not a or not b:
        return (a or "") == (b or "")
    return pure(a, flavor) == pure(b, flavor)


def roots_for(roots: Iterable[str], flavor: str) -> list[str]:
    """The allowed roots that are paths of ``flavor`` (a Linux root means nothing on Windows)."""
    out = []
    for root in roots:
        try:
            if flavor_of(root) == flavor:
                out.append(root)
        except InvalidRequest:
            continue
    return out


def check_push_dest(dest: Any, allowed: list[str] | None) -> str:
    """The runner's check: every dest valid for its OS and under an allowed root of that OS."""
    if dest in ("", None):
        raise InvalidRequest(f"dest is required: the directory on the minions that receives the "
                             f"content (e.g. {EXAMPLE})")
    dests = parse(dest)
    for flavor, path in dests.items():
        if allowed is not None and not within(path, allowed, flavor):
            raise InvalidRequest(f"dest {path} is outside the allowed roots "
                                 f"{', '.join(roots_for(allowed, flavor)) or '(none for ' + flavor + ')'}; "
                                 "choose a dest below one of them, or add a root to "
                                 "p2pdist:allowed_dest in the master config")
    return text(dests)


def for_host(dest: Any, flavor: str) -> str:
    """The one dest a host of ``flavor`` uses, or InvalidRequest saying the push has none for it."""
    dests = parse(dest)
    if flavor not in dests:
        given = ", ".join(f"{k}: {v}" for k, v in dests.items())
        raise InvalidRequest(f"this push has no dest for a {flavor} minion ({given}): refused, "
                             f"nothing written. Push with a dest per OS, e.g. {EXAMPLE}")
    return dests[flavor]
