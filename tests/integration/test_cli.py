"""What the admin sees on the command line, on real daemons: one document on stdout,
progress on stderr, bad arguments refused before anything is done, uninstall."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.master.origin import origin_client
from salt_p2pdist.testing.deployment import Deployment, write_random
from salt_p2pdist.testing.saltlab import free_port

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def run(deployment: Deployment, *argv: str, timeout: float = 300) -> tuple[int, str, str]:
    proc = deployment.cli("salt-run", *argv, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def listing(deployment: Deployment) -> dict[str, Any]:
    code, out, err = run(deployment, "--out", "json", "p2pdist.status")
    assert code == 0, (out, err)
    return dict(json.loads(out))


@pytest.fixture(scope="module")
def fresh(deployment: Deployment) -> Iterator[Deployment]:
    """A master of its own (no distribution yet) and two minions, one of which goes offline."""
    # The shared master binds its tracker port only when its origin agent starts:
    # start it now, so this lab's ports (picked free now) cannot be that one.
    origin_client(MasterSettings.from_opts(deployment.master_opts), deployment.master_opts).ensure()
    root = Path(tempfile.mkdtemp(prefix="p2pc-"))
    lab = Deployment(root, master_p2pdist={"tracker_port": free_port()})
    try:
        lab.start([lab.minion("u1", 21), lab.minion("u2", 22)])
        yield lab
    finally:
        lab.stop()


def test_an_empty_master_says_it_has_no_distributions(fresh: Deployment) -> None:
    code, out, err = run(fresh, "p2pdist.status")
    assert code == 0 and "no distributions on this master" in out, (out, err)
    assert listing(fresh) == {}


def test_push_wait_prints_one_json_document_and_the_board_on_stderr(deployment: Deployment,
                                                                     srv: Path) -> None:
    payload = write_random(srv / "cli.bin", 4 << 20, seed=71)
    code, out, err = run(deployment, "--out", "json", "p2pdist.push", str(payload), "tgt=m1,m2",
                         "tgt_type=list", "dest=/opt/cli", "wait=True")
    ret = json.loads(out)  # the whole of stdout: one document, no progress events
    assert code == 0 and ret["result"] is True, (out, err)
    assert ret["summary"]["state"] == "complete" and ISO.match(ret["summary"]["created"]), ret
    assert "waiting up to 30 s for their answers" in err, err
    assert f"cli.bin ({ret['id']}): complete" in err and "2/2 done" in err, err

    # watch=True on a settled distribution: the same, one document.
    code, out, err = run(deployment, "--out", "json", "p2pdist.status", ret["id"], "watch=True")
    assert code == 0 and json.loads(out)["distribution"]["state"] == "complete", (out, err)
    # For people: no None, no UNIX time, no Salt event blocks.
    code, out, err = run(deployment, "p2pdist.status", ret["id"])
    assert code == 0 and "None" not in out and "eta" not in out and "message:" not in out, out
    assert re.search(r"pushed \d{4}-\d\d-\d\dT", out) and "2/2 done" in out, out


def test_on_a_terminal_the_board_is_redrawn_in_place(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "tty.bin", 2 << 20, seed=76)
    cmd = [sys.executable, str(Path(sys.executable).parent / "salt-run"), "-c",
           str(deployment.master_config_dir), "--out", "json", "p2pdist.push", str(payload),
           "tgt=m3,m4", "tgt_type=list", "dest=/opt/tty", "wait=True"]
    main, side = pty.openpty()  # stderr is a terminal, stdout a pipe
    seen = bytearray()

    def drain() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(main, 4096):
                seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=side,
                          text=True, timeout=300, check=False)
    os.close(side)
    reader.join(10)
    os.close(main)
    board = seen.decode(errors="replace")
    assert proc.returncode == 0 and json.loads(proc.stdout)["summary"]["state"] == "complete", board
    # lines cleared, the cursor moved back up over them, drawn again
    assert "\x1b[2K" in board and re.search("\x1b\\[\\d+F", board) and "tty.bin" in board, board
    assert "\x1b[" not in proc.stdout


def test_the_list_view_names_each_state_and_dates_in_iso(deployment: Deployment, srv: Path) -> None:
    # m2 has an unrelated file where the content would go: refused, the others complete.
    payload = write_random(srv / "tool.bin", 1 << 20, seed=72)
    blocker = deployment.copy_at("m2", "/opt/tool", "tool.bin")
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"not the tool")
    code, out, err = run(deployment, "--out", "json", "p2pdist.push", str(payload),
                         "tgt=m1,m2", "tgt_type=list", "dest=/opt/tool", "wait=True")
    ret = json.loads(out)
    assert code != 0 and ret["refused"].keys() == {"m2"}, (out, err)
    entry = listing(deployment)[ret["id"]]
    assert entry["state"] == "finished-with-errors" and ISO.match(entry["created"]), entry
    assert (entry["done"], entry["failed"], entry["targets"]) == (1, 1, 2), entry
    code, out, _ = run(deployment, "p2pdist.status")
    lines = out.splitlines()  # Salt's outputter: "<id>:" then the line, indented
    line = lines[next(i for i, x in enumerate(lines) if ret["id"] in x) + 1]
    assert "finished-with-errors" in out and "None" not in out, out
    assert "1/2 done, 1 failed" in line and "/opt/tool" in line, line


def test_minion_status_is_compact_unless_verbose(deployment: Deployment) -> None:
    held = deployment.salt("m1", "p2pdist.status")["m1"]
    assert held, held
    for one in held.values():
        assert set(one) <= {"name", "state", "dest", "percent", "error"}, one
        assert {"name", "state", "dest", "percent"} <= set(one), one
    full = deployment.salt("m1", "p2pdist.status", kwargs={"verbose": True})["m1"]
    assert all("peers" in one for one in full.values()), full


@pytest.mark.parametrize(("argv", "named"), [
    (["tgt=m1", "tgt_typ=glob", "dest=/opt/bad"], "tgt_typ"),
    (["tgt=m1", "tgt_type=globb", "dest=/opt/bad"], "tgt_type='globb'"),
    (["tgt=m1", "dest=/opt/bad", "wait=True", "timeout=abc"], "timeout='abc'"),
    (["tgt=m1", "dest=/opt/bad", "order_timeout=-1"], "order_timeout=-1"),
])
def test_a_bad_push_argument_is_named_and_nothing_is_pushed(deployment: Deployment, srv: Path,
                                                             argv: list[str], named: str) -> None:
    payload = write_random(srv / "never.bin", 64 << 10, seed=73)
    before = set(listing(deployment))
    code, out, err = run(deployment, "p2pdist.push", str(payload), *argv)
    assert code != 0 and named in out, (code, out, err)
    assert "Traceback" not in out + err and "Usage:" not in out, out
    assert set(listing(deployment)) == before


def test_other_runners_and_module_functions_refuse_bad_arguments(deployment: Deployment) -> None:
    for argv in (["p2pdist.status", "watch=perhaps"], ["p2pdist.cancel"],
                 ["p2pdist.stop_seeding", "0123abcd", "force=True"],
                 ["p2pdist.policy", "m1", "tgt_typ=list"]):
        code, out, err = run(deployment, *argv)
        assert code != 0 and "Nothing was done" in out and "Traceback" not in out, (argv, out, err)
    proc = deployment.cli("salt", "--out", "json", "m1", "p2pdist.status", "verbos=True")
    assert proc.returncode != 0 and "unknown argument 'verbos'" in proc.stdout, proc.stdout
    proc = deployment.cli("salt", "--out", "json", "m1", "p2pdist.remove", "abc", "purge=maybe")
    assert proc.returncode != 0 and "purge='maybe' is not True or False" in proc.stdout, proc.stdout


def test_policy_takes_a_target_expression(deployment: Deployment) -> None:
    code, out, err = run(deployment, "--out", "json", "p2pdist.policy", "m*")
    shown = json.loads(out)
    assert code == 0 and set(shown) == {"m1", "m2", "m3", "m4"}, (out, err)
    assert all(s["result"] is True and "in_force" in s for s in shown.values()), shown


def set_policy(deployment: Deployment, minion: str, policy: dict[str, Any] | None) -> None:
    root = Path(deployment.master_opts["pillar_roots"]["base"][0])
    top = {"base": {minion: ["p2pdist_cli"]}} if policy is not None else {"base": {}}
    (root / "top.sls").write_text(json.dumps(top))
    (root / "p2pdist_cli.sls").write_text(json.dumps({"p2pdist": {"policy": policy or {}}}))
    deployment.salt(minion, "saltutil.refresh_pillar", kwargs={"wait": True})


@pytest.fixture
def m3_refused(deployment: Deployment) -> Iterator[None]:
    set_policy(deployment, "m3", {"upload": "colour"})
    yield
    set_policy(deployment, "m3", None)
    deployment.salt_run("p2pdist.policy", "m3")


def test_a_refused_pillar_policy_exits_non_zero(deployment: Deployment, m3_refused: None) -> None:
    code, out, err = run(deployment, "--out", "json", "p2pdist.policy", "m3")
    assert code != 0 and "refused" in json.loads(out)["m3"]["error"], (code, out, err)
    proc = deployment.cli("salt", "--out", "json", "m3", "p2pdist.policy")
    assert proc.returncode != 0, proc.stdout


def test_an_offline_target_is_awaited_as_long_as_order_timeout_says(fresh: Deployment) -> None:
    payload = write_random(fresh.root / "srv" / "late.bin", 256 << 10, seed=74)
    fresh.stop_minion("u2")
    t0 = time.monotonic()
    _, out, err = run(fresh, "--out", "json", "p2pdist.push", str(payload), "tgt=u1,u2",
                      "tgt_type=list", "dest=/opt/late", "order_timeout=5")
    elapsed = time.monotonic() - t0
    ret = json.loads(out)
    assert ret["accepted"] == ["u1"] and ret["no_answer"] == ["u2"], (out, err)
    assert "waiting up to 5 s for their answers (change with order_timeout=)" in err, err
    assert "no answer from u2 within 5 s" in err, err
    assert elapsed < 30, elapsed  # the default wait alone was 30 s


def agent_processes(state_dir: Path) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"salt_p2pdist.agent" in args and str(state_dir).encode() in args:
            found.append(int(cmdline.parent.name))
    return found


def test_uninstall_leaves_no_agent_schedule_or_state_behind(fresh: Deployment) -> None:
    payload = write_random(fresh.root / "srv" / "kept.bin", 256 << 10, seed=75)
    ret = fresh.salt_run("p2pdist.push", str(payload), kwargs={"tgt": "u1", "dest": "/opt/kept",
                                                               "wait": True})
    assert ret["result"] is True, ret
    state_dir = fresh.minion_root("u1") / "cache" / "p2pdist"
    assert agent_processes(state_dir) and state_dir.is_dir()
    jobs = fresh.salt("u1", "schedule.list", kwargs={"return_yaml": False})["u1"]
    assert "p2pdist_agent" in jobs, jobs

    out = fresh.salt("u1", "p2pdist.uninstall")["u1"]
    assert out["result"] is True and str(fresh.host_root("u1") / "opt/kept") in out["copies_kept"], out
    assert agent_processes(state_dir) == [] and not state_dir.exists()
    jobs = fresh.salt("u1", "schedule.list", kwargs={"return_yaml": False})["u1"]
    assert not [j for j in jobs if j.startswith("p2pdist")], jobs
    assert fresh.copy_at("u1", "/opt/kept", "kept.bin").is_file()  # delivered content stays
    # Nothing comes back by itself (no keepalive restarts the agent).
    assert fresh.salt("u1", "p2pdist.status")["u1"] == {}
    assert agent_processes(state_dir) == [] and not state_dir.exists()
