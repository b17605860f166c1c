"""What a host says to the tracker (one HTTP announce, the certificate it comes with) and the answer.

Sans I/O: the origin's HTTP server hands in the raw query string and the
verified TLS client certificate, :mod:`salt_p2pdist.tracker.tracker` decides.
A host's address is the connection's, never what the announce claims.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from salt_p2pdist.torrent.bencode import bencode
from salt_p2pdist.tracker.handout import Peer
from salt_p2pdist.tracker.intervals import IntervalRule


@dataclass(frozen=True)
class Announce:
    info_hash20: bytes
    host_id: str
    ip: str
    port: int
    left: int
    event: str
    numwant: int
    peer_id: str = ""  # libtorrent draws one per torrent handle: tells a re-added handle apart


@dataclass(frozen=True)
class Holder:
    """Whom a verified TLS client certificate names: one host, for one torrent name."""

    host_id: str
    torrent_name: str


def holder_of(peercert: Mapping[str, object] | None) -> Holder | None:
    """The holder in ``ssl.SSLSocket.getpeercert()`` (None: no verified certificate).

    Certificates from :meth:`SwarmCA.issue` carry the torrent name as CN and
    the host id as OU.
    """
    fields: dict[str, str] = {}
    subject = peercert.get("subject", ()) if peercert else ()
    for rdn in subject if isinstance(subject, tuple) else ():
        for key, value in rdn:
            fields.setdefault(key, value)
    host, name = fields.get("organizationalUnitName", ""), fields.get("commonName", "")
    return Holder(host, name) if host and name else None


class TrackerError(ValueError):
    """An announce the tracker refuses; the message goes back to the client."""


def parse_announce(query: str, source_ip: str) -> Announce:
    # info_hash is raw bytes percent-encoded; latin-1 maps them back 1:1.
    q = parse_qs(query, encoding="latin-1", keep_blank_values=True)

    def one(key: str, default: str | None = None) -> str:
        values = q.get(key)
        if values:
            return values[0]
        if default is None:
            raise TrackerError(f"missing {key}")
        return default

    try:
        info_hash = one("info_hash").encode("latin-1")
    except UnicodeEncodeError:  # percent-escapes decode to latin-1; more is not a raw hash
        info_hash = b""
    if len(info_hash) != 20:
        raise TrackerError("bad info_hash")
    try:
        port = int(one("port"))
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range")
        return Announce(
            info_hash20=info_hash,
            host_id=one("minion"),
            ip=source_ip,
            port=port,
            left=int(one("left", "0")),
            event=one("event", ""),
            numwant=max(0, min(int(one("numwant", "50")), 200)),
            peer_id=one("peer_id", ""),
        )
    except ValueError as exc:
        raise TrackerError(f"bad announce: {exc}") from exc


def compact(peers: list[Peer]) -> bytes:
    out = bytearray()
    for p in peers:
        out += socket.inet_aton(p.ip) + p.port.to_bytes(2, "big")
    return bytes(out)


def answer(peers: list[Peer], interval: int) -> bytes:
    """The bencoded answer handing out ``peers`` (IPv4 only: the compact form)."""
    return bencode({**_intervals(interval), "peers": compact([p for p in peers if ":" not in p.ip])})


def refusal(reason: str, interval: int) -> bytes:
    """The bencoded refusal. With the interval: without it libtorrent assumes 1800 s, and a
    host refused once (e.g. admitted a moment later) would wait half an hour."""
    return bencode({"failure reason": reason, **_intervals(interval)})


def _intervals(interval: int) -> dict[str, int]:
    return {"interval": interval, "min interval": IntervalRule.min_interval(interval)}
