"""Copying the first bytes of a file, in chunks, so a reader never sees half of it.

Used to seed a staging area from an older copy of a file: the copy is a
separate file (never a hard link, which libtorrent would then write into,
changing the old copy too), written next to its target under a temporary
name and renamed into place. Large files are read a chunk at a time, and the
caller is asked after each chunk whether to go on: a copy of several GiB runs
in a worker thread and must stop within a chunk when its distribution is
removed or the agent stops.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20
PARTIAL_SUFFIX = ".p2pdist-partial"


class CopyStopped(Exception):
    """The caller said stop: the partial copy is deleted, the target was never written."""


class StagingUnwritable(OSError):
    """Reading or writing failed once the source was open (a full disk, an I/O error):
    further copies into the same place would likely fail as well."""


def partial_name(target: Path) -> Path:
    """Where a copy to ``target`` is written before it is renamed into place."""
    return target.with_name(f".{target.name}{PARTIAL_SUFFIX}")


def copy_prefix(source: Path, target: Path, length: int,
                go_on: Callable[[int], bool] = lambda _n: True) -> int:
    """Copy at most ``length`` bytes from the start of ``source`` to ``target``; the bytes copied.

    ``go_on(n)`` is called after each chunk of ``n`` bytes is written; False
    stops the copy (CopyStopped). A source that cannot be opened raises its
    OSError (the caller skips that file); any failure after that raises
    StagingUnwritable. Either way nothing is left at ``target`` or beside it.
    """
    tmp = partial_name(target)
    copied = 0
    with source.open("rb") as src:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as dst:
                while copied < length:
                    chunk = src.read(min(CHUNK, length - copied))
                    if not chunk:
                        break  # the source shrank meanwhile: libtorrent fetches the rest
                    dst.write(chunk)
                    copied += len(chunk)
                    if not go_on(len(chunk)):
                        raise CopyStopped(str(target))
            os.replace(tmp, target)
        except OSError as exc:
            raise StagingUnwritable(exc.errno, f"copying {source} to {target}: {exc.strerror or exc}") \
                from exc
        finally:
            with contextlib.suppress(OSError):  # never hide why the copy failed
                tmp.unlink(missing_ok=True)
    return copied
