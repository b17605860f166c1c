from __future__ import annotations

import json
import os
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from salt_p2pdist.files.audit import AuditLog, read

T0 = datetime(2026, 8, 3, 12, 0, 0, 123456, tzinfo=timezone.utc)


def test_record_appends_one_json_line_per_entry(tmp_path):
    path = tmp_path / "audit" / "p2pdist.log"  # the directory is created too
    log = AuditLog(path, clock=lambda: T0)
    entry = log.record("push", "alice", name="iso", source=PurePosixPath("/srv/a.iso"), targets=3)
    log.record("cancel", "bob", result="forbidden", id="d1")
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == entry == {"ts": "2026-08-03T12:00:00.123+00:00", "action": "push", "user": "alice",
                              "details": {"name": "iso", "source": "/srv/a.iso", "targets": 3},
                              "result": "ok"}
    assert json.loads(lines[1])["result"] == "forbidden"
    assert json.loads(lines[1])["details"] == {"id": "d1"}


def test_file_is_created_private_even_with_a_lax_umask(tmp_path):
    old = os.umask(0)
    try:
        AuditLog(tmp_path / "a.log").record("push", "alice")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.log").stat().st_mode) == 0o600


def test_record_never_rewrites_earlier_entries(tmp_path):
    path = tmp_path / "a.log"
    path.write_text('{"action": "older"}\n')
    AuditLog(path).record("push", "alice")
    assert path.read_text().startswith('{"action": "older"}\n')


def test_timestamps_are_utc(tmp_path):
    local = datetime(2026, 8, 3, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    entry = AuditLog(tmp_path / "a.log", clock=lambda: local).record("push", "alice")
    assert entry["ts"] == "2026-08-03T12:00:00.000+00:00"
    real = AuditLog(tmp_path / "b.log").record("push", "alice")
    assert abs(datetime.fromisoformat(real["ts"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_read_returns_the_last_entries_oldest_first(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    for i in range(10):
        log.record("push", "alice", n=i)
    assert [e["details"]["n"] for e in read(log.path, 3)] == [7, 8, 9]
    assert len(read(log.path)) == 10
    assert read(log.path, 0) == []
    assert read(str(log.path), 1)[0]["details"]["n"] == 9


def test_read_without_a_log_is_empty(tmp_path):
    assert read(tmp_path / "none.log") == []


def test_read_shows_a_torn_line_instead_of_hiding_it(tmp_path):
    path = tmp_path / "a.log"
    AuditLog(path).record("push", "alice")
    with open(path, "a") as f:
        f.write('{"action": "push", "us')
    entries = read(path)
    assert entries[0]["user"] == "alice"
    assert entries[1] == {"action": "?", "raw": '{"action": "push", "us', "result": "unreadable"}


def test_concurrent_writers_do_not_interleave(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    blob = "x" * 20_000  # well past any stdio buffer

    def write(user: str) -> None:
        for i in range(25):
            log.record("push", user, n=i, blob=blob)

    threads = [threading.Thread(target=write, args=(f"u{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = [json.loads(line) for line in Path(log.path).read_text().splitlines()]
    assert len(entries) == 100
    assert all(e["details"]["blob"] == blob for e in entries)
