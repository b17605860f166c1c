"""Property: pillar policy, site maps and config sections are adopted or refused with InvalidRequest."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath

from hostile_strategies import json_like
from hypothesis import example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.core.config import MasterSettings, MinionSettings
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.policy import Policy
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.master.trackerhost import origin_args

rates = st.sampled_from(["10M", "1MB", "0", "-1", "1k", "5 Mbit", "", "x", 0, 10**30, 1.5, None, True])
times = st.sampled_from(["08:00", "25:00", "8", "", 480, None, "18:30"])
days = st.sampled_from([["mon"], ["mon-fri"], "mon", ["xyz"], [], None, [1]])
windows = st.fixed_dictionaries({}, optional={"days": days, "start": times, "end": times,
                                              "upload_rate": rates, "download_rate": rates,
                                              "upload": json_like}) | json_like
policies = st.fixed_dictionaries({}, optional={
    "upload": st.sampled_from([True, False, "site", "yes", None]) | json_like,
    "upload_rate": rates | json_like, "download_rate": rates | json_like,
    "windows": st.lists(windows, max_size=3) | json_like}) | json_like


@settings(max_examples=400)
@given(policies, st.none() | rates | json_like, st.text(max_size=8))
def test_pillar_policy_is_adopted_or_refused(raw, wan_rate, site):
    try:
        policy = Policy.from_pillar(raw, site_wan_rate=wan_rate, site=site)
    except InvalidRequest:
        return
    policy.explain(datetime(2026, 1, 5, 12, 0))
    for value in (policy.upload_rate, policy.download_rate, policy.wan_rate):
        assert isinstance(value, int) and value >= 0


networks = st.sampled_from(["10.0.0.0/8", "10.1.2.3", "::1/128", "300.0.0.0/8", "", "x"]) | json_like
sites = st.dictionaries(st.text(max_size=6), st.fixed_dictionaries({}, optional={
    "networks": st.lists(networks, max_size=3) | json_like, "parent": json_like,
    "wan_rate": rates}) | json_like, max_size=3) | json_like


@settings(max_examples=400)
@given(sites, st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5)) | json_like)
def test_site_maps_are_adopted_or_refused(raw, overrides):
    try:
        site_map = SiteMap.from_config(raw, overrides)
    except InvalidRequest:
        return
    site_map.site_of("m1", "10.1.2.3")
    site_map.nearness(site_map.site_of("a"), site_map.site_of("b", "::1"))


def _section(cls):
    from dataclasses import fields

    names = [f.name for f in fields(cls) if f.name != "state_dir"]
    return st.dictionaries(st.sampled_from([*names, "bogus"]), json_like | st.sampled_from(
        [0, 1, 6970, 70000, -1, "/srv/p2pdist", ["/srv/p2pdist"], ["relative"], True, "x"]), max_size=5)


@settings(max_examples=300)
@given(_section(MasterSettings))
@example({"allowed_dest": "/srv/p2pdist"})  # found: a string, iterated as roots "/", "s", ...
@example({"tracker_port": None})
def test_master_section_is_adopted_or_refused(section):
    try:
        cfg = MasterSettings.from_opts({"p2pdist": section, "cachedir": "/var/cache/salt/master",
                                        "file_roots": {"base": ["/srv/salt"]}})
    except InvalidRequest:
        return
    assert isinstance(cfg.tracker_port, int) and 0 < cfg.tracker_port < 65536
    assert isinstance(cfg.bt_port, int) and 0 <= cfg.bt_port < 65536
    assert isinstance(cfg.announce_interval, int) and cfg.announce_interval >= 1
    assert isinstance(cfg.allowed_dest, list)
    assert all(isinstance(r, str) and PurePath(r).is_absolute() for r in cfg.allowed_dest)
    assert isinstance(cfg.targets_only, bool) and isinstance(cfg.tracker_host, str)
    assert cfg.sites is None or isinstance(cfg.sites, dict)
    origin_args(cfg, {"pki_dir": "/etc/salt/pki/master"})


@settings(max_examples=300)
@given(_section(MinionSettings), st.sampled_from(["/opt/x", "/", "/srv/p2pdist/a"]))
@example({"dest_prefix": "0"}, "/opt/x")  # found: a relative prefix made dest relative
def test_minion_section_is_adopted_or_refused(section, dest):
    try:
        cfg = MinionSettings.from_opts({"p2pdist": section, "cachedir": "/var/cache/salt/minion"})
    except InvalidRequest:
        return
    assert isinstance(cfg.bt_port, int) and 0 <= cfg.bt_port < 65536
    assert isinstance(cfg.report_interval, int) and cfg.report_interval >= 1
    assert all(isinstance(a, str) for a in cfg.agent_args())
    assert PurePath(cfg.resolve_dest(dest)).is_absolute()
