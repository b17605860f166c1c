from __future__ import annotations

from pathlib import Path

import pytest

from salt_p2pdist.core.config import MasterSettings, MinionSettings
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.master.trackerhost import origin_args, tracker_url

OPTS = {"cachedir": "/var/cache/salt/master"}


PKI = {"pki_dir": "/etc/salt/pki/master"}


def test_master_defaults():
    s = MasterSettings.from_opts(OPTS)
    assert s.state_dir == Path("/var/cache/salt/master/p2pdist")
    assert (s.tracker_port, s.tracker_host, s.bt_interface, s.bt_port) == (6970, "", "0.0.0.0", 0)
    assert (s.origin_upload_rate, s.announce_interval) == (0, 30)
    assert origin_args(s, {**PKI, "interface": "10.0.0.1"}) == [
        "--known-hosts-dir", "/etc/salt/pki/master/minions", "--tracker-name", "10.0.0.1",
        "--ca-dir", "/var/cache/salt/master/p2pdist/ca", "--fetchers-per-site", "1",
        "--stall-after", "60", "--bt-interface", "0.0.0.0", "--bt-port", "0",
                               "--tracker-port", "6970", "--announce-interval", "30",
        "--announce-budget", "50", "--audit-log", "/var/cache/salt/master/p2pdist/audit.log"]


def test_master_settings_and_state_dir_override():
    s = MasterSettings.from_opts({**OPTS, "p2pdist": {"state_dir": "/srv/p2p", "tracker_port": 7000,
                                                       "announce_interval": 10}})
    assert s.state_dir == Path("/srv/p2p")
    assert "--tracker-port" in origin_args(s, PKI) and "7000" in origin_args(s, PKI)
    assert s.announce_interval == 10


def test_master_empty_section_is_defaults():
    assert MasterSettings.from_opts({**OPTS, "p2pdist": None}) == MasterSettings.from_opts(OPTS)


@pytest.mark.parametrize("cls", [MasterSettings, MinionSettings])
def test_unknown_keys_are_rejected_by_name(cls):
    with pytest.raises(InvalidRequest) as exc:
        cls.from_opts({**OPTS, "p2pdist": {"tracker_prot": 1, "bt_port": 6881, "zzz": 2}})
    msg = str(exc.value)
    assert "tracker_prot, zzz" in msg
    assert "known:" in msg and "bt_port" in msg.split("known:")[1]
    assert "unknown p2pdist setting" in msg


def test_master_torrent_dir_defaults_to_the_first_file_root():
    s = MasterSettings.from_opts({**OPTS, "file_roots": {"base": ["/srv/salt", "/srv/other"]}})
    assert s.torrent_dir == "/srv/salt/p2pdist"
    assert MasterSettings.from_opts(OPTS).torrent_dir == ""
    off = MasterSettings.from_opts({**OPTS, "file_roots": {"base": ["/srv/salt"]},
                                    "p2pdist": {"torrent_dir": ""}})
    assert off.torrent_dir == ""


def test_tracker_url_prefers_tracker_host_then_interface():
    with_host = MasterSettings.from_opts({**OPTS, "p2pdist": {"tracker_host": "master.lan"}})
    assert tracker_url(with_host, {"interface": "10.0.0.1"}) == "https://master.lan:6970/announce"
    plain = MasterSettings.from_opts({**OPTS, "p2pdist": {"tracker_port": 7001}})
    assert tracker_url(plain, {"interface": "10.0.0.1"}) == "https://10.0.0.1:7001/announce"


@pytest.mark.parametrize("interface", ["0.0.0.0", "::", "", None])
def test_tracker_url_never_advertises_a_wildcard(interface):
    url = tracker_url(MasterSettings.from_opts(OPTS), {"interface": interface})
    host = url.removeprefix("https://").removesuffix(":6970/announce")
    assert url.startswith("https://") and url.endswith(":6970/announce")
    assert host and host not in ("0.0.0.0", "::")


def test_minion_defaults_and_args():
    s = MinionSettings.from_opts({"cachedir": "/var/cache/salt/minion"})
    assert s.state_dir == Path("/var/cache/salt/minion/p2pdist")
    assert (s.bt_interface, s.bt_port, s.outgoing_interface, s.report_interval) == ("0.0.0.0", 0, "", 5)
    assert s.agent_args() == ["--bt-interface", "0.0.0.0", "--bt-port", "0"]
    s = MinionSettings.from_opts({**OPTS, "p2pdist": {"outgoing_interface": "eth1", "bt_port": 6881}})
    assert s.agent_args() == ["--bt-interface", "0.0.0.0", "--bt-port", "6881",
                              "--outgoing-interface", "eth1"]


def test_minion_resolve_dest():
    assert MinionSettings.from_opts(OPTS).resolve_dest("/opt/dist") == "/opt/dist"
    s = MinionSettings.from_opts({**OPTS, "p2pdist": {"dest_prefix": "/tmp/m1"}})
    assert s.resolve_dest("/opt/dist") == "/tmp/m1/opt/dist"


def test_settings_are_frozen():
    s = MinionSettings.from_opts(OPTS)
    with pytest.raises(AttributeError):
        s.bt_port = 1  # type: ignore[misc]


def test_swarms_are_closed_by_default_and_targets_only_false_reopens_them():
    from salt_p2pdist.agent.__main__ import parse_args

    default = MasterSettings.from_opts(OPTS)
    assert default.targets_only is True
    cfg = parse_args(["--state-dir", "/tmp/x", "--host-id", "origin", *origin_args(default, PKI)])
    assert cfg.admit_minions is False
    assert (cfg.announce_interval, cfg.announce_budget) == (30, 50)  # reach the tracker
    assert cfg.audit_log == default.state_dir / "audit.log"  # the desk records every certificate
    open_ = MasterSettings.from_opts({**OPTS, "p2pdist": {"targets_only": False}})
    assert parse_args(["--state-dir", "/tmp/x", "--host-id", "origin",
                       *origin_args(open_, PKI)]).admit_minions is True
