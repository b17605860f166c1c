"""Who may take part in a distribution: its push targets and the minions an admin allowed.

The master decides at push time: the push targets, plus the minions matched
then by the push's ``allow=`` target expression (for states applied later).
That list (or ``*`` when ``p2pdist:targets_only`` is off) is signed into the
torrent with the master's Salt key (signature.py), so a minion knows before
writing anything whether it was admitted, and the master's tracker issues
certificates to the same hosts only. Everyone else is refused, and the
refusal reaches the master's audit log (``p2pdist/refused/<minion>`` events).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salt_p2pdist.core.errors import Forbidden

EVERYONE = "*"  # targets_only: false -- every minion the master accepted may join
REFUSED_TAG_PREFIX = "p2pdist/refused/"


def admitted_list(targets: Iterable[str], allowed: Iterable[str], *, targets_only: bool) -> list[str]:
    """What the master signs into the torrent."""
    return sorted(set(targets) | set(allowed)) if targets_only else [EVERYONE]


def check(minion: str, admitted: list[str], dist_id: str) -> None:
    """Forbidden unless ``minion`` may fetch this distribution."""
    if minion in admitted or EVERYONE in admitted:
        return
    raise Forbidden(f"{minion} is not admitted to distribution {dist_id}: the master pushed it to "
                    "other minions and did not allow this one. Ask a p2pdist admin to push it "
                    f"to {minion} (tgt=...) or to allow it for states (allow=...); "
                    "refused, nothing written")


def refusal_event(dist_id: str, route: str, reason: str) -> dict[str, Any]:
    """The payload a refusing minion sends the master (tag: REFUSED_TAG_PREFIX + its id)."""
    return {"dist_id": dist_id, "route": route, "reason": reason}


def refusals_from_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Refusals minions announced, named by the sender id the master itself attached."""
    out = []
    for event in events:
        tag = str(event.get("tag", ""))
        envelope = event.get("data")
        if not tag.startswith(REFUSED_TAG_PREFIX) or not isinstance(envelope, dict):
            continue
        minion, data = envelope.get("id"), envelope.get("data")
        if not minion or tag[len(REFUSED_TAG_PREFIX):] != minion or not isinstance(data, dict):
            continue
        out.append({"minion": str(minion), "id": str(data.get("dist_id", ""))[:64],
                    "route": str(data.get("route", ""))[:64],
                    "reason": str(data.get("reason", ""))[:500]})
    return out
