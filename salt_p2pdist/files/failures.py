"""What an OSError while placing files means, in words an admin can act on.

Windows refuses to replace or delete a file another process holds open
(antivirus scanning it, an installer running from ``dest``): WinError 32
(sharing violation) or 5 (access denied, also for a read-only file). Those are
not "another volume": only a real cross-device rename (``EXDEV``; Windows
maps ERROR_NOT_SAME_DEVICE, 17, to it) may fall back to copying.
"""

from __future__ import annotations

import errno

# Windows error codes (winerror.h) seen when placing files.
_WINDOWS = {
    5: "access denied (a read-only file, or held open by another program)",
    32: "in use by another program (antivirus, an installer running from dest?)",
    33: "locked by another program",
    206: "the path is too long for Windows (enable long paths, or choose a shorter dest)",
    112: "the disk is full",
}
_POSIX = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (read-only or immutable)",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "the path is too long",
    errno.ENOSPC: "no space left on the device",
    errno.EBUSY: "in use",
    errno.ETXTBSY: "in use (a running program)",
}


def cross_device(exc: OSError) -> bool:
    """A rename across file systems, which copying can replace; nothing else is."""
    return exc.errno == errno.EXDEV or getattr(exc, "winerror", None) == 17


def reason(exc: OSError) -> str:
    """One line: the file, what went wrong, and the system's own code."""
    winerror = getattr(exc, "winerror", None)
    what = _WINDOWS.get(winerror or -1) or _POSIX.get(exc.errno or -1) or (exc.strerror or str(exc))
    code = f"WinError {winerror}" if winerror else errno.errorcode.get(exc.errno or -1, str(exc.errno))
    where = exc.filename2 or exc.filename
    return f"{where}: {what} [{code}]" if where else f"{what} [{code}]"
