"""The agent's memory tuning: glibc's on Linux, nothing elsewhere (Windows agents run the same code)."""

from __future__ import annotations

import sys

import pytest

from salt_p2pdist.agent import memory


def test_elsewhere_than_linux_there_is_nothing_to_tune(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert memory._libc() is None
    monkeypatch.setattr(memory, "_LIBC", None)
    memory.limit_arenas()  # no-ops, no error
    memory.release()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_on_linux_free_heap_memory_goes_back_to_the_system() -> None:
    import psutil

    if memory._LIBC is None:
        pytest.skip("not glibc")
    proc = psutil.Process()
    blocks = [bytearray(1000) for _ in range(100_000)]  # ~110 MB of small blocks, on the heap
    grown = proc.memory_info().rss
    del blocks[:-1]  # all freed but the last: the heap cannot shrink from its top
    memory.release()
    assert proc.memory_info().rss < grown - 50_000_000
