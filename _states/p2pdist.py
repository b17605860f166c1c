"""States: declare that a distribution's content is (or is not) on a minion.

.. code-block:: yaml

    app-2.3:
      p2pdist.present:
        - torrent: salt://p2pdist/3f9a0c1d2e4b5a69/app-2.3.tar.torrent  # printed by the push
        - dest: /opt/dist        # on Windows minions: C:\\dist; or {windows: ..., posix: ...}

    old-app:
      p2pdist.absent:
        - torrent: salt://p2pdist/0b1c2d3e4f5a6b7c/app-2.2.tar.torrent
        - dest: /opt/dist

The content is moved peer to peer exactly as with ``salt-run p2pdist.push``;
the state only fetches what the master already distributes (R1), on minions
the push admitted: its targets and those its ``allow=`` expression matched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.minion import declared
    from salt_p2pdist.minion.host import Minion, SaltCalls

    HAS_LIBS = True
except ImportError:  # pragma: no cover
    HAS_LIBS = False

if TYPE_CHECKING:  # injected by Salt's loader
    __opts__: dict[str, Any]
    __grains__: dict[str, Any]
    __pillar__: dict[str, Any]
    __salt__: dict[str, Callable[..., Any]]


def __virtual__() -> str | tuple[bool, str]:
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package on this minion"
    return __virtualname__


def _minion() -> Minion:
    return Minion(__opts__, __grains__, __pillar__, SaltCalls(__salt__))


def present(name: str, torrent: str, dest: str, force: bool = False, timeout: int = 3600
            ) -> dict[str, Any]:
    """
    Ensure the content described by ``torrent`` is complete and verified at
    ``dest``/<name of the content>, fetched peer to peer if needed.
    """
    return declared.present(_minion(), declared.StateCalls(__salt__), name, torrent, dest, force, timeout)


def absent(name: str, torrent: str, dest: str) -> dict[str, Any]:
    """Ensure the content of ``torrent`` is not at ``dest`` and no longer shared."""
    return declared.absent(_minion(), declared.StateCalls(__salt__), name, torrent, dest)
