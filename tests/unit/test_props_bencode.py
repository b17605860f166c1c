"""Property: the bencode decoder accepts what bencode writes and refuses anything else cleanly."""

from __future__ import annotations

import contextlib

import libtorrent as lt
from hypothesis import example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.torrent.bencode import BencodeError, bdecode, bencode

INT64 = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)  # libtorrent reads -2**63 as 0
values = st.recursive(INT64 | st.binary(max_size=30),
                      lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.binary(max_size=8), inner, max_size=4), max_leaves=15)


@settings(max_examples=300)
@given(values)
def test_round_trip(value):
    assert bdecode(bencode(value)) == value


@settings(max_examples=100)
@given(st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_integers_beyond_64_bits_are_refused_like_libtorrent_does(value):
    try:
        bdecode(bencode(value))
    except BencodeError:
        return
    raise AssertionError("accepted")


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_bencode_error(data):
    with contextlib.suppress(BencodeError):
        bdecode(data)


@settings(max_examples=300)
@given(values, st.data())
def test_damaged_encodings_decode_or_raise_bencode_error(value, data):
    raw = bytearray(bencode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=4))
    try:
        decoded = bdecode(bytes(raw))
    except BencodeError:
        return
    assert bencode(decoded)  # whatever is accepted is plain data


@settings(max_examples=100)
@given(st.integers(min_value=1, max_value=20_000), st.booleans())
@example(4301, False)  # found: Python's int() limit raised ValueError, not BencodeError
def test_long_integers_and_lengths_are_refused_or_read(digits, as_length):
    raw = (b"9" * digits + b":x") if as_length else (b"i" + b"9" * digits + b"e")
    with contextlib.suppress(BencodeError):
        bdecode(raw)


@settings(max_examples=50)
@given(st.integers(min_value=1, max_value=5_000), st.sampled_from([b"l", b"d1:a"]))
def test_deep_nesting_is_refused_not_a_crash(depth, opener):
    with contextlib.suppress(BencodeError):
        bdecode(opener * depth + b"i0e" + b"e" * depth)


@settings(max_examples=200)
@given(values)
def test_agrees_with_libtorrent(value):
    assert lt.bdecode(bencode(value)) == value
