"""Property: the tracker and its certificate desk answer any request, or refuse with TrackerError."""

from __future__ import annotations

import contextlib
import random
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hostile_strategies import json_like
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.bencode import bdecode
from salt_p2pdist.certdesk import issue_certificate
from salt_p2pdist.swarmca import SwarmCA
from salt_p2pdist.tracker import Tracker, TrackerError, announce_token, parse_announce

HASH = bytes(range(20))
SECRET = b"s" * 32
ALLOWED = frozenset({"m1", "m2"})


def _tracker() -> Tracker:
    t = Tracker(secret=SECRET, rng=random.Random(1), clock=lambda: 100.0)
    t.register(HASH, ALLOWED, 6881, "pkg")
    return t


field_values = (st.text(max_size=30) | st.integers(-(2**70), 2**70).map(str)
                | st.sampled_from(["m1", "m2", "", "0", "65536", "-1", "stopped", "started", "1e3"]))
info_hashes = st.sampled_from([HASH, b"", b"x" * 19, b"y" * 21]) | st.binary(min_size=20, max_size=20)


@st.composite
def announce_queries(draw):
    fields = draw(st.dictionaries(st.sampled_from(["minion", "port", "left", "event", "numwant",
                                                   "auth", "junk"]), field_values, max_size=7))
    if draw(st.booleans()) and fields.get("minion") in ALLOWED:
        fields["auth"] = announce_token(SECRET, HASH, fields["minion"])
    parts = [urlencode(fields)]
    if draw(st.booleans()):
        parts.append("info_hash=" + quote_from_bytes(draw(info_hashes)))
    return "&".join(p for p in parts if p)


def _check_answer(body: bytes) -> dict:
    answer = bdecode(body)
    assert isinstance(answer, dict)
    assert (b"failure reason" in answer) != (b"peers" in answer)
    if b"peers" in answer:
        assert len(answer[b"peers"]) % 6 == 0
    return answer


@settings(max_examples=400)
@given(announce_queries(), st.sampled_from(["127.0.0.5", "10.0.0.1", "::1"]))
def test_any_announce_gets_a_bencoded_answer(query, ip):
    tracker = _tracker()
    _check_answer(tracker.respond(query, ip, "127.0.0.1"))
    assert set(tracker.swarms[HASH].peers) <= ALLOWED  # nobody else ever gets in


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
@given(st.text(max_size=20), st.binary(max_size=24), st.text(max_size=40))
@example("m1", HASH, "\x80")  # found: compare_digest raised TypeError on non-ASCII text
def test_wan_share_answers_or_refuses(minion, info_hash, auth):
    with contextlib.suppress(TrackerError):
        _tracker().wan_share(minion, "127.0.0.1", info_hash, auth)


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return SwarmCA(tmp_path_factory.mktemp("ca"))


request_fields = st.fixed_dictionaries({}, optional={
    "info_hash": st.sampled_from([HASH.hex(), HASH.hex() + "00" * 12, "zz"]) | json_like,
    "minion": st.sampled_from(["m1", "m3"]) | json_like,
    "time": st.sampled_from([1000, "1000", 10**30, float("inf"), float("nan"), True]) | json_like,
    "tls_key": st.sampled_from(["", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
    | json_like,
    "signature": json_like,
})


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_fields | json_like)
@example({"info_hash": HASH.hex(), "minion": "m1", "time": float("inf"), "tls_key": "",
          "signature": ""})  # found: OverflowError past the desk's error handling
def test_certificate_requests_are_granted_or_refused(ca, body):
    try:
        issue_certificate(_tracker(), ca, body, key_of=lambda _m: None, now=1000.0)
    except TrackerError:
        return
    raise AssertionError("a request without a valid signature was granted")
