from __future__ import annotations

import grp
import os
import pwd
from pathlib import PurePosixPath as P

import pytest

from salt_p2pdist.core.errors import Forbidden, InvalidRequest
from salt_p2pdist.master.authz import Admins, Grant, expression, host_groups, lexical, targets_within

CONFIG = {
    "alice": {},
    "carol": None,  # YAML `carol:` with nothing under it
    "dist-team%": {"paths": ["/srv/dist/teamA"], "targets": ["G@team:A"]},
    "ops%": {"targets": ["G@role:web  and  G@env:prod", "web*"]},
    "dave": {"paths": "/srv/dist/dave/"},
}


@pytest.fixture
def admins() -> Admins:
    return Admins.from_config(CONFIG)


# -- from_config ---------------------------------------------------------

def test_from_config_normalises_grants(admins):
    assert admins.grants is not None
    by_name = {g.name: g for g in admins.grants}
    assert by_name["alice"] == Grant("alice")
    assert by_name["carol"] == Grant("carol")
    assert by_name["dist-team%"] == Grant("dist-team%", (P("/srv/dist/teamA"),), ("G@team:A",))
    assert by_name["ops%"].targets == ("G@role:web and G@env:prod", "web*")
    assert by_name["dave"].paths == (P("/srv/dist/dave"),)


def test_without_admins_anyone_may_push():
    open_ = Admins.from_config(None)
    assert open_.grants is None
    open_.check("anyone", [], P("/etc/shadow"), "*", "glob")
    assert open_.targets_for("anyone", [], P("/x")) is None


def test_empty_admins_lets_nobody_push():
    with pytest.raises(Forbidden, match="not in p2pdist:admins"):
        Admins.from_config({}).check("root", [], P("/srv/x"), "*", "glob")


def test_from_config_reports_every_problem_in_one_message():
    bad = {
        "eve": ["paths"],
        "frank": {"paths": ["relative/dir", "/ok"], "tagrets": ["*"]},
        "gina%": {"paths": [], "targets": [1, "x"]},
        "%": {},
        "henry": {"targets": "G@a:b"},  # a single string is fine
    }
    with pytest.raises(InvalidRequest) as info:
        Admins.from_config(bad)
    msg = str(info.value)
    assert msg.startswith("invalid p2pdist:admins: ")
    for part in ["'eve': expected a mapping", "'frank': unknown key(s) tagrets",
                 "paths: 'relative/dir' is not an absolute path",
                 "'gina%': paths: an empty list allows nothing",
                 "targets: expected a list of strings", "'%': not a user or group name"]:
        assert part in msg, part
    assert "henry" not in msg and "/ok" not in msg


def test_from_config_rejects_a_non_mapping():
    with pytest.raises(InvalidRequest, match="expected a mapping"):
        Admins.from_config(["alice"])


# -- check ---------------------------------------------------------------

def test_unrestricted_user_may_push_anything(admins):
    admins.check("alice", [], P("/anything"), "*", "glob")
    admins.check("carol", ["whatever"], P("/x/y"), "team:B", "grain")


def test_stranger_is_told_they_are_not_an_admin(admins):
    with pytest.raises(Forbidden, match=r"^bob may not push: not in p2pdist:admins$"):
        admins.check("bob", [], P("/srv/dist/teamA/x"), "team:A", "grain")
    with pytest.raises(Forbidden, match=r"nor are its groups: devs"):
        admins.check("bob", ["devs"], P("/srv/dist/teamA/x"), "team:A", "grain")
    with pytest.raises(Forbidden):
        admins.check("dist-team", [], P("/srv/dist/teamA"), "team:A", "grain")  # a group, not a user


def test_group_member_may_push_from_its_paths_to_its_targets(admins):
    admins.check("bob", ["dist-team"], P("/srv/dist/teamA"), "team:A", "grain")
    admins.check("bob", ["dist-team"], P("/srv/dist/teamA/sub/file.iso"), "G@team:A", "compound")


@pytest.mark.parametrize("source", ["/srv/dist/teamA-evil/x", "/srv/dist/teamA/../teamB/x",
                                    "/srv/dist", "/srv/dist/teamA/../../../etc/passwd", "/srv/dist/teama"])
def test_path_check_is_by_component_after_resolving_dotdot(admins, source):
    says = "group dist-team may push only from /srv/dist/teamA and only to G@team:A"
    with pytest.raises(Forbidden, match=says):
        admins.check("bob", ["dist-team"], P(source), "team:A", "grain")


def test_dotdot_that_stays_inside_is_fine(admins):
    admins.check("bob", ["dist-team"], P("/srv/dist/teamA/a/../b"), "team:A", "grain")
    admins.check("bob", ["dist-team"], P("/../srv/dist/teamA/x"), "team:A", "grain")


def test_relative_source_is_refused(admins):
    with pytest.raises(Forbidden, match="absolute path"):
        admins.check("bob", ["dist-team"], P("srv/dist/teamA"), "team:A", "grain")


@pytest.mark.parametrize(("tgt", "tgt_type"), [
    ("team:B", "grain"), ("G@team:A or G@team:B", "compound"), ("web1", "glob"), ("team:A", "pillar"),
    ("team:A", "unknown_type"),
])
def test_target_must_equal_an_allowed_expression(admins, tgt, tgt_type):
    with pytest.raises(Forbidden, match="may push only from /srv/dist/teamA and only to G@team:A"):
        admins.check("bob", ["dist-team"], P("/srv/dist/teamA/x"), tgt, tgt_type)


def test_target_only_grant_and_whitespace_in_compound(admins):
    admins.check("olga", ["ops"], P("/any/where"), "G@role:web and G@env:prod", "compound")
    admins.check("olga", ["ops"], P("/any/where"), " G@role:web and\tG@env:prod ", "compound")
    admins.check("olga", ["ops"], P("/any/where"), "web*", "glob")
    with pytest.raises(Forbidden, match=r"^olga may not push /any/where to E@web\.\*: group ops may push "
                                        r"only to G@role:web and G@env:prod, web\*$"):
        admins.check("olga", ["ops"], P("/any/where"), "web.*", "pcre")


def test_any_one_matching_entry_suffices_but_must_allow_both(admins):
    two = Admins.from_config({"x%": {"paths": ["/p"], "targets": ["t1"]},
                              "y%": {"paths": ["/q"], "targets": ["t2"]}})
    two.check("pat", ["x", "y"], P("/p/f"), "t1", "glob")
    two.check("pat", ["x", "y"], P("/q/f"), "t2", "glob")
    # x's path with y's target is a grant neither gives.
    with pytest.raises(Forbidden) as info:
        two.check("pat", ["x", "y"], P("/p/f"), "t2", "glob")
    assert str(info.value) == ("pat may not push /p/f to t2: group x may push only from /p and only to t1; "
                               "group y may push only from /q and only to t2")
    admins.check("pat", ["dist-team", "ops"], P("/srv/dist/teamA/x"), "team:A", "grain")
    admins.check("pat", ["dist-team", "ops"], P("/elsewhere"), "web*", "glob")


def test_user_and_group_entries_combine(admins):
    admins.check("alice", ["dist-team"], P("/elsewhere"), "*", "glob")  # her own entry is unrestricted
    with pytest.raises(Forbidden, match=r"dave may push only from /srv/dist/dave$"):
        admins.check("dave", [], P("/srv/dist/davey"), "*", "glob")


# -- targets_for / targets_within ----------------------------------------------

def test_targets_for_lists_what_the_runner_must_resolve(admins):
    assert admins.targets_for("bob", ["dist-team"], P("/srv/dist/teamA/x")) == ["G@team:A"]
    assert admins.targets_for("bob", ["dist-team"], P("/srv/other")) == []
    assert admins.targets_for("pat", ["dist-team", "ops"], P("/srv/dist/teamA/x")) == \
        ["G@role:web and G@env:prod", "G@team:A", "web*"]
    assert admins.targets_for("alice", [], P("/x")) is None
    assert admins.targets_for("dave", [], P("/srv/dist/dave/f")) is None


def test_targets_within():
    assert targets_within({"a", "b"}, [{"a"}, {"b", "c"}])
    assert not targets_within({"a", "d"}, [{"a"}, {"b", "c"}])
    assert not targets_within({"a"}, [])
    assert targets_within(set(), [])


def test_helpers():
    assert expression("team:A", "grain") == "G@team:A"
    assert expression("a,b", "list") == "L@a,b"
    assert expression("web*", "glob") == "web*"
    assert expression("x", "weird") is None
    assert lexical(P("/a/b/../../../c/./d")) == P("/c/d")
    assert lexical(P("a/../../b")) == P("b")


def test_host_groups_are_the_users_groups_on_this_host():
    me = pwd.getpwuid(os.getuid()).pw_name
    primary = grp.getgrgid(os.getgid()).gr_name
    assert primary in host_groups(me)
    assert host_groups(f"sudo_{me}") == host_groups(me)  # Salt's name for a user under sudo
    assert host_groups("no-such-user-p2pdist") == []


def test_a_group_entry_matches_a_member_through_host_groups():
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    admins = Admins.from_config({f"{group}%": {"paths": ["/srv/dist/teamA"]}})
    admins.check(me, host_groups(me), P("/srv/dist/teamA/x.iso"), "web*", "glob")
    with pytest.raises(Forbidden, match=f"group {group} may push only from /srv/dist/teamA"):
        admins.check(me, host_groups(me), P("/etc/shadow"), "web*", "glob")
