"""An agent upgraded over an older agent's state directory resumes its distributions."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.core import lifecycle
from salt_p2pdist.master import orders
from salt_p2pdist.torrent import creation, metainfo

TRACKER = "http://127.0.0.1:9/announce"  # nothing listens


def test_an_old_agents_download_resumes_and_its_record_is_rewritten_in_the_same_fields(
        tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "pkg.bin").write_bytes(os.urandom(100_000))
    torrent = creation.create(tmp_path / "src" / "pkg.bin", TRACKER)
    meta = metainfo.describe(torrent)
    cfg = AgentConfig(state_dir=tmp_path / "agent", host_id="m2", bt_interface="127.0.0.1")
    # As the earliest agents wrote it: no name, order id, sites or limit; a bearer token.
    old = {"mode": "fetch", "dist_id": meta.dist_id, "torrent": base64.b64encode(torrent).decode(),
           "tracker": TRACKER, "force": False, "targets": ["m2"], "dest": str(tmp_path / "dest"),
           "phase": "staging", "save_path": str(cfg.staging_dir / meta.dist_id), "auth": "token"}
    OrderStore(cfg.dists_dir).save(meta.dist_id, old)
    engine = Engine(cfg)
    try:
        status = engine.status(meta.dist_id)
        assert status["dest"] == str(tmp_path / "dest") and status["order_id"] == ""
        assert status["state"] in (lifecycle.QUEUED, lifecycle.CHECKING, lifecycle.DOWNLOADING)
        order = orders.fetch_order(meta, torrent, dest=str(tmp_path / "dest"), force=False, tracker=TRACKER)
        engine.add({**order, "mode": "fetch", "order_id": "o-2"})  # the master orders it again
        written = json.loads((cfg.dists_dir / meta.dist_id / "order.json").read_text())
        assert written["order_id"] == "o-2" and "auth" not in written
        assert {k: v for k, v in old.items() if k != "auth"}.items() <= written.items()
    finally:
        engine.close()
