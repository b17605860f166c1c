"""The lab's agents mode: its deployment on disk, targets, and calls delivered as a minion runs them."""

from __future__ import annotations

import base64
import json
import os
import types
from pathlib import Path

import pytest

from lab import agentspec, courier
from lab.labminions import LabMinions
from lab.params import LabParams
from salt_p2pdist.core.config import MasterSettings, MinionSettings
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent import creation, swarmca
from salt_p2pdist.torrent.signature import check_torrent, sign_torrent


def spec_of(root: Path, ids: list[str]) -> agentspec.Spec:
    section = {"tracker_host": "10.200.0.1", "allowed_dest": ["/"]}
    return agentspec.Spec(agentspec.master_opts(root, "10.200.0.1", section),
                          [agentspec.host(root, i, None, {"bt_interface": "127.0.0.1",
                                                          "dest_prefix": str(root / "d" / i)})
                           for i in ids])


def test_the_master_and_hosts_get_default_settings_but_what_the_lab_names(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, ["s1c1"])
    master = MasterSettings.from_opts(spec.master)
    defaults = MasterSettings(state_dir=master.state_dir)
    assert master.state_dir == tmp_path / "master" / "cache" / "p2pdist"
    assert (master.announce_interval, master.stall_after, master.wan_fetchers_per_site) == \
        (defaults.announce_interval, defaults.stall_after, defaults.wan_fetchers_per_site)
    assert master.tracker_host == "10.200.0.1" and master.allowed_dest == ["/"]
    host = MinionSettings.from_opts(spec.hosts[0].opts)
    assert host.state_dir == tmp_path / "minions" / "s1c1" / "cache" / "p2pdist"
    assert host.report_interval == MinionSettings(state_dir=host.state_dir).report_interval
    assert agentspec.staging_dir(spec.hosts[0]) == host.state_dir / "staging"


def test_the_spec_file_reads_back_as_written(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, ["a", "b"])
    spec.write(tmp_path / "agents.json")
    assert agentspec.Spec.read(tmp_path / "agents.json") == spec


def test_hosts_check_the_masters_signature_and_the_tracker_knows_their_keys(tmp_path: Path,
                                                                            write_file) -> None:
    spec = spec_of(tmp_path, ["s1c1", "s2c1"])
    agentspec.write_keys(spec)
    pki = Path(spec.master["pki_dir"])
    unsigned = creation.create(write_file(tmp_path / "f.bin", 70_000), "https://10.200.0.1:6970/announce")
    signed = sign_torrent(unsigned, pki / "master.pem", ["/"], ["s1c1", "s2c1"])
    for h in spec.hosts:
        own = Path(h.opts["pki_dir"])
        meta, roots = check_torrent(signed, own / "minion_master.pub")
        assert roots == ["/"] and meta.dist_id
        signature = swarmca.sign(own / "minion.pem", b"a certificate request")
        assert swarmca.verify((pki / "minions" / h.id).read_bytes(), b"a certificate request", signature)
    other = Path(spec.hosts[1].opts["pki_dir"]) / "minion.pem"
    assert not swarmca.verify((pki / "minions" / "s1c1").read_bytes(), b"x", swarmca.sign(other, b"x"))


def test_targets_match_like_salt_on_accepted_ids(tmp_path: Path) -> None:
    minions = LabMinions(spec_of(tmp_path, ["s1c1", "s1c2", "s2c1"]).hosts)
    assert minions.resolve("*", "glob") == ["s1c1", "s1c2", "s2c1"]
    assert minions.resolve("s1*", "glob") == ["s1c1", "s1c2"]
    assert minions.resolve("s2c1,nope", "list") == ["s2c1"]
    with pytest.raises(InvalidRequest, match="glob and list"):
        minions.resolve("G@os:Debian", "compound")


def test_what_the_module_asks_of_salt_is_recorded_not_done(tmp_path: Path) -> None:
    salt = courier.lab_salt(tmp_path / "calls.jsonl")
    assert salt["beacons.add"]("p2pdist", [{"interval": 5}]) == {"result": True}
    assert salt["schedule.list"](return_yaml=False) == {}
    salt["event.fire_master"]({"dist_id": "d"}, "p2pdist/wake/s1c1")
    lines = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [line["fun"] for line in lines] == ["beacons.add", "schedule.list", "event.fire_master"]
    assert lines[2]["args"] == [{"dist_id": "d"}, "p2pdist/wake/s1c1"]


def test_the_minion_module_answers_an_order_through_the_courier(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, ["s1c1"])
    agentspec.write_keys(spec)
    junk = base64.b64encode(b"not a torrent").decode()
    answers = courier.deliver(spec.hosts, "p2pdist.fetch", [], {"torrent": junk, "dest": "/"}, 60)
    assert answers["s1c1"]["result"] is False and answers["s1c1"]["error"]


FAKE_MODULE = '''
import time
def echo(**kwargs):
    return {"id": __opts__["id"], "pid": __import__("os").getpid(), **kwargs}
def hang(pid_file):
    open(pid_file, "w").write(str(__import__("os").getpid()))
    time.sleep(600)
def boom():
    raise ValueError("broken")
'''


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("fake_p2pdist")
    exec(FAKE_MODULE, module.__dict__)  # a test double of the execution module
    monkeypatch.setattr(courier, "_module", module)
    return module


def test_each_host_runs_the_call_in_a_process_of_its_own(tmp_path: Path, fake_module) -> None:
    spec = spec_of(tmp_path, ["a", "b"])
    answers = courier.deliver(spec.hosts, "p2pdist.echo", [], {"x": 1}, 30)
    assert {k: (v["id"], v["x"]) for k, v in answers.items()} == {"a": ("a", 1), "b": ("b", 1)}
    assert os.getpid() not in {v["pid"] for v in answers.values()}
    assert answers["a"]["pid"] != answers["b"]["pid"]


def test_a_host_that_does_not_answer_in_time_is_left_out_and_stopped(tmp_path: Path, fake_module) -> None:
    spec = spec_of(tmp_path, ["a"])
    pid_file = tmp_path / "hang.pid"
    assert courier.deliver(spec.hosts, "p2pdist.hang", [], {"pid_file": str(pid_file)}, 3) == {}
    with pytest.raises(ProcessLookupError):  # killed and reaped: no child left behind
        os.kill(int(pid_file.read_text()), 0)


def test_an_exception_comes_back_as_text_like_a_minions(tmp_path: Path, fake_module) -> None:
    answers = courier.deliver(spec_of(tmp_path, ["a"]).hosts, "p2pdist.boom", [], {}, 30)
    assert "ValueError: broken" in answers["a"]


def test_the_mode_is_checked_and_carried_into_records() -> None:
    from lab.report import label, make_record

    assert LabParams(mode="agents").validate() == []
    assert any("mode" in p for p in LabParams(mode="minionless").validate())
    record = make_record(LabParams(mode="agents"), scenario="p2pdist", run=1, times={"c": 1.0},
                         delta={}, bad_hash=[], error="", wall_s=1.0)
    assert record.mode == "agents" and label(record) == "p2pdist/agents"
    assert label(make_record(LabParams(), scenario="http", run=1, times={}, delta={}, bad_hash=[],
                             error="", wall_s=1.0)) == "http"


def test_cpu_is_told_apart_by_what_each_process_is() -> None:
    from lab.cpuroles import OTHER, role_of, spent

    assert role_of("python -m salt_p2pdist.agent --state-dir /x --host-id origin --tracker-port 6970") \
        == "p2pdist origin agent + tracker"
    assert role_of("python -m salt_p2pdist.agent --state-dir /x --host-id s1c1") == "p2pdist client agents"
    assert role_of("/venv/bin/python /venv/bin/salt-minion -c /x MinionProcessManager") == "salt-minions"
    assert role_of("nginx: worker process") == OTHER
    before = {1: ("salt-minions", 10.0), 2: ("p2pdist client agents", 3.0)}
    after = {1: ("salt-minions", 14.5), 2: ("p2pdist client agents", 5.0),
             3: ("p2pdist client agents", 1.0)}  # started during the run: counts whole
    assert spent(before, after) == {"salt-minions": 4.5, "p2pdist client agents": 3.0}
