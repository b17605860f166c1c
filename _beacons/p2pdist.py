"""Beacon: sends this minion's p2pdist progress to the master while transfers are active.

Added by the first p2pdist order (``beacons.add p2pdist "[{interval: 5}]"``,
saved in ``minion.d/beacons.conf``); ``interval`` is ``p2pdist:report_interval``.
It fires no beacon events of its own: reports go to the master as
``p2pdist/report/<id>`` events, which the master's returner stores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.minion.beaconing import BeaconMemory, tick
    from salt_p2pdist.minion.host import Minion, SaltCalls

    HAS_LIBS = True
except ImportError:  # pragma: no cover
    HAS_LIBS = False

if TYPE_CHECKING:  # injected by Salt's loader
    __opts__: dict[str, Any]
    __grains__: dict[str, Any]
    __pillar__: dict[str, Any]
    __salt__: dict[str, Callable[..., Any]]
    __context__: dict[str, Any]


def __virtual__() -> str | tuple[bool, str]:
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package"
    return __virtualname__


def validate(config: Any) -> tuple[bool, str]:
    if not isinstance(config, list):
        return False, "p2pdist beacon: the configuration must be a list, e.g. [{interval: 5}]"
    return True, "valid"


def beacon(config: list[dict[str, Any]]) -> list[dict[str, Any]]:
    memory = __context__.setdefault("p2pdist_beacon", BeaconMemory())
    minion = Minion(opts=__opts__, grains=__grains__, pillar=__pillar__, salt=SaltCalls(__salt__))
    tick(minion, memory, time.monotonic())
    return []
