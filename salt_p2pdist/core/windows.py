"""Time windows of the share policy: caps that apply only at some local times.

``{days: [mon-fri], start: "08:00", end: "18:00", upload_rate: 1MB}`` in
``p2pdist:policy:windows``. A window's ``days`` are the days it *starts* on,
so ``{days: [fri], start: "22:00", end: "06:00"}`` covers Friday night into
Saturday; a window with neither start nor end covers whole days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.rates import UploadMode, parse_rate, send_cap, upload_mode

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_WINDOW_KEYS = {"days", "start", "end", "upload", "upload_rate", "download_rate", "wan_rate"}


def _minutes(value: Any) -> int:
    # Salt's YAML (1.1) reads an unquoted 18:00 as the base-60 integer 1080, i.e.
    # minutes since midnight; take that, but not a bare 8, which no H:MM gives.
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 1440:
        return value
    m = re.fullmatch(r"(\d{1,2}):(\d\d)", value.strip()) if isinstance(value, str) else None
    if m and int(m[1]) < 24 and int(m[2]) < 60:
        return int(m[1]) * 60 + int(m[2])
    raise InvalidRequest(f"{value!r} is not a time of day (write \"HH:MM\", quoted)")


def _days(value: Any) -> frozenset[int]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise InvalidRequest(f"days: {value!r} is not a list of days like [mon, tue] or [mon-fri]")
    days: set[int] = set()
    bad = []
    for item in items:
        ends = [DAYS.index(d) if d in DAYS else -1 for d in str(item).strip().lower().split("-")]
        if len(ends) > 2 or -1 in ends:
            bad.append(repr(item))
            continue
        first, last = ends[0], ends[-1]
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))  # fri-mon wraps
    if bad:
        raise InvalidRequest(f"days: unknown day(s) {', '.join(bad)} (use {', '.join(DAYS)})")
    return frozenset(days)


def _day_label(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(DAYS[r[0]] + (f"-{DAYS[r[-1]]}" if len(r) > 1 else "") for r in runs)


@dataclass(frozen=True)
class Window:
    days: frozenset[int] = frozenset(range(7))  # the days the window starts on
    start: int = 0  # minutes since midnight; start == end: the whole day
    end: int = 0
    upload: UploadMode | None = None  # None: keep the base setting
    upload_rate: int | None = None
    download_rate: int | None = None
    wan_rate: int | None = None  # the site's WAN total in this window: same pillar on the site

    def covers(self, now: datetime) -> bool:
        t, day = now.hour * 60 + now.minute, now.weekday()
        if self.start == self.end:
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # Spans midnight: the evening of a listed day, or the morning after one.
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < self.end)

    @property
    def label(self) -> str:
        def hhmm(minutes: int) -> str:
            return "{:02d}:{:02d}".format(*divmod(minutes, 60))

        hours = "all day" if self.start == self.end else f"{hhmm(self.start)}-{hhmm(self.end)}"
        return f"window {_day_label(self.days)} {hours}"

    @classmethod
    def from_pillar(cls, raw: Any) -> Window:
        if not isinstance(raw, Mapping):
            raise InvalidRequest(f"{raw!r} is not a mapping with days, start, end and rates")
        problems, values = [], {}
        unknown = set(raw) - _WINDOW_KEYS
        if unknown:
            problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if ("start" in raw) != ("end" in raw):
            problems.append("give both start and end, or neither for whole days")
        parsers: dict[str, Any] = {"days": _days, "start": _minutes, "end": _minutes,
                                   "upload": upload_mode, "upload_rate": send_cap,
                                   "download_rate": parse_rate, "wan_rate": send_cap}
        for key, parse in parsers.items():
            if key in raw:
                try:
                    values[key] = parse(raw[key])
                except InvalidRequest as e:
                    problems.append(f"{key}: {e}" if key != "days" else str(e))
        if "start" in values and values.get("start") == values.get("end"):
            problems.append("start equals end (omit both for a whole day)")
        if problems:
            raise InvalidRequest("; ".join(problems))
        return cls(**values)
