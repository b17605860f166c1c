"""Files that hold secrets, private from their first byte.

Swarm certificates, TLS and CA keys and the agent's API token must never be
readable by another local user, not even for the moment between creating a file and a later chmod. Every such
file is written here: a fresh temporary file created with ``O_EXCL`` and mode
0600 (so the umask can only remove bits, and an attacker's file or symlink
at that name is never reused), then renamed over the target atomically.

On Windows, POSIX modes mean little: each secret file, and the state
directory, get an ACL granting the agent's own account alone (files/acl.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.files import acl
from salt_p2pdist.files.acl import AclError

log = logging.getLogger(__name__)
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` (mode 0600) atomically; False if ``exclusive`` and it exists.

    ``exclusive`` is for keys made once: a second writer racing the first
    keeps the file already in place instead of replacing it under a reader.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    fd = os.open(tmp, flags, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _restrict_to_owner(tmp)
        if not exclusive:
            os.replace(tmp, path)
            return True
        return _link_new(tmp, path)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def _link_new(tmp: Path, path: Path) -> bool:
    """Put ``tmp`` at ``path`` only if nothing is there yet."""
    try:
        if hasattr(os, "link"):
            os.link(tmp, path)
        else:  # pragma: no cover - no hard links: rename refuses an existing target on Windows
            os.rename(tmp, path)
    except FileExistsError:
        return False
    return True


def private_dir(path: Path) -> None:
    """Create ``path`` (0700), or tighten it with a warning; refuse one another user owns."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if acl.on_windows():
        _restrict_to_owner(path, directory=True)
        return
    st = path.stat()
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise InvalidRequest(f"{path} belongs to uid {st.st_uid}, not to this process's user "
                             f"(uid {os.geteuid()}): refused. Give it to the agent's user "
                             "(chown) or choose another p2pdist:state_dir.")
    if stat.S_IMODE(st.st_mode) & 0o077:
        log.warning("%s was mode %o: other local users could reach p2pdist's secrets; "
                    "set to 0700", path, stat.S_IMODE(st.st_mode))
        os.chmod(path, PRIVATE_DIR)  # noqa: TID251 - POSIX branch; Windows takes acl.py above


def _restrict_to_owner(path: Path, *, directory: bool = False) -> None:
    """Windows: an ACL granting the agent's own account alone (files/acl.py)."""
    try:
        acl.restrict_to_owner(path, directory=directory)
    except AclError as exc:  # the agent still runs; the admin must know its secrets are exposed
        log.error("cannot make %s private to this account: %s. Keep the state directory "
                  "readable by SYSTEM and Administrators only (Salt's cachedir is)", path, exc)
