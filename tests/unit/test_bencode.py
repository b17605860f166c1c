from __future__ import annotations

import libtorrent as lt
import pytest

from salt_p2pdist.torrent.bencode import bencode


def test_scalars():
    assert bencode(42) == b"i42e"
    assert bencode(-3) == b"i-3e"
    assert bencode(0) == b"i0e"
    assert bencode(b"spam") == b"4:spam"
    assert bencode("") == b"0:"
    assert bencode("é") == b"2:\xc3\xa9"  # length counts bytes, not characters


def test_containers_and_sorted_keys():
    assert bencode([1, "a"]) == b"li1e1:ae"
    assert bencode({"b": 1, "a": [b"x"]}) == b"d1:al1:xe1:bi1ee"
    assert bencode({b"peers": b"\x00\xff", "interval": 30}) == b"d8:intervali30e5:peers2:\x00\xffe"


def test_libtorrent_reads_it_back():
    value = {"failure reason": "nope", "interval": 30, "peers": bytes(range(12)), "l": [1, b"z"]}
    assert lt.bdecode(bencode(value)) == {
        b"failure reason": b"nope", b"interval": 30, b"peers": bytes(range(12)), b"l": [1, b"z"]}


@pytest.mark.parametrize("bad", [True, 1.5, None, {1: 2}.values()])
def test_rejects_what_bencode_cannot_express(bad):
    with pytest.raises(TypeError):
        bencode(bad)
