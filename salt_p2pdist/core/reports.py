"""Progress reports: from master-bus events to catalog rows (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from salt_p2pdist.core import lifecycle

Row = tuple[str, str, float, dict[str, Any]]
REPORT_TAG_PREFIX = "p2pdist/report/"  # + minion id: a minion's progress report
# What the master keeps of a distribution's report (the catalog's columns); with the
# agent's stamp ``as_of``, all a report must carry (see lean_dists).
REPORT_FIELDS = ("state", "pieces", "bytes_done", "down_rate", "up_rate", "peers",
                 "downloaded", "uploaded", "eta_s", "error",
                 "site", "from_site", "from_remote", "from_origin", "order_id")


def lean_dists(dists: Mapping[str, Any]) -> dict[str, Any]:
    """A report's distributions with only what the master keeps: about half the bytes.

    The agent's status also names the files, dest, banned peers, reused and
    failed bytes (``p2pdist.report`` on the minion shows them); the master
    stores none of these, so the beacon does not send them.
    """
    keep = (*REPORT_FIELDS, "as_of")
    return {d: {k: v[k] for k in keep if k in v} for d, v in dists.items() if isinstance(v, dict)}


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
            clean = _clean_fields(fields)
            if clean is not None:
                rows.append((str(dist_id), minion, _as_of(clean, ts),
                             {"site": site, **clean} if site else clean))
    return rows


def _as_of(fields: Mapping[str, Any], default: float) -> float:
    """When the agent read this distribution's state (its ``as_of``), else ``default``.

    The agent stamps each state it hands out under its lock, so a host's
    reports and answers are ordered by when their facts were true, not by
    when the minion's processes got around to sending them.
    """
    value = fields.get("as_of")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def rows_from_answers(dist_id: str, order_id: str, returns: Mapping[str, Any],
                      refused: Mapping[str, str], now: float) -> list[Row]:
    """Catalog rows from minions' answers to an order (``p2pdist.fetch`` returns).

    An accepted order's answer is the agent's status of it, a refusal is a
    failure with its reason; both are about ``order_id``. Each is stamped with
    the minion's own time of answering (``now``, the master's, only for
    answers without one), so a report the minion sent later wins and an
    earlier one does not overwrite the answer. The agent's ``as_of`` is
    preferred to the module's ``ts``.
    """
    rows: list[Row] = []
    for minion, ret in returns.items():
        answer = ret if isinstance(ret, dict) else {}
        try:
            ts = _as_of(answer, float(answer.get("ts") or now))
        except (TypeError, ValueError):
            ts = now
        if minion in refused:
            fields: dict[str, Any] = {"state": lifecycle.FAILED, "error": refused[minion]}
        elif answer.get("result") and answer.get("state"):
            # the answer's "site" is the minion's grain, not where reports place it
            fields = {k: v for k, v in answer.items() if k not in ("result", "site", "ts")}
        else:
            continue
        rows.append((dist_id, minion, ts, {**fields, "order_id": order_id}))
    return rows


_TEXT_FIELDS = ("error", "site", "order_id")
_COUNT_FIELDS = ("pieces", "bytes_done", "down_rate", "up_rate", "peers", "downloaded", "uploaded",
                 "eta_s", "from_site", "from_remote", "from_origin")


def _clean_fields(fields: Any) -> dict[str, Any] | None:
    """One distribution's report with values the catalog and status can hold; None if unusable.

    A report without a known state is dropped; a text field that is not text
    becomes text; a count that is not a finite number in 64 bits becomes unknown.
    """
    if not isinstance(fields, dict) or fields.get("state") not in lifecycle.ALL_STATES:
        return None
    clean = dict(fields)
    for key in (k for k in _TEXT_FIELDS if k in fields):
        value = fields[key]
        clean[key] = value if value is None or isinstance(value, str) else str(value)
    for key in (k for k in _COUNT_FIELDS if k in fields):
        value = fields[key]
        number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        clean[key] = int(value) if number and -(2**63) < value < 2**63 else None
    return clean


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


WAKE_TAG_PREFIX = "p2pdist/wake/"  # + minion id: a p2pdist.present state fetches a distribution


def wake_requests_from_events(events: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(minion, dist_id) for each ``p2pdist.present`` that started fetching, by the trusted sender id."""
    found = []
    for event in events:
        tag = str(event.get("tag", ""))
        envelope = event.get("data")
        if not tag.startswith(WAKE_TAG_PREFIX) or not isinstance(envelope, dict):
            continue
        minion, data = envelope.get("id"), envelope.get("data")
        if not minion or tag[len(WAKE_TAG_PREFIX):] != minion or not isinstance(data, dict):
            continue
        dist_id = str(data.get("dist_id") or "")
        if dist_id.isalnum():
            found.append((str(minion), dist_id))
    return found
