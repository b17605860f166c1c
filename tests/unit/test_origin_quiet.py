"""The origin's seed goes quiet with its swarm and wakes with it: the decision, and a real origin agent.

The agent is real (libtorrent session, tracker, API routes called in
process); its seed is a small file. No Salt: the master's calls are the
routes it calls (master/quieting.py).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest

from salt_p2pdist.agent.app import Agent
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.originquiet import moves
from salt_p2pdist.core.errors import NotFound
from salt_p2pdist.torrent import creation
from salt_p2pdist.torrent.metainfo import describe

SIZE = 256 << 10


def test_a_seed_closes_when_its_swarm_no_longer_needs_it_and_opens_when_it_does() -> None:
    needed = {"a": False, "b": True, "c": False, "d": True}
    assert moves(["a", "b"], ["c", "d"], needed) == (["a"], ["d"])
    # A swarm the tracker does not know: left as it is, open or closed.
    assert moves(["x"], ["y"], needed) == ([], [])


def _agent(state: Path) -> Agent:
    return Agent(AgentConfig(state_dir=state, host_id="origin", bt_interface="127.0.0.1", tracker_port=0,
                             tracker_interface="127.0.0.1"), token="t" * 32)


class Origin:
    """A real origin agent seeding one file, driven through its API routes."""

    def __init__(self, root: Path, write_file: Callable[..., Path]):
        self.root, self.agent = root, _agent(root / "origin")
        self.src = write_file(root / "srv" / "pkg.bin", SIZE, seed=3)
        tracker = f"http://127.0.0.1:{self.agent.tracker_port}/announce"
        self.torrent = creation.create(self.src, tracker)
        meta = describe(self.torrent)
        self.dist_id, self.info_hash20 = meta.dist_id, bytes.fromhex(meta.info_hash)[:20]
        self.call("POST", "/dists", {"mode": "seed", "torrent": base64.b64encode(self.torrent).decode(),
                                     "source": str(self.src), "targets": ["m1"], "upload_limit": 0})

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.agent.route(method, f"/v1{path}", {}, body or {})

    def restart(self) -> None:
        self.agent.close()
        self.agent = _agent(self.root / "origin")

    def open(self) -> list[str]:
        return list(self.call("GET", "/torrents")["dist_ids"])

    def swarm(self) -> dict[str, Any]:
        return dict(self.call("GET", f"/swarms/{self.dist_id}"))

    def record(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "origin" / "dists" / self.dist_id / "order.json").read_text()))


@pytest.fixture
def origin(tmp_path: Path, write_file: Callable[..., Path]) -> Iterator[Origin]:
    o = Origin(tmp_path, write_file)
    yield o
    o.agent.close()


def _wait(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _pieces(o: Origin) -> int:
    return int(o.call("GET", f"/dists/{o.dist_id}")["pieces"])


def test_the_origin_closes_its_seed_with_the_quiet_swarm_and_reopens_it_without_hashing(
        origin: Origin, caplog: pytest.LogCaptureFixture) -> None:
    o = origin
    caplog.set_level(logging.INFO)
    assert o.open() == [o.dist_id]
    assert (o.swarm()["origin"], o.swarm()["origin_seeds"]) == ("seeding", True)
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time() + 3600})  # the grace runs
    assert o.open() == [o.dist_id]
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time()})  # quiet now: closed at once
    assert o.open() == []
    assert (o.swarm()["origin"], o.swarm()["origin_seeds"]) == ("quiet", False)
    shown = o.call("GET", f"/dists/{o.dist_id}")
    assert (shown["state"], shown["mode"], shown["bytes_done"]) == ("quiet", "seed", SIZE)
    assert o.record()["phase"] == "quiet"
    assert (o.root / "origin" / "dists" / o.dist_id / "resume.dat").is_file()
    assert o.src.stat().st_size == SIZE  # the pushed file stays
    # Its bytes change behind the agent's back, size and time kept: a re-hash on waking would
    # find them and drop the pieces; the resume data is trusted instead, as on minions.
    stat = o.src.stat()
    o.src.write_bytes(os.urandom(SIZE))
    os.utime(o.src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": None})  # woken: open before the answer
    assert o.open() == [o.dist_id]
    assert (o.swarm()["origin"], o.swarm()["origin_seeds"]) == ("seeding", True)
    assert o.record()["phase"] == "seed"
    assert o.agent.side is not None and o.agent.side.tracker.swarms[o.info_hash20].origin_port
    time.sleep(1)  # a check, had there been one, would have run by now
    shown = o.call("GET", f"/dists/{o.dist_id}")
    assert (shown["state"], shown["pieces"]) == ("seeding", shown["num_pieces"])
    assert "woken; shared from" in caplog.text and "changed while quiet" not in caplog.text


def test_a_seed_whose_files_changed_while_quiet_is_checked_when_it_wakes(
        origin: Origin, caplog: pytest.LogCaptureFixture) -> None:
    o = origin
    caplog.set_level(logging.INFO)
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time()})
    assert o.open() == []
    with o.src.open("r+b") as fh:  # another file under the same name: size kept, time changes
        fh.write(os.urandom(SIZE))
    os.utime(o.src, ns=(o.src.stat().st_atime_ns, o.src.stat().st_mtime_ns + 10**9))
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": None})
    # Checked: the origin no longer claims pieces it does not have.
    _wait("the changed source checked", lambda: _pieces(o) == 0)
    assert f"{o.dist_id}: its files at {o.src.parent} changed while quiet" in caplog.text


def test_a_quiet_seed_stays_closed_across_a_restart_and_a_newcomer_opens_it(origin: Origin) -> None:
    o = origin
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time()})
    o.restart()
    assert o.open() == [] and (o.swarm()["origin"], o.swarm()["origin_seeds"]) == ("quiet", False)
    assert o.agent.side is not None
    assert o.agent.side.origin.settle() == ([], [])  # still quiet: nothing to do
    # A host fetches in the quiet swarm without its holders woken: the origin is its source.
    url = (f"http://127.0.0.1:{o.agent.tracker_port}/announce?info_hash={quote_from_bytes(o.info_hash20)}"
           f"&port=7000&left=5&minion=m1")
    with urllib.request.urlopen(url, timeout=20) as resp:
        assert b"failure reason" not in resp.read()
    assert o.agent.side.origin.settle() == ([], [o.dist_id])
    assert o.open() == [o.dist_id] and o.swarm()["origin_seeds"] is True


def _delete(o: Origin, **query: str) -> None:
    o.agent.route("DELETE", f"/v1/dists/{o.dist_id}", {**query, "remove_data": "1"}, {})


def test_stop_seeding_drops_a_quiet_seed_keeps_its_swarm_and_never_its_source(origin: Origin) -> None:
    o = origin
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time()})
    _delete(o, keep_swarm="1")
    assert (o.swarm()["origin"], o.swarm()["origin_seeds"]) == ("stopped", False)  # the swarm is kept
    assert o.call("GET", "/dists") == {} and o.src.stat().st_size == SIZE
    o.restart()
    assert o.swarm()["origin"] == "stopped"  # kept across a restart, as any stopped seed
    assert o.agent.side is not None and o.agent.side.origin.settle() == ([], [])


def test_cancel_drops_a_quiet_seed_and_its_swarm_and_never_its_source(origin: Origin) -> None:
    o = origin
    o.call("POST", f"/swarms/{o.dist_id}", {"quiet_at": time.time()})
    _delete(o)
    assert o.call("GET", "/dists") == {} and o.src.stat().st_size == SIZE
    with pytest.raises(NotFound):
        o.swarm()
