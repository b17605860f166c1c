"""Progress reports: from master-bus events to catalog rows (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

Row = tuple[str, str, float, dict[str, Any]]


def rows_from_events(events: Iterable[dict[str, Any]], tag_prefix: str) -> list[Row]:
    """(dist_id, minion, ts, fields) for every distribution in every report event.

    A minion's event reaches the master bus wrapped: ``{"id": <sender>,
    "tag": ..., "data": <payload>, "cmd": "_minion_event"}``. The master's
    request channel checks ``id`` against the sender's key, so ``id`` is the
    one trusted name; the tag and the payload's own ``minion`` are written by
    the minion and must agree with it. Reports about distributions this
    master did not issue are dropped later by the catalog.
    """
    rows: list[Row] = []
    for event in events:
        tag = str(event.get("tag", ""))
        if not tag.startswith(tag_prefix):
            continue
        envelope = event.get("data")
        if not isinstance(envelope, dict):
            continue
        minion, data = envelope.get("id"), envelope.get("data")
        if (not minion or tag[len(tag_prefix):] != minion or not isinstance(data, dict)
                or data.get("minion") != minion or not isinstance(data.get("dists"), dict)):
            continue
        try:  # one malformed event must not drop the rest of the batch
            ts = float(data.get("ts") or 0)
        except (TypeError, ValueError, OverflowError):
            continue
        if not math.isfinite(ts):  # "nan" would defeat the catalog's latest-report order
            continue
        site = str(data.get("site") or "")
        for dist_id, fields in data["dists"].items():
            if isinstance(fields, dict):
                rows.append((str(dist_id), minion, ts, {"site": site, **fields} if site else fields))
    return rows


POLICY_TAG_PREFIX = "p2pdist/policy/"


def policy_changes_from_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Policy changes minions announced (applied or refused), named by the trusted sender id."""
    changes = []
    for event in events:
        tag = str(event.get("tag", ""))
        envelope = event.get("data")
        if not tag.startswith(POLICY_TAG_PREFIX) or not isinstance(envelope, dict):
            continue
        minion, data = envelope.get("id"), envelope.get("data")
        if not minion or tag[len(POLICY_TAG_PREFIX):] != minion or not isinstance(data, dict):
            continue
        changes.append({"minion": minion, "result": str(data.get("result", "")),
                        "policy": data.get("policy"), "site": str(data.get("site") or "")})
    return changes
