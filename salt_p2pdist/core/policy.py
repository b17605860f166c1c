"""The central share policy (R4): whom a minion uploads to, and how fast.

Set in pillar, so it can be targeted by grains like any pillar::

    p2pdist:
      policy:
        upload: true          # true: every peer | false: nobody | "site": own site only
        upload_rate: 0        # bytes/s for this minion, 0 = no cap; or "2MB", "500KiB", "10Mbit"
        download_rate: 0
        windows:              # caps that apply only at these local times
          - {days: [mon-fri], start: "08:00", end: "18:00", upload_rate: 1MB}

plus the site's WAN cap ``p2pdist:sites:<site>:wan_rate`` (traffic with peers
outside the site). A window overrides only the keys it sets; when windows
overlap, the later one in the list wins. A window's ``days`` are the days it
*starts* on, so ``{days: [fri], start: "22:00", end: "06:00"}`` covers Friday
night into Saturday; a window with neither start nor end covers whole days.

:mod:`salt_p2pdist.core.peerclasses` turns the effective limits into plain data
that the agent applies to its libtorrent session.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from salt_p2pdist.core.errors import InvalidRequest

UploadMode = Literal["all", "none", "site"]
MAX_RATE = 2**31 - 1  # libtorrent's rate settings are C ints
MIN_SEND_CAP = 10_000  # bytes/s; see _send_cap
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_KEYS = {"upload", "upload_rate", "download_rate", "windows"}
_WINDOW_KEYS = {"days", "start", "end", "upload", "upload_rate", "download_rate", "wan_rate"}
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


def _send_cap(value: Any) -> int:
    # Every byte this minion sends counts against an upload cap, its piece requests
    # and HAVE messages too (measured: a 1 byte/s cap stops its downloads dead).
    rate = parse_rate(value)
    if 0 < rate < MIN_SEND_CAP:
        raise InvalidRequest(f"{value!r} is below {MIN_SEND_CAP} bytes/s, which would starve this "
                             f"minion's downloads too; to stop uploading, set upload: false or 'site'")
    return rate


def _upload(value: Any) -> UploadMode:
    if value is True or value == "all":
        return "all"
    if value is False or value == "none":
        return "none"
    if value == "site":
        return "site"
    raise InvalidRequest(f"{value!r} is not an upload setting (true, false or 'site')")


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
                                   "upload": _upload, "upload_rate": _send_cap, "download_rate": parse_rate,
                                   "wan_rate": _send_cap}
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


@dataclass(frozen=True)
class Limits:
    upload_mode: UploadMode = "all"
    upload_rate: int = 0  # bytes/s, 0 = no cap (as in libtorrent)
    download_rate: int = 0
    wan_rate: int = 0  # bytes/s each way with peers outside the site, shared by them all


@dataclass(frozen=True)
class Policy:
    upload: UploadMode = "all"
    upload_rate: int = 0
    download_rate: int = 0
    wan_rate: int = 0
    windows: tuple[Window, ...] = ()
    given: frozenset[str] = frozenset()  # pillar keys that were set (the rest are defaults)
    site: str = ""  # only to name where wan_rate came from

    @classmethod
    def from_pillar(cls, raw: Mapping[str, Any] | None, *, site_wan_rate: Any = None,
                    site: str = "") -> Policy:
        """Build from ``p2pdist:policy`` and the site's wan_rate; report every problem at once."""
        if raw is not None and not isinstance(raw, Mapping):
            raise InvalidRequest("invalid p2pdist:policy: expected a mapping (upload, upload_rate, "
                                 "download_rate, windows)")
        raw = raw or {}
        problems: list[str] = []
        values: dict[str, Any] = {}
        unknown = set(raw) - _KEYS
        if unknown:
            problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                            f"(known: {', '.join(sorted(_KEYS))})")
        for key, parse in (("upload", _upload), ("upload_rate", _send_cap), ("download_rate", parse_rate)):
            if key in raw:
                try:
                    values[key] = parse(raw[key])
                except InvalidRequest as e:
                    problems.append(f"{key}: {e}")
        windows = raw.get("windows") or []
        if not isinstance(windows, list | tuple):
            problems.append("windows: expected a list of windows")
            windows = []
        parsed = []
        for i, w in enumerate(windows):
            try:
                parsed.append(Window.from_pillar(w))
            except InvalidRequest as e:
                problems.append(f"windows[{i}]: {e}")
        if site_wan_rate is not None:
            try:
                values["wan_rate"] = _send_cap(site_wan_rate)
            except InvalidRequest as e:
                problems.append(f"p2pdist:sites:{site or '<site>'}:wan_rate: {e}")
        if problems:
            raise InvalidRequest("invalid p2pdist:policy: " + "; ".join(problems))
        return cls(**values, windows=tuple(parsed), given=frozenset(values), site=site)

    def _resolve(self, now: datetime) -> tuple[Limits, dict[str, str]]:
        def base(key: str) -> str:
            if key not in self.given:
                return "default"
            return (f"p2pdist:sites:{self.site or '<site>'}:wan_rate" if key == "wan_rate"
                    else f"pillar p2pdist:policy:{key}")

        limits = Limits(self.upload, self.upload_rate, self.download_rate, self.wan_rate)
        sources = {"upload_mode": base("upload"), "upload_rate": base("upload_rate"),
                   "download_rate": base("download_rate"), "wan_rate": base("wan_rate")}
        for w in self.windows:  # in order: the last matching window wins
            if not w.covers(now):
                continue
            pairs = (("upload_mode", w.upload), ("upload_rate", w.upload_rate),
                     ("download_rate", w.download_rate), ("wan_rate", w.wan_rate))
            changes: dict[str, Any] = {k: v for k, v in pairs if v is not None}
            limits = replace(limits, **changes)
            sources.update(dict.fromkeys(changes, w.label))
        return limits, sources

    def effective(self, now: datetime) -> Limits:
        """The limits at ``now``, the minion's local wall-clock time (any tzinfo is ignored)."""
        return self._resolve(now)[0]

    def sources(self, now: datetime) -> dict[str, str]:
        """Where each of :class:`Limits`' values comes from at ``now``."""
        return self._resolve(now)[1]

    def explain(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Value and source per limit, for ``salt-run p2pdist.policy <minion>``."""
        limits, sources = self._resolve(now)
        return {k: {"value": v, "source": sources[k]} for k, v in asdict(limits).items()}
