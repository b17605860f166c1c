"""Local before remote, with real minions in two sites (loopback addresses)."""

from __future__ import annotations

from pathlib import Path

from salt_p2pdist.testing.deployment import Deployment, sha256, write_random

SITE_OF = {"m1": "paris", "m2": "paris", "m3": "lyon", "m4": "lyon"}


def test_each_site_fetches_once_and_spreads_on_its_lan(deployment: Deployment, srv: Path) -> None:
    payload = write_random(srv / "image.bin", 8 << 20, seed=21)
    size = payload.stat().st_size
    ret = deployment.salt_run("p2pdist.push", str(payload), timeout=300,
                              kwargs={"tgt": "m*", "dest": "/opt/img", "wait": True})
    assert ret["result"] is True, ret
    held = deployment.salt("m*", "p2pdist.status", ret["id"])
    for site in ("paris", "lyon"):
        members = {m: held[m] for m, s in SITE_OF.items() if s == site}
        remote = {m: h["from_remote"] + h["from_origin"] for m, h in members.items()}
        local = {m: h["from_site"] for m, h in members.items()}
        # One WAN fetcher per site pulls from outside; the other minion gets
        # everything from its own site and nothing from anywhere else.
        fetchers = [m for m, b in remote.items() if b > 0]
        assert len(fetchers) == 1, (site, remote, local)
        (other,) = set(members) - set(fetchers)
        # (The ledger samples peers once a second, so the last burst of a
        # connection that closes at completion may go uncounted.)
        assert remote[other] == 0 and local[other] > size // 2, (site, remote, local)
        # About one copy entered the site.
        assert sum(remote.values()) < 1.2 * size, (site, remote)
    for minion in SITE_OF:
        assert sha256(deployment.copy_at(minion, "/opt/img", payload.name)) == sha256(payload)
    # The master's status by site: both done, about one copy in over each WAN link.
    view = deployment.salt_run("p2pdist.status", ret["id"])
    for site in ("paris", "lyon"):
        s = view["sites"][site]
        assert s["done"] == s["targets"] == 2 and s["stragglers"] == [], s
        assert 0 < s["wan_in_bytes"] < 1.2 * size, s
    table = deployment.cli("salt-run", "p2pdist.status", ret["id"]).stdout
    assert "lyon" in table and "paris" in table and "2/2" in table, table


def test_a_copy_already_on_the_minion_is_reused(deployment: Deployment, srv: Path) -> None:
    first = write_random(srv / "base.iso", 4 << 20, seed=22)
    ret = deployment.salt_run("p2pdist.push", str(first),
                              kwargs={"tgt": "m2", "dest": "/opt/base", "wait": True})
    assert ret["result"] is True, ret
    # A later release ships the same file inside a directory: m2 already has it.
    bundle = srv / "bundle"
    bundle.mkdir()
    (bundle / "base.iso").write_bytes(first.read_bytes())
    write_random(bundle / "patch.bin", 100_000, seed=23)
    ret2 = deployment.salt_run("p2pdist.push", str(bundle),
                               kwargs={"tgt": "m2", "dest": "/opt/bundle", "wait": True})
    assert ret2["result"] is True, ret2
    st = deployment.salt("m2", "p2pdist.status", ret2["id"])["m2"]
    assert st["reused"] == first.stat().st_size
    assert st["downloaded"] < 1 << 20  # only the patch (and piece overlap) came over the wire
    assert sha256(deployment.copy_at("m2", "/opt/bundle", "bundle/base.iso")) == sha256(first)
