"""The master's catalog of distributions, targets and the latest report per host.

SQLite in WAL mode: the runner, the event returner and status queries touch it
from different processes. One row per (distribution, host) holds only the
latest report, so the store grows with hosts x distributions, not with time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS dists (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, dest TEXT NOT NULL,
    torrent BLOB NOT NULL, total_bytes INTEGER NOT NULL, num_pieces INTEGER NOT NULL,
    created REAL NOT NULL, created_by TEXT NOT NULL, cancelled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS targets (
    dist_id TEXT NOT NULL, minion TEXT NOT NULL, ordered REAL NOT NULL,
    PRIMARY KEY (dist_id, minion)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
    dist_id TEXT NOT NULL, minion TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL,
    pieces INTEGER, bytes_done INTEGER, down_rate INTEGER, up_rate INTEGER, peers INTEGER,
    downloaded INTEGER, uploaded INTEGER, eta_s INTEGER, error TEXT,
    PRIMARY KEY (dist_id, minion)) WITHOUT ROWID;
"""
REPORT_FIELDS = ("state", "pieces", "bytes_done", "down_rate", "up_rate", "peers",
                 "downloaded", "uploaded", "eta_s", "error")


class Catalog:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add_distribution(self, *, dist_id: str, name: str, source: str, dest: str, torrent: bytes,
                         total_bytes: int, num_pieces: int, user: str, targets: Iterable[str]) -> None:
        """Record a push; pushing the same content again adds targets."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO dists (id, name, source, dest, torrent, total_bytes, num_pieces, created,"
                " created_by) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " source=excluded.source, dest=excluded.dest, cancelled=0",
                (dist_id, name, source, dest, torrent, total_bytes, num_pieces, now, user))
            self.db.executemany("INSERT OR IGNORE INTO targets VALUES (?,?,?)",
                                [(dist_id, m, now) for m in targets])

    def distribution(self, dist_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM dists WHERE id=?", (dist_id,)).fetchone()
        return dict(row) if row else None

    def distributions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(
            "SELECT id, name, source, dest, total_bytes, created, created_by, cancelled"
            " FROM dists ORDER BY created")]

    def targets(self, dist_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT minion FROM targets WHERE dist_id=? ORDER BY minion", (dist_id,))]

    def host_rows(self, dist_id: str) -> list[dict[str, Any]]:
        """Every target with its latest report (NULLs when nothing heard yet)."""
        return [dict(r) for r in self.db.execute(
            "SELECT t.minion, r.* FROM targets t LEFT JOIN reports r"
            " ON r.dist_id=t.dist_id AND r.minion=t.minion WHERE t.dist_id=? ORDER BY t.minion",
            (dist_id,))]

    def state_counts(self) -> dict[str, dict[str, int]]:
        """Per distribution: how many targets are in each reported state."""
        out: dict[str, dict[str, int]] = {}
        for dist_id, state, n in self.db.execute(
                "SELECT t.dist_id, COALESCE(r.state, 'pending'), COUNT(*) FROM targets t"
                " LEFT JOIN reports r ON r.dist_id=t.dist_id AND r.minion=t.minion"
                " GROUP BY 1, 2"):
            out.setdefault(dist_id, {})[state] = n
        return out

    def record_reports(self, reports: Iterable[tuple[str, str, float, dict[str, Any]]]) -> int:
        """Upsert (dist_id, minion, ts, fields) rows in one transaction; returns the count.

        Only distributions this master issued are kept: a report about any
        other torrent is dropped.
        """
        known = {r[0] for r in self.db.execute("SELECT id FROM dists")}
        rows = [(d, m, ts, *(f.get(k) for k in REPORT_FIELDS))
                for d, m, ts, f in reports if d in known]
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")  # autocommit mode: no implicit transaction
            self.db.executemany(
                "INSERT INTO reports VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(dist_id, minion)"
                " DO UPDATE SET ts=excluded.ts, state=excluded.state, pieces=excluded.pieces,"
                " bytes_done=excluded.bytes_done, down_rate=excluded.down_rate,"
                " up_rate=excluded.up_rate, peers=excluded.peers, downloaded=excluded.downloaded,"
                " uploaded=excluded.uploaded, eta_s=excluded.eta_s, error=excluded.error"
                " WHERE excluded.ts >= reports.ts", rows)
        return len(rows)

    def cancel(self, dist_id: str) -> None:
        with self.db:
            self.db.execute("UPDATE dists SET cancelled=1 WHERE id=?", (dist_id,))
