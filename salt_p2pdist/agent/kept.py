"""Swarms the tracker keeps serving after the origin stopped seeding them.

`salt-run p2pdist.stop_seeding` removes the origin's copy but the minions
still need introductions. The tracker's table lives in memory, so these
swarms are written down and registered again when the origin agent restarts
(seeded distributions come back from the order store on their own). Each
keeps its torrent too: orders for big torrents name them, and a later target
fetches the torrent from the tracker (master/orders.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salt_p2pdist.files.atomic import write_atomic


class KeptSwarms:
    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        """dist_id -> {"info_hash20": hex, "targets": [...]}; empty if none or unreadable."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def torrent_file(self, dist_id: str) -> Path:
        return self.path.parent / "kept_torrents" / f"{dist_id}.torrent"

    def torrent(self, dist_id: str) -> bytes | None:
        """A kept swarm's torrent, None if not kept (or kept by an earlier version)."""
        try:
            return self.torrent_file(dist_id).read_bytes()
        except OSError:
            return None

    def keep(self, dist_id: str, info_hash20: bytes, targets: list[str], torrent_name: str = "",
             torrent: bytes = b"") -> None:
        if torrent:
            self.torrent_file(dist_id).parent.mkdir(exist_ok=True)
            write_atomic(self.torrent_file(dist_id), torrent)
        data = self.load()
        data[dist_id] = {"info_hash20": info_hash20.hex(), "targets": sorted(targets),
                         "torrent_name": torrent_name}
        write_atomic(self.path, json.dumps(data).encode())

    def drop(self, dist_id: str) -> bytes | None:
        """Forget a kept swarm; its info hash if it was kept."""
        self.torrent_file(dist_id).unlink(missing_ok=True)
        data = self.load()
        entry = data.pop(dist_id, None)
        if entry is None:
            return None
        write_atomic(self.path, json.dumps(data).encode())
        return bytes.fromhex(str(entry["info_hash20"]))


class QuietTimes:
    """When each swarm goes quiet, as the master set it: the tracker's table lives in memory,
    so a restarted origin must still answer quiet holders (and not wake them by forgetting)."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def set(self, dist_id: str, quiet_at: float | None) -> None:
        data = self.load()
        if quiet_at is None:
            if data.pop(dist_id, None) is None:
                return
        else:
            data[dist_id] = quiet_at
        write_atomic(self.path, json.dumps(data).encode())
