"""The body of ``POST /v1/dists``: checked field by field before the engine sees it.

The execution module and the origin's runner build these orders, but the
API takes whatever a local caller sends: a missing or mistyped field must
come back as a clear InvalidRequest, not as a crash deep in the engine.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import PurePath
from typing import Any

from salt_p2pdist.core import priority
from salt_p2pdist.core.errors import InvalidRequest


def _absolute(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "\0" not in value and PurePath(value).is_absolute()


def check_order(order: Any) -> dict[str, Any]:
    """``order`` if every field has the right type; InvalidRequest naming each problem otherwise."""
    if not isinstance(order, dict):
        raise InvalidRequest("an order must be a JSON object")
    problems = []
    mode = order.get("mode")
    if mode not in ("fetch", "seed"):
        problems.append(f"mode must be 'fetch' or 'seed', got {mode!r}")
    try:
        if not isinstance(order.get("torrent"), str) or not order["torrent"]:
            raise ValueError("missing")
        base64.b64decode(order["torrent"], validate=True)
    except (ValueError, binascii.Error):
        problems.append("torrent must be the torrent file in base64")
    if mode == "fetch" and not _absolute(order.get("dest")):
        problems.append(f"dest must be an absolute path, got {order.get('dest')!r}")
    if mode == "seed" and not _absolute(order.get("source")):
        problems.append(f"source must be an absolute path, got {order.get('source')!r}")
    roots = order.get("allowed_dest")
    if roots is not None and not (isinstance(roots, list) and all(map(_absolute, roots))):
        problems.append("allowed_dest must be a list of absolute paths")
    checks = {"force": lambda v: isinstance(v, bool) or v in (0, 1),
              "targets": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
              "upload_limit": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63,
              "sites": lambda v: isinstance(v, dict),
              "relays": lambda v: isinstance(v, dict) and all(
                  isinstance(h, str) and isinstance(s, str) for h, s in v.items()),
              "site": lambda v: isinstance(v, str),
              "priority": lambda v: v in priority.LEVELS,
              "tracker": lambda v: isinstance(v, str)}
    for key, ok in checks.items():
        if order.get(key) is not None and not ok(order[key]):
            problems.append(f"{key} has the wrong type or range: {order[key]!r:.60}")
    if problems:
        raise InvalidRequest("invalid order: " + "; ".join(problems))
    return order
