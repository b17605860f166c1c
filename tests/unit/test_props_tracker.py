"""Property: the tracker and its certificate desk answer any request, or refuse with TrackerError.

Closed swarms: who announces is whom the connection's verified client
certificate names (a :class:`Holder`); anything in the query string is a
claim, and no claim moves or removes another host's entry.
"""

from __future__ import annotations

import contextlib
import random
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hostile_strategies import json_like
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.torrent.bencode import bdecode
from salt_p2pdist.torrent.swarmca import SwarmCA
from salt_p2pdist.tracker.announce import Holder, TrackerError, parse_announce
from salt_p2pdist.tracker.certdesk import UsedRequests, issue_certificate
from salt_p2pdist.tracker.tracker import Tracker

HASH = bytes(range(20))
ALLOWED = frozenset({"m1", "m2"})
M1 = Holder("m1", "pkg")  # m1's own certificate for this swarm
M1_IP = "127.0.0.11"


def _tracker() -> Tracker:
    t = Tracker(require_cert=True, rng=random.Random(1), clock=lambda: 100.0)
    t.register(HASH, ALLOWED, 6881, "pkg")
    return t


field_values = (st.text(max_size=30) | st.integers(-(2**70), 2**70).map(str)
                | st.sampled_from(["m1", "m2", "", "0", "65536", "-1", "stopped", "started", "1e3"]))
info_hashes = st.sampled_from([HASH, b"", b"x" * 19, b"y" * 21]) | st.binary(min_size=20, max_size=20)
# Whom a certificate may name: the right or wrong host, this swarm or another, or nothing at all.
holders = st.none() | st.builds(Holder, st.sampled_from(["m1", "m2", "m3", ""]) | st.text(max_size=8),
                                st.sampled_from(["pkg", "other", ""]) | st.text(max_size=8))
ips = st.sampled_from(["127.0.0.5", "10.0.0.1", "::1", M1_IP])


@st.composite
def announce_queries(draw):
    fields = draw(st.dictionaries(st.sampled_from(["minion", "port", "left", "event", "numwant",
                                                   "ip", "auth", "junk"]), field_values, max_size=8))
    parts = [urlencode(fields)]
    if draw(st.booleans()):
        parts.append("info_hash=" + quote_from_bytes(draw(info_hashes)))
    return "&".join(p for p in parts if p)




def well_formed(minions):
    """Announces the parser accepts, claiming to be one of ``minions`` (with a claimed ip or an old token)."""
    events = st.sampled_from(["", "&event=stopped", "&event=started"])
    return st.builds("info_hash={}&port={}&left=0&minion={}{}{}".format, st.just(quote_from_bytes(HASH)),
                     st.integers(1, 65535), minions, events,
                     st.sampled_from(["", "&ip=10.6.6.6", "&auth=" + "0" * 32]))


m1_claims = well_formed(st.just("m1"))  # what a thief with m1's announce URL sends


def _check_answer(body: bytes) -> dict:
    answer = bdecode(body)
    assert isinstance(answer, dict)
    assert (b"failure reason" in answer) != (b"peers" in answer)
    if b"peers" in answer:
        assert len(answer[b"peers"]) % 6 == 0
    return answer


@settings(max_examples=400)
@given(announce_queries() | well_formed(st.sampled_from(["m1", "m2", "m3"])), ips, holders)
def test_any_announce_gets_a_bencoded_answer(query, ip, holder):
    tracker = _tracker()
    _check_answer(tracker.respond(query, ip, "127.0.0.1", holder))
    # Nobody else ever gets in, and only as whom its certificate for this swarm names.
    certified = {holder.host_id} if holder and holder.torrent_name == "pkg" else set()
    assert set(tracker.swarms[HASH].peers) <= ALLOWED & certified


@settings(max_examples=300)
@given(st.lists(st.tuples(m1_claims | announce_queries(), ips, holders.filter(lambda h: h != M1)),
                min_size=1, max_size=6))
@example([(f"info_hash={quote_from_bytes(HASH)}&port=7&minion=m1&event=stopped", "10.0.0.1", None)])
@example([(f"info_hash={quote_from_bytes(HASH)}&port=7&minion=m1", "10.0.0.1", Holder("m2", "pkg"))])
@example([(f"info_hash={quote_from_bytes(HASH)}&port=7&minion=m1", "10.0.0.1", Holder("m1", "other"))])
def test_a_stolen_identity_cannot_move_or_remove_another_hosts_entry(attempts):
    tracker = _tracker()
    _check_answer(tracker.respond(f"info_hash={quote_from_bytes(HASH)}&port=6881&minion=m1",
                                  M1_IP, "127.0.0.1", M1))
    entry = tracker.swarms[HASH].peers["m1"]
    for query, ip, holder in attempts:  # anything but m1's own certificate for this swarm
        _check_answer(tracker.respond(query, ip, "127.0.0.1", holder))
        with contextlib.suppress(TrackerError):
            tracker.wan_share("m1", ip, holder)
            raise AssertionError(f"m1's WAN share was given to {holder}")
    assert tracker.swarms[HASH].peers.get("m1") == entry


@settings(max_examples=300)
@given(st.text(max_size=80) | st.builds("info_hash={}&port=1&minion=m1&{}".format,
                                        st.text(max_size=24), st.text(max_size=20)))
@example("info_hash=\u0100&port=1&minion=m1")
@example(f"info_hash={quote_from_bytes(HASH)}&port=1&minion=m1&auth=\xe9")
def test_any_query_text_is_parsed_or_refused(query):  # found: info_hash of chars > U+00FF
    with contextlib.suppress(TrackerError):
        parse_announce(query, "127.0.0.1")
    _check_answer(_tracker().respond(query, "127.0.0.1", "127.0.0.1"))


@settings(max_examples=200)
@given(st.text(max_size=20) | st.sampled_from(["m1", "m2"]), ips, holders)
@example("m1", "127.0.0.1", M1)
@example("\x80", "127.0.0.1", Holder("\x80", "pkg"))
def test_wan_share_answers_or_refuses(minion, ip, holder):
    try:
        _tracker().wan_share(minion, ip, holder)
    except TrackerError:
        return
    assert holder is not None and holder.host_id == minion  # only a host's own certificate asks


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return SwarmCA(tmp_path_factory.mktemp("ca"))


# JSON text may hold what UTF-8 cannot: "\ud800" decodes to a lone surrogate.
json_text = st.text(st.characters(exclude_categories=()), max_size=30)
request_fields = st.fixed_dictionaries({}, optional={
    "info_hash": st.sampled_from([HASH.hex(), HASH.hex() + "00" * 12, "zz"]) | json_like | json_text,
    "minion": st.sampled_from(["m1", "m3"]) | json_like | json_text,
    "time": st.sampled_from([1000, "1000", 10**30, float("inf"), float("nan"), True]) | json_like,
    "tls_key": st.sampled_from(["", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
    | json_like | json_text,
    "signature": json_like | json_text,
})


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_fields | json_like)
@example({"info_hash": HASH.hex(), "minion": "m1", "time": float("inf"), "tls_key": "",
          "signature": ""})  # found: OverflowError past the desk's error handling
@example({"info_hash": HASH.hex(), "minion": "m1", "time": 1000, "tls_key": "\ud800",
          "signature": ""})  # found: UnicodeEncodeError, a refusal left out of the audit log
def test_certificate_requests_are_granted_or_refused(ca, body):
    try:
        issue_certificate(_tracker(), ca, body, key_of=lambda _m: None, now=1000.0,
                          used=UsedRequests())
    except TrackerError:
        return
    raise AssertionError("a request without a valid signature was granted")
