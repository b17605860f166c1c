"""Fetching a torrent an order names by reference, from the master's tracker.

Orders for big torrents (a tree of thousands of files: megabytes) carry the
info hash, the SHA-256 of the signed torrent and the swarm CA instead of the
torrent (master/orders.py). The minion asks the tracker that the order names
(``POST /torrent``, over TLS checked against that CA), signing the request
with its Salt key as for a certificate; the tracker answers hosts admitted to
the distribution only. The bytes must match the digest; the caller then
checks the master's signature in them as for a torrent that came inline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from salt_p2pdist.agent import mastertls
from salt_p2pdist.core.errors import InvalidRequest, TransferError
from salt_p2pdist.torrent import swarmca

TIMEOUT_S = 60.0
MAX_TORRENT = 1 << 26  # the agent's API takes no bigger order either


def torrent_url(tracker: str) -> str:
    parts = urlsplit(tracker)
    return f"{parts.scheme}://{parts.netloc}/torrent"


def check_ref(ref: Any) -> dict[str, Any]:
    """The reference's fields, typed; InvalidRequest if any is missing or wrong."""
    ok = (isinstance(ref, dict) and isinstance(ref.get("info_hash"), str) and len(ref["info_hash"]) == 64
          and isinstance(ref.get("sha256"), str) and len(ref["sha256"]) == 64
          and isinstance(ref.get("bytes"), int) and 0 < ref["bytes"] <= MAX_TORRENT
          and isinstance(ref.get("ca", ""), str))
    if not ok:
        raise InvalidRequest(f"the order's torrent reference is malformed: {ref!r:.120}")
    return dict(ref)


def fetch_torrent(ref: Any, tracker: str, minion_id: str, salt_key: Path) -> bytes:
    """The torrent bytes ``ref`` names, from ``tracker``'s host; TransferError or InvalidRequest."""
    ref = check_ref(ref)
    url = torrent_url(tracker)
    when = int(time.time())
    payload = swarmca.torrent_request_payload(ref["info_hash"], minion_id, when)
    body = json.dumps({"info_hash": ref["info_hash"], "minion": minion_id, "time": when,
                       "signature": swarmca.sign(salt_key, payload)}).encode()
    try:
        ctx = mastertls.client_context(ref.get("ca", "")) if url.startswith("https:") else None
        answer = mastertls.call(url, ctx, data=body, timeout=TIMEOUT_S)
        data = base64.b64decode(answer["torrent"], validate=True)
    except mastertls.UntrustedTracker as exc:
        raise TransferError(f"cannot fetch the torrent of {ref['info_hash'][:16]}: {exc}") from exc
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise TransferError(f"cannot fetch the torrent of {ref['info_hash'][:16]} from {url}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise InvalidRequest(f"the torrent {url} sent for {ref['info_hash'][:16]} does not match the "
                             "order's digest: refused, nothing written")
    return data
