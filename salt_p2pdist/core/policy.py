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

Rates are parsed by :mod:`salt_p2pdist.core.rates`, windows by
:mod:`salt_p2pdist.core.windows`; :mod:`salt_p2pdist.core.peerclasses` turns
the effective limits into plain data that the agent applies to its
libtorrent session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.rates import UploadMode, parse_rate, send_cap, upload_mode
from salt_p2pdist.core.windows import Window

_KEYS = {"upload", "upload_rate", "download_rate", "windows"}


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
        for key, parse in (("upload", upload_mode), ("upload_rate", send_cap), ("download_rate", parse_rate)):
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
                values["wan_rate"] = send_cap(site_wan_rate)
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
