"""Downloads ordered to a real agent engine (the ``engine`` fixture in conftest.py).

Nothing listens at TRACKER: no certificate is asked for and no announce goes
out, so a download stays where the test puts it.
"""

from __future__ import annotations

import os
from pathlib import Path

from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.master import orders
from salt_p2pdist.torrent import creation, metainfo

TRACKER = "http://127.0.0.1:9/announce"


def fetching(engine: Engine, tmp_path: Path, name: str = "pkg.bin", priority: str = "") -> str:
    """Order a download of a new 300 kB file ``name`` (at ``priority``, as pushed); its dist id."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / name).write_bytes(os.urandom(300_000))
    torrent = creation.create(tmp_path / "src" / name, TRACKER)
    order = orders.fetch_order(metainfo.describe(torrent), torrent, dest=str(tmp_path / "dest"),
                               force=False, tracker=TRACKER)
    dist_id = str(engine.add({**order, "mode": "fetch"})["dist_id"])
    if priority:
        transfer = engine.book.get(dist_id)
        assert transfer is not None
        engine.book.update(transfer, priority=priority)  # as pushed with priority=
    return dist_id
