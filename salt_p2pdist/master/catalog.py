"""The master's catalog of distributions, targets and the latest report per host.

SQLite in WAL mode: the runner, the event returner and status queries touch it
from different processes. One row per (distribution, host) holds only the
latest report, so the store grows with hosts x distributions, not with time.
The file itself (tables, upgrades, the connection held open) is catalogfile.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.priority import DEFAULT as DEFAULT_PRIORITY
from salt_p2pdist.core.reports import REPORT_FIELDS
from salt_p2pdist.master import catalogfile

# The hosts status shows: every target, and every allowed minion once it reported.
HOSTS = ("(SELECT dist_id, minion, order_id FROM targets UNION ALL"
         " SELECT a.dist_id, a.minion, NULL FROM allowed a JOIN reports r"
         " ON r.dist_id=a.dist_id AND r.minion=a.minion WHERE NOT EXISTS"
         " (SELECT 1 FROM targets x WHERE x.dist_id=a.dist_id AND x.minion=a.minion))")
_COLUMNS = ("dist_id", "minion", "ts", *REPORT_FIELDS)
# Only a newer report replaces a row: events may arrive out of order.
UPSERT = (f"INSERT INTO reports ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
          " ON CONFLICT(dist_id, minion) DO UPDATE SET "
          + ", ".join(f"{c}=excluded.{c}" for c in ("ts", *REPORT_FIELDS) if c != "site")
          # An order's answer names no site: the last report's stays.
          + ", site=COALESCE(excluded.site, reports.site)"
          + " WHERE excluded.ts >= reports.ts")


class Catalog:
    def __init__(self, path: Path):
        self.db = catalogfile.connect(path)

    def close(self) -> None:
        self.db.close()

    def add_distribution(self, *, dist_id: str, name: str, source: str, dest: str, torrent: bytes,
                         total_bytes: int, num_pieces: int, user: str, targets: Iterable[str],
                         allowed: Iterable[str] = (), rule: str = "", quiet_after: float | None = None,
                         priority: str = "") -> str:
        """Record a push and its order to ``targets``; returns the order's id.

        Pushing the same content again adds targets and allowed minions; the
        minions ordered now get the new order id, so their earlier reports no
        longer count (see ``status.current_state``). After a cancel, the
        distribution starts afresh: the earlier targets and their reports are
        dropped. The torrent is replaced: each push signs the admitted minions into it.
        ``priority`` "" keeps a re-pushed distribution's level (a new one is normal).
        """
        now = time.time()
        order_id = secrets.token_hex(8)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if self.db.execute("SELECT 1 FROM dists WHERE id=? AND cancelled=1", (dist_id,)).fetchone():
                self.db.execute("DELETE FROM targets WHERE dist_id=?", (dist_id,))
                self.db.execute("DELETE FROM reports WHERE dist_id=?", (dist_id,))
            self.db.execute(
                "INSERT INTO dists (id, name, source, dest, torrent, total_bytes, num_pieces, created,"
                " created_by, quiet_after, priority) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET"
                " source=excluded.source, dest=excluded.dest, torrent=excluded.torrent, cancelled=0,"
                " quiet_after=excluded.quiet_after, quiet_at=NULL,"
                " priority=CASE WHEN ? = '' THEN dists.priority ELSE excluded.priority END",
                (dist_id, name, source, dest, torrent, total_bytes, num_pieces, now, user, quiet_after,
                 priority or DEFAULT_PRIORITY, priority))
            self.db.executemany(
                "INSERT INTO targets (dist_id, minion, ordered, order_id) VALUES (?,?,?,?)"
                " ON CONFLICT(dist_id, minion) DO UPDATE SET ordered=excluded.ordered,"
                " order_id=excluded.order_id", [(dist_id, m, now, order_id) for m in targets])
            self.db.executemany("INSERT OR IGNORE INTO allowed VALUES (?,?,?,?)",
                                [(dist_id, m, rule, now) for m in allowed])
        return order_id

    def distribution(self, dist_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM dists WHERE id=?", (dist_id,)).fetchone()
        return dict(row) if row else None

    def distributions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(
            "SELECT id, name, source, dest, total_bytes, created, created_by, cancelled, quiet_after,"
            " quiet_at, priority FROM dists ORDER BY created")]

    def targets(self, dist_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT minion FROM targets WHERE dist_id=? ORDER BY minion", (dist_id,))]

    def allowed(self, dist_id: str) -> dict[str, str]:
        """Minions admitted by an allow= expression -> that expression."""
        return dict(self.db.execute(
            "SELECT minion, rule FROM allowed WHERE dist_id=? ORDER BY minion", (dist_id,)).fetchall())

    def host_rows(self, dist_id: str) -> list[dict[str, Any]]:
        """Every target, and every allowed minion that reported, with its latest report.

        NULLs when nothing was heard yet from a target. ``current_order`` is
        the id of the master's latest order to the host (none for an allowed
        minion that joined by itself); ``order_id`` the one the report answers.
        """
        # Plain tuples zipped with the names: half the cost of sqlite3.Row at 10,000 hosts. The
        # target's minion comes last, so it wins over the report's (NULL before any report).
        rows = self.db.cursor()
        rows.row_factory = None
        rows.execute(f"SELECT r.*, t.minion, t.order_id AS current_order FROM {HOSTS} t LEFT JOIN reports r"
                     " ON r.dist_id=t.dist_id AND r.minion=t.minion WHERE t.dist_id=? ORDER BY t.minion",
                     (dist_id,))
        names = [column[0] for column in rows.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def state_counts(self) -> dict[str, dict[str, int]]:
        """Per distribution: how many hosts (as in host_rows) are in each state under the status rule.

        Counted by SQLite (status.current_state's rule in SQL): a few milliseconds
        at 10,000 hosts, where building their rows would take a hundred.
        """
        out: dict[str, dict[str, int]] = {}
        for dist_id, state, n in self.db.execute(
                f"SELECT t.dist_id, CASE WHEN r.state IS NOT NULL AND r.state <> ''"
                " AND COALESCE(r.order_id, '') = COALESCE(t.order_id, '') THEN r.state"
                f" ELSE '{lifecycle.PENDING}' END AS shown, count(*) FROM {HOSTS} t LEFT JOIN reports r"
                " ON r.dist_id=t.dist_id AND r.minion=t.minion GROUP BY t.dist_id, shown"):
            out.setdefault(dist_id, {})[str(state)] = n
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
            self.db.executemany(UPSERT, rows)
        return len(rows)

    def site_overrides(self) -> dict[str, str]:
        """Minions whose ``p2pdist:site`` grain names their site (learned from their answers)."""
        return dict(self.db.execute("SELECT minion, site FROM site_grains").fetchall())

    def set_site_overrides(self, sites: dict[str, str]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO site_grains VALUES (?,?)",
                                [(m, s) for m, s in sites.items() if s])
            self.db.executemany("DELETE FROM site_grains WHERE minion=?",
                                [(m,) for m, s in sites.items() if not s])

    def cancel(self, dist_id: str) -> None:
        with self.db:
            self.db.execute("UPDATE dists SET cancelled=1, quiet_at=NULL WHERE id=?", (dist_id,))

    def set_quiet_at(self, dist_id: str, quiet_at: float | None) -> None:
        """When the swarm goes quiet (None: awake, the grace starts again at the next completion)."""
        with self.db:
            self.db.execute("UPDATE dists SET quiet_at=? WHERE id=?", (quiet_at, dist_id))

    def set_priority(self, dist_id: str, priority: str) -> None:
        """A distribution's level (core/priority.py), as the admin changed it."""
        with self.db:
            self.db.execute("UPDATE dists SET priority=? WHERE id=?", (priority, dist_id))
