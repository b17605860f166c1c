"""Moving verified content from staging into dest so that it appears there at once.

A file appears by one rename. A directory tree whose top directory is not at
dest yet also appears by one rename, of that top directory: whoever looks at
dest sees nothing of the distribution, then all of it, never a tree filling
up file by file (20,000 renames take seconds). Across file systems, the copy
is made next to the target under a hidden name and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath  # noqa: TID251 - "/"-separated paths inside the torrent

from salt_p2pdist.files import failures

PARTIAL = ".p2pdist-partial"


def partial_name(dst: Path) -> Path:
    """Where a copy of ``dst`` is made before it is renamed into place."""
    return dst.with_name(f".{dst.name}{PARTIAL}")


def move_file(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        if not failures.cross_device(exc):  # in use, read-only, too long: copying would not help
            raise
        tmp = partial_name(dst)
        try:
            shutil.copy2(src, tmp)
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)  # never leave a half-written copy at dest
        src.unlink()


def move_tree(src: Path, dst: Path, inside: Iterable[str]) -> None:
    """Rename the directory ``src`` to ``dst`` (absent); ``inside``: its files, "/"-relative to it.

    Across file systems the files listed are copied into a hidden sibling of
    ``dst``, which is renamed to ``dst`` once complete, then ``src`` goes.
    """
    try:
        os.replace(src, dst)
        return
    except OSError as exc:
        if not failures.cross_device(exc):
            raise
    tmp = partial_name(dst)
    try:
        for rel in inside:
            target = tmp.joinpath(*PurePosixPath(rel).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src.joinpath(*PurePosixPath(rel).parts), target)
        os.replace(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave a half-made copy at dest
    shutil.rmtree(src, ignore_errors=True)
