"""Large content for the large-content bench and test: one big file, a tree of many small ones.

Real data, not sparse files: the bytes are pseudo-random (a seeded generator,
so two runs hash alike) and written in chunks, so memory stays flat however
big the file is. Copies are compared by SHA-256, file by file.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

CHUNK = 4 << 20
FILES_PER_DIR = 100
SMALL_MIN, SMALL_MAX = 256, 16 << 10  # a tree's file sizes, uniform: about 8 KiB each


def make_file(path: Path, size: int, seed: int = 1) -> Path:
    """``size`` pseudo-random bytes at ``path``, written CHUNK at a time."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            out.write(rng.randbytes(n))
            left -= n
    return path


def make_tree(root: Path, count: int, seed: int = 2) -> Path:
    """``count`` small files under ``root``, FILES_PER_DIR per directory (``d000/f00000.dat``)."""
    rng = random.Random(seed)
    for i in range(count):
        path = root / f"d{i // FILES_PER_DIR:03d}" / f"f{i:05d}.dat"
        if i % FILES_PER_DIR == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(SMALL_MIN, SMALL_MAX)))
    return root


def digests(root: Path) -> dict[str, str]:
    """Path relative to ``root`` -> SHA-256 of every file under it (``root`` itself if a file)."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    out = {}
    for path in files:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        out[path.relative_to(root).as_posix() if path != root else path.name] = h.hexdigest()
    return out


def count_files(root: Path) -> int:
    """Files under ``root`` now (0 if absent); tolerant of a tree that changes while it is read."""
    total = 0
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    total += count_files(Path(entry.path))
                else:
                    total += 1
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return total


def size_of(root: Path) -> int:
    return root.stat().st_size if root.is_file() else sum(p.stat().st_size for p in root.rglob("*")
                                                           if p.is_file())
