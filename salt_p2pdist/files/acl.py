"""Windows access control for p2pdist's files (on POSIX every call here does nothing).

On Windows ``chmod 0o600`` only toggles the read-only bit: a file is as
private as the ACL it inherits. So the agent's secrets (the API token in
``agent.json``, TLS and CA keys) and its state directory get an ACL of their
own, granting the account the agent runs as and nobody else. Files moved
into ``dest`` go the other way: a same-volume rename keeps the ACL they had in
the locked-down staging area, so their ACL is reset to what ``dest`` passes
on, as for a file created there, and the laptop's user can use them.

``icacls`` (part of every Windows since Vista) does the work; the account is
named by its SID, which does not depend on the system's language.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
# Explicit grants an existing folder often carries: Everyone, Authenticated Users, Users.
BROAD_GROUPS = ("*S-1-1-0", "*S-1-5-11", "*S-1-5-32-545")
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


class AclError(OSError):
    """icacls refused; the message says what and why."""


def on_windows() -> bool:
    return os.name == "nt"


def run(args: list[str]) -> str:
    """The one call to the system (faked in tests): a Windows tool's output, AclError on failure."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False, creationflags=_NO_WINDOW)
    if proc.returncode != 0:
        raise AclError(f"{' '.join(args[:2])} failed ({proc.returncode}): "
                       f"{(proc.stderr or proc.stdout).strip()[:200]}")
    return proc.stdout


@functools.cache
def own_sid() -> str:
    """The SID of the account this process runs as (S-1-5-18 for SYSTEM)."""
    line = run(["whoami", "/user", "/fo", "csv", "/nh"]).strip().splitlines()[-1]
    sid = line.rsplit(",", 1)[-1].strip().strip('"')
    if not sid.startswith("S-1-"):
        raise AclError(f"cannot read this account's SID from whoami: {line!r}")
    return sid


def restrict_to_owner(path: Path, *, directory: bool = False) -> None:
    """Only this process's account may read or change ``path`` (a directory: and what it will hold)."""
    if not on_windows():
        return
    grant = f"*{own_sid()}:{'(OI)(CI)' if directory else ''}F"
    run(["icacls", str(path), "/inheritance:r", "/grant:r", grant, "/remove:g", *BROAD_GROUPS, "/Q"])


def inherit_from_parent(path: Path, *, tree: bool = False) -> None:
    """Give ``path`` the ACL a file created in its folder would get (``tree``: and all below it).

    A failure is logged, not raised: the file is in place and verified; only
    who may read it differs, which the log then says.
    """
    if not on_windows():
        return
    try:
        run(["icacls", str(path), "/reset", *(["/T"] if tree else []), "/Q"])
    except AclError as exc:
        log.error("%s keeps the ACL of p2pdist's staging area (users may not read it): %s", path, exc)
