"""The master's append-only audit log: one JSON object per line.

Each line is written with a single ``write`` on an ``O_APPEND`` descriptor, so
concurrent runners never interleave lines, then fsynced, so an entry that was
recorded survives a crash. The file is created 0600: it names users and paths.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class AuditLog:
    path: Path
    clock: Callable[[], datetime] = _utcnow

    def record(self, action: str, user: str, *, result: str = "ok", **details: Any) -> dict[str, Any]:
        """Append one entry and return it as written (details that JSON cannot hold become str)."""
        entry = {"ts": self.clock().astimezone(timezone.utc).isoformat(timespec="milliseconds"),
                 "action": action, "user": user, "details": details, "result": result}
        line = (json.dumps(_plain(entry), default=str, sort_keys=True) + "\n").encode()
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if os.write(fd, line) != len(line):  # only on a full disk: say so, do not tear lines
                raise OSError(f"short write to the audit log {self.path}")
            os.fsync(fd)
        finally:
            os.close(fd)
        return dict(json.loads(line))  # as written: details that were not JSON are now str


def _plain(value: Any) -> Any:
    """Dict keys as text: a minion's event may carry {1: ..., "a": ...}, which sort_keys refuses."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def read(path: Path | str, limit: int = 50) -> list[dict[str, Any]]:
    """The last ``limit`` entries, oldest first; [] when there is no log yet."""
    if limit <= 0:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = deque(f, maxlen=limit)  # streams: the log may be large
    except FileNotFoundError:
        return []
    entries = []
    for line in tail:
        try:
            entries.append(json.loads(line))
        except ValueError:  # a line torn by a crash mid-write: show it, do not hide it
            entries.append({"action": "?", "raw": line.rstrip("\n"), "result": "unreadable"})
    return entries
