"""One agent per state directory, enforced with an OS file lock (POSIX and Windows)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import IO


class SingleInstance:
    def __init__(self, path: Path):
        self.path = path
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a+b")
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:  # the POSIX branch of the one place that picks a lock per OS
                import fcntl  # noqa: TID251

                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the lock on both systems
