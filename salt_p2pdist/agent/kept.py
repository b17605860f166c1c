"""Swarms the tracker keeps serving after the origin stopped seeding them.

`salt-run p2pdist.stop_seeding` removes the origin's copy but the minions
still need introductions. The tracker's table lives in memory, so these
swarms are written down and registered again when the origin agent restarts
(seeded distributions come back from the order store on their own).
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

    def keep(self, dist_id: str, info_hash20: bytes, targets: list[str], torrent_name: str = "") -> None:
        data = self.load()
        data[dist_id] = {"info_hash20": info_hash20.hex(), "targets": sorted(targets),
                         "torrent_name": torrent_name}
        write_atomic(self.path, json.dumps(data).encode())

    def drop(self, dist_id: str) -> bytes | None:
        """Forget a kept swarm; its info hash if it was kept."""
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
