"""Quiet swarms: the grace an admin sets, and the words the tracker and agents share.

``quiet_after`` (master config ``p2pdist:quiet_after``, or a push's
``quiet_after=``) is how long after every target holds a distribution its
swarm stays up: seconds, or a number with s, m, h or d, or ``never``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from salt_p2pdist.core.errors import InvalidRequest

DEFAULT_QUIET_AFTER: Final = "1d"
NEVER: Final = frozenset({"never", "off", "none"})
# The tracker's failure reason to a holder of a quiet swarm; the agent closes the torrent on it.
QUIET_REASON: Final = "p2pdist: swarm quiet"
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_GRACE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_grace(value: Any) -> float | None:
    """Seconds from ``value`` (30, "90s", "15m", "2h", "7d"); None for never; InvalidRequest otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NEVER):
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"quiet_after: {value!r} is no duration (seconds, 15m, 2h, 7d, or never)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _GRACE.match(str(value))
        if not match:
            raise InvalidRequest(f"quiet_after: {value!r} is no duration (seconds, 15m, 2h, 7d, or never)")
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds < 0:
        raise InvalidRequest(f"quiet_after: {value!r} is negative")
    return seconds


def is_quiet_answer(failure_reason: str) -> bool:
    """Does a tracker's failure reason say the swarm is quiet?"""
    return failure_reason.strip().startswith(QUIET_REASON)
