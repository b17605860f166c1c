"""Writing a file so a reader sees the old contents or the new, never half of either.

The data goes to ``<name>.tmp`` first, is flushed to disk, then renamed over
the target (``os.replace`` is atomic on POSIX and on NTFS). A crash leaves at
worst a stray ``.tmp`` next to an intact file.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
