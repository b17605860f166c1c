"""Progress reports: from master-bus events to catalog rows (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = tuple[str, str, float, dict[str, Any]]


def rows_from_events(events: Iterable[dict[str, Any]], tag_prefix: str) -> list[Row]:
    """(dist_id, minion, ts, fields) for every distribution in every report event.

    The tag and the payload are both written by the minion, so they must
    agree; reports about distributions this master did not issue are dropped
    later by the catalog.
    """
    rows: list[Row] = []
    for event in events:
        tag = str(event.get("tag", ""))
        if not tag.startswith(tag_prefix):
            continue
        data = event.get("data") or {}
        minion = tag[len(tag_prefix):]
        if not minion or data.get("minion") != minion or not isinstance(data.get("dists"), dict):
            continue
        ts = float(data.get("ts") or 0)
        for dist_id, fields in data["dists"].items():
            if isinstance(fields, dict):
                rows.append((str(dist_id), minion, ts, fields))
    return rows
