"""Rates and upload settings as an admin writes them in pillar (``p2pdist:policy``).

A rate is bytes/s: an int, or a string with its unit ("2MB", "500KiB",
"10Mbit"); 0 means no cap. Parsing refuses what libtorrent cannot hold and
what would be ambiguous, with a message that says what to write instead.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Literal

from salt_p2pdist.core.errors import InvalidRequest

UploadMode = Literal["all", "none", "site"]
MAX_RATE = 2**31 - 1  # libtorrent's rate settings are C ints
MIN_SEND_CAP = 10_000  # bytes/s; see send_cap
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]i?)?(bits?|bps|b)?(?:/s)?", re.IGNORECASE)
_PREFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}
_HINT = "bytes/s, or a string like 2MB, 500KiB, 10Mbit"


def parse_rate(value: Any) -> int:
    """Bytes/s from an int or a string: "2MB" 2_000_000, "2MiB" 2097152, "10Mbit" 1_250_000."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidRequest(f"{value!r} is not a rate ({_HINT})")
    if isinstance(value, str):
        m = _RATE.fullmatch(value.strip())
        if not m:
            what = "must not be negative" if value.strip().startswith("-") else f"is not a rate ({_HINT})"
            raise InvalidRequest(f"{value!r} {what}")
        prefix, unit = (m[2] or "").lower(), m[3] or ""
        # "Mb" is megabits to a network admin and megabytes to many others: make them say.
        if unit == "b" or (prefix and not unit):
            raise InvalidRequest(f"{value!r} is ambiguous: write {m[1]}{m[2] or ''}B for bytes "
                                 f"or {m[1]}{m[2] or ''}bit for bits per second")
        bits = unit.lower() in ("bit", "bits") or unit[:2] == "bp"  # "Bps" is bytes
        rate = round(Fraction(m[1]) * _PREFIX[prefix] / (8 if bits else 1))
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"{value!r} is not a rate ({_HINT})")
    else:
        rate = round(value)
    if rate < 0:
        raise InvalidRequest(f"{value!r} must not be negative")
    if rate > MAX_RATE:
        raise InvalidRequest(f"{value!r} is too large (at most {MAX_RATE} bytes/s; 0 means no cap)")
    return rate


def send_cap(value: Any) -> int:
    """An upload (or WAN) cap: a rate, 0 or at least MIN_SEND_CAP."""
    # Every byte this minion sends counts against an upload cap, its piece requests
    # and HAVE messages too (measured: a 1 byte/s cap stops its downloads dead).
    rate = parse_rate(value)
    if 0 < rate < MIN_SEND_CAP:
        raise InvalidRequest(f"{value!r} is below {MIN_SEND_CAP} bytes/s, which would starve this "
                             f"minion's downloads too; to stop uploading, set upload: false or 'site'")
    return rate


def upload_mode(value: Any) -> UploadMode:
    """Whom a minion uploads to: true (all), false (none) or "site"."""
    if value is True or value == "all":
        return "all"
    if value is False or value == "none":
        return "none"
    if value == "site":
        return "site"
    raise InvalidRequest(f"{value!r} is not an upload setting (true, false or 'site')")
