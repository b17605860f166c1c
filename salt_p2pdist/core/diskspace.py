"""How much disk space a fetch needs, per volume, and the refusal's words.

Pure arithmetic: the agent measures (free bytes, which volume a path is on)
and this module decides. A fetch downloads into staging, then moves the
files into dest. On one volume the move is a rename and needs no more
space; on two, dest needs room for the files it does not hold yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from salt_p2pdist.core.errors import NoSpace

MIB = 1024 ** 2
GIB = 1024 ** 3
# Kept free beyond the files themselves: the agent's resume data and logs,
# file system overhead, and whatever else writes to the volume meanwhile.
MARGIN_FIXED = 1 * MIB
MARGIN_FRACTION = 0.01


@dataclass(frozen=True)
class Volume:
    """A place the fetch writes to, as measured: its path, device number and free bytes."""

    path: str
    device: int
    free: int


def human(size: int) -> str:
    """``4.0 GiB``, ``12.5 MiB``, ``300 KiB``: the unit the size reads best in."""
    if size >= GIB:
        return f"{size / GIB:.1f} GiB"
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{max(size, 0) / 1024:.0f} KiB"


def margin(needed: int) -> int:
    """Bytes kept free on a volume beyond ``needed`` (1 MiB + 1 %)."""
    return MARGIN_FIXED + int(needed * MARGIN_FRACTION)


def staging_need(sizes: list[int], staged: list[int]) -> int:
    """Bytes staging still needs: each file's size less what staging already holds of it."""
    return sum(max(size - have, 0) for size, have in zip(sizes, staged, strict=True))


def shortfalls(needs: list[tuple[Volume, int]]) -> list[str]:
    """One message per volume whose free space is below its summed need plus the margin.

    Entries on the same device are added up (staging and dest on one disk)
    and named by the first entry's path.
    """
    by_device: dict[int, tuple[Volume, int]] = {}
    for volume, needed in needs:
        first, total = by_device.get(volume.device, (volume, 0))
        by_device[volume.device] = (first, total + needed)
    messages = []
    for volume, needed in by_device.values():
        wanted = needed + margin(needed)
        if needed > 0 and wanted > volume.free:
            messages.append(f"needs {human(wanted)} at {volume.path}, {human(volume.free)} free")
    return messages


def check(needs: list[tuple[Volume, int]]) -> None:
    """Raise NoSpace naming every volume that is too full; nothing has been written yet."""
    short = shortfalls(needs)
    if short:
        raise NoSpace(f"not enough disk space: {'; '.join(short)}; free some space or "
                      "choose another dest, then push again (nothing was written)")
