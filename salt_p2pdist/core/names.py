"""Which file names a torrent may bring onto a host (pure: no I/O).

A torrent names the files it creates. The master signs what it issues, but a
name that climbs out of ``dest`` (``..``, ``/etc/x``, ``C:\\x``) or that the
host's file system cannot hold must be refused before anything is written,
not silently renamed the way libtorrent does. Names are checked with the
rules of the OS the host runs (``flavor``): every host refuses traversal,
absolute paths, drive letters, backslashes and empty elements; a Windows host
also refuses device names (``CON``, ``NUL``, ``COM1`` ...), characters
Windows forbids, a trailing dot or space, and names that differ only in case.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence

from salt_p2pdist.core.errors import InvalidRequest

POSIX, WINDOWS = "posix", "windows"
MAX_ELEMENT = 255  # NAME_MAX (bytes) on POSIX file systems, characters on NTFS
MAX_PATH = {POSIX: 4095, WINDOWS: 259}  # PATH_MAX - 1; MAX_PATH - 1 without long-path support
_DRIVE = re.compile(r"^[A-Za-z]:")
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)}
_DEVICES = ({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
            | {f"{d}{n}" for d in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]})


def local_flavor() -> str:
    """The rules of the OS this code runs on."""
    return WINDOWS if sys.platform == "win32" else POSIX


def element_problem(element: str, flavor: str) -> str:
    """Why ``element`` cannot be one component of a path under dest ('' if it can)."""
    if element in ("", ".", ".."):
        return "an empty, '.' or '..' path element"
    if "/" in element or "\\" in element:
        return "a slash or backslash inside a name (an absolute or nested path)"
    if "\0" in element:
        return "a NUL character"
    if _DRIVE.match(element):
        return "a drive letter"
    size = len(element.encode("utf-8", "surrogatepass")) if flavor == POSIX else len(element)
    if size > MAX_ELEMENT:
        return f"a name longer than {MAX_ELEMENT} {'bytes' if flavor == POSIX else 'characters'}"
    if flavor == WINDOWS:
        bad = sorted(set(element) & _WINDOWS_FORBIDDEN)
        if bad:
            return f"characters Windows forbids ({', '.join(repr(c) for c in bad)})"
        if element[-1] in ". ":
            return "a trailing dot or space (Windows drops it)"
        if element.split(".")[0].rstrip(" ").upper() in _DEVICES:
            return "a Windows device name"
    return ""


def check_paths(paths: Iterable[Sequence[str]], flavor: str) -> None:
    """Refuse (InvalidRequest) the first path (a sequence of elements) this host cannot hold."""
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for elements in paths:
        shown = "/".join(elements)
        if not elements:
            raise InvalidRequest("refused: the torrent has an empty file path; nothing written")
        for element in elements:
            problem = element_problem(element, flavor)
            if problem:
                raise InvalidRequest(f"refused: torrent path {shown!r} has {problem}; nothing written. "
                                     "Rename it at the source and push again.")
        if flavor != WINDOWS:
            continue
        for depth in range(1, len(elements) + 1):  # Windows ignores case: a/x and A/x are one file
            prefix = tuple(elements[:depth])
            other = seen.setdefault(tuple(e.casefold() for e in prefix), prefix)
            if other != prefix:
                raise InvalidRequest(f"refused: torrent paths {'/'.join(other)!r} and "
                                     f"{'/'.join(prefix)!r} differ only in case, which Windows "
                                     "cannot hold apart; nothing written")


def check_length(dest: str, paths: Iterable[str], flavor: str) -> None:
    """Refuse a file whose full path under ``dest`` is longer than the OS allows."""
    limit = MAX_PATH[flavor]
    for rel in paths:
        full = f"{dest.rstrip('/').rstrip(chr(92))}/{rel}"
        size = len(full.encode("utf-8", "surrogatepass")) if flavor == POSIX else len(full)
        if size > limit:
            raise InvalidRequest(f"refused: {full[:60]}... would be {size} long, over this host's "
                                 f"limit of {limit}; choose a shorter dest or shorter names")
