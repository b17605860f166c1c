"""A minimal bencoder and decoder (the core stays free of libtorrent).

The decoder reads untrusted bytes (a torrent's raw file tree, which
libtorrent would silently rewrite): it either returns plain values or raises
:class:`BencodeError`, never anything else, and bounds its nesting depth.
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core.errors import InvalidRequest

Bencodable = Any  # int, bytes, str, lists and dicts of them
MAX_DEPTH = 64  # a torrent's file tree is a few levels deep; this stops a stack overflow


class BencodeError(InvalidRequest):
    """Bytes that are not valid bencoding."""


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Bencodable:
    """Decode one value that spans all of ``data``: ints, bytes, lists, dicts with bytes keys."""
    value, end = _value(data, 0, 0)
    if end != len(data):
        raise BencodeError(f"not bencoded: {len(data) - end} bytes of trailing data")
    return value


def _value(data: bytes, pos: int, depth: int) -> tuple[Bencodable, int]:
    if depth > MAX_DEPTH:
        raise BencodeError(f"not bencoded: nested deeper than {MAX_DEPTH}")
    if pos >= len(data):
        raise BencodeError("not bencoded: truncated")
    lead = data[pos:pos + 1]
    if lead == b"i":
        end = data.find(b"e", pos)
        return _int(data[pos + 1:end] if end > 0 else b""), _after(end)
    if lead.isdigit():
        return _bytes(data, pos)
    if lead == b"l":
        items, pos = [], pos + 1
        while data[pos:pos + 1] != b"e":
            item, pos = _value(data, pos, depth + 1)
            items.append(item)
        return items, pos + 1
    if lead == b"d":
        out: dict[bytes, Bencodable] = {}
        pos += 1
        while data[pos:pos + 1] != b"e":
            if not data[pos:pos + 1].isdigit():
                raise BencodeError(f"not bencoded: dictionary key at offset {pos} is not a string")
            key, pos = _bytes(data, pos)
            out[key], pos = _value(data, pos, depth + 1)
        return out, pos + 1
    raise BencodeError(f"not bencoded: unexpected {lead!r} at offset {pos}")


def _after(end: int) -> int:
    if end < 0:
        raise BencodeError("not bencoded: unterminated integer")
    return end + 1


def _int(digits: bytes) -> int:
    body = digits[1:] if digits[:1] == b"-" else digits
    # Python refuses int() of over 4300 digits with a ValueError; libtorrent
    # (and every torrent field) stays within 64 bits.
    if not body.isdigit() or (body[:1] == b"0" and len(digits) > 1) or len(body) > 19:
        raise BencodeError(f"not bencoded: bad integer {digits[:20]!r}")
    value = int(digits)
    if not -(2**63) <= value < 2**63:
        raise BencodeError(f"not bencoded: integer {digits[:20]!r} out of 64-bit range")
    return value


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    colon = data.find(b":", pos)
    digits = data[pos:colon] if colon > 0 else b""
    if not digits.isdigit() or len(digits) > 12:
        raise BencodeError(f"not bencoded: bad string length at offset {pos}")
    start = colon + 1
    end = start + int(digits)
    if end > len(data):
        raise BencodeError("not bencoded: truncated string")
    return data[start:end], end
