"""Keeping the agent's resident memory bounded (Linux with glibc; elsewhere these do nothing).

libtorrent's network and disk threads and the agent's own threads each get a
malloc arena of their own by default, and memory freed in one arena is not
reused by the others: a transfer of gigabytes left ~150 MB resident. Big
short-lived buffers (resume data of a 20,000-file torrent is megabytes, and
libtorrent copies it more than once on its way to Python) leave the heap
grown after they are freed. So the agent caps the arenas when it starts and
hands free heap memory back after such work (measured: docs/benchmark.md).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

M_ARENA_MAX, M_MMAP_THRESHOLD = -8, -3  # glibc's mallopt parameters
ARENAS = 2
# Fixed, so glibc does not raise it after freeing a big block: buffers of megabytes
# (orders, torrents, resume data) are then mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 256 << 10


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl): nothing to tune
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_arenas(arenas: int = ARENAS) -> None:
    """At most ``arenas`` malloc arenas, big blocks mapped apart: call before any thread starts."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, arenas)
        _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release() -> None:
    """Give the heap's free memory back to the system (cheap: a few ms)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
