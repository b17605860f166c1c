"""What the agent keeps on disk, so a restart resumes instead of starting over.

Per distribution: ``dists/<id>/order.json`` (the order and where the data
lives now) and ``resume.dat`` (libtorrent resume data: pieces we have).
Every write goes to a temporary file first and is renamed into place. Both
files are private (0600 from the first byte, see secretfile.py): the order
holds the host's certificate for the swarm, which is how the tracker and the
peers know it; what a host holds and where is nobody else's business either.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from salt_p2pdist.files.secretfile import write_private


class OrderStore:
    def __init__(self, dists_dir: Path):
        self.root = dists_dir

    def save(self, dist_id: str, record: dict[str, Any]) -> None:
        write_private(self.root / dist_id / "order.json", json.dumps(record, indent=1).encode())

    def save_resume(self, dist_id: str, data: bytes) -> None:
        if (self.root / dist_id).is_dir():
            write_private(self.root / dist_id / "resume.dat", data)

    def resume(self, dist_id: str) -> bytes | None:
        path = self.root / dist_id / "resume.dat"
        return path.read_bytes() if path.is_file() else None

    def load_all(self) -> list[tuple[dict[str, Any], bytes | None]]:
        out = []
        for order in sorted(self.root.glob("*/order.json")):
            try:
                record = json.loads(order.read_text())
            except (OSError, ValueError):
                continue  # a torn record: the master will order it again
            resume = order.with_name("resume.dat")
            out.append((record, resume.read_bytes() if resume.is_file() else None))
        return out

    def forget(self, dist_id: str) -> None:
        shutil.rmtree(self.root / dist_id, ignore_errors=True)
