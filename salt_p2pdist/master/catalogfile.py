"""The catalog's SQLite file: its tables, their upgrade in place, and the connection held open.

Apart from the queries (catalog.py) because it is about the file, not the data:
a catalog made by an earlier release gains the columns added since, the file's
recorded schema spares the returner that work on every batch, and one idle
connection per process keeps commits from checkpointing the WAL away.
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from pathlib import Path

# reports are keyed minion first: a minion's report rewrites its rows for every
# distribution, and with them side by side that is a page or two, not a page per
# distribution (catalogs made before keep (dist_id, minion), which still works).
SCHEMA = """
CREATE TABLE IF NOT EXISTS dists (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, dest TEXT NOT NULL,
    torrent BLOB NOT NULL, total_bytes INTEGER NOT NULL, num_pieces INTEGER NOT NULL,
    created REAL NOT NULL, created_by TEXT NOT NULL, cancelled INTEGER NOT NULL DEFAULT 0,
    quiet_after REAL, quiet_at REAL, priority TEXT);
CREATE TABLE IF NOT EXISTS targets (
    dist_id TEXT NOT NULL, minion TEXT NOT NULL, ordered REAL NOT NULL, order_id TEXT,
    PRIMARY KEY (dist_id, minion)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports (
    dist_id TEXT NOT NULL, minion TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL,
    pieces INTEGER, bytes_done INTEGER, down_rate INTEGER, up_rate INTEGER, peers INTEGER,
    downloaded INTEGER, uploaded INTEGER, eta_s INTEGER, error TEXT,
    site TEXT, from_site INTEGER, from_remote INTEGER, from_origin INTEGER, order_id TEXT,
    PRIMARY KEY (minion, dist_id)) WITHOUT ROWID;
"""
# Columns added after catalogs were in use: (table, column, type), added when missing.
# quiet_after: the grace in seconds (-1: never; NULL: the master's default); quiet_at: when the
# swarm goes (went) quiet, set once every target holds the distribution (master/quieting.py).
ADDED_COLUMNS = (("targets", "order_id", "TEXT"), ("reports", "order_id", "TEXT"),
                 ("dists", "quiet_after", "REAL"), ("dists", "quiet_at", "REAL"),
                 ("dists", "priority", "TEXT"))
# priority: urgent, normal or background (core/priority.py); NULL (pushed before priorities): normal.
SCHEMA += """
CREATE TABLE IF NOT EXISTS site_grains (minion TEXT PRIMARY KEY, site TEXT NOT NULL) WITHOUT ROWID;
"""
# Minions a push's allow= expression matched (admission.py): admitted, never ordered.
SCHEMA += """
CREATE TABLE IF NOT EXISTS allowed (
    dist_id TEXT NOT NULL, minion TEXT NOT NULL, rule TEXT NOT NULL, added REAL NOT NULL,
    PRIMARY KEY (dist_id, minion)) WITHOUT ROWID;
"""
# (pid, path) -> an idle connection held for the life of this process; see _hold_open.
_HELD: dict[tuple[int, str], sqlite3.Connection] = {}
HELD_MAX = 8  # catalogs per process; a master has one, the tests open many


def _hold_open(path: Path) -> None:
    """Keep one idle connection to the catalog open in this process.

    When the last connection to a WAL database closes, SQLite checkpoints the
    WAL into the database and deletes it: four fsyncs and an unlink. The event
    returner opens and closes the catalog per batch -- with Salt's default
    ``event_return_queue: 0``, per event -- so every report paid for that. An
    idle connection that has read once holds the WAL open: commits then cost no
    fsync (``synchronous=NORMAL``) and SQLite still checkpoints every
    ``wal_autocheckpoint`` pages. It never holds a transaction, so it blocks no
    writer and no checkpoint. Connections a forked parent held are left alone.
    """
    key = (os.getpid(), os.path.abspath(path))
    if key in _HELD:
        return
    conn = sqlite3.connect(key[1], timeout=30, check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # maps the WAL index
    _HELD[key] = conn
    mine = [k for k in _HELD if k[0] == key[0]]
    for old in mine[:-HELD_MAX]:
        _HELD.pop(old).close()



def connect(path: Path) -> sqlite3.Connection:
    """A connection to the catalog at ``path`` (made or upgraded to this schema), in autocommit mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA synchronous=NORMAL")
    # The returner opens the catalog per batch: set up the file only when
    # its recorded schema is not this one (WAL mode is stored in the file).
    version = zlib.crc32(SCHEMA.encode()) & 0x7FFFFFFF
    if db.execute("PRAGMA user_version").fetchone()[0] != version:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        for table, column, kind in ADDED_COLUMNS:
            if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        db.execute(f"PRAGMA user_version={version}")
    _hold_open(path)
    return db
