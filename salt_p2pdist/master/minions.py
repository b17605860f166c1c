"""Reaching minions through Salt: the one interface master code uses for it.

The runner and the returner hand in :class:`SaltMinions`; tests hand in a fake
with the same four methods, so master code runs without Salt's loader.
"""

from __future__ import annotations

from typing import Any, Protocol

from salt_p2pdist.master import waiting
from salt_p2pdist.master.terminal import Painter


class Minions(Protocol):
    def resolve(self, tgt: str, tgt_type: str) -> list[str]:
        """The accepted minions a target expression matches, sorted."""

    def ask(self, targets: list[str], fun: str, kwarg: dict[str, Any], timeout: int,
            painter: Painter) -> dict[str, Any]:
        """``{minion: return}`` of ``fun``, saying on stderr who is awaited; silent ones absent."""

    def run(self, targets: list[str], fun: str, args: list[Any], kwarg: dict[str, Any] | None,
            timeout: int) -> dict[str, Any]:
        """``{minion: return}`` of ``fun``, quietly; silent ones absent."""

    def send(self, targets: list[str], fun: str, kwarg: dict[str, Any]) -> None:
        """Publish ``fun`` without waiting for any answer."""


class SaltMinions:
    """:class:`Minions` on a running master (its ``__opts__``)."""

    def __init__(self, opts: dict[str, Any]):
        self.opts = opts
        self._client: Any = None

    def _local(self) -> Any:
        import salt.client

        if self._client is None:
            self._client = salt.client.get_local_client(mopts=self.opts)
        return self._client

    def resolve(self, tgt: str, tgt_type: str) -> list[str]:
        import salt.utils.minions

        found = salt.utils.minions.CkMinions(self.opts).check_minions(tgt, tgt_type)
        return sorted(found.get("minions", []))

    def ask(self, targets: list[str], fun: str, kwarg: dict[str, Any], timeout: int,
            painter: Painter) -> dict[str, Any]:
        return waiting.collect(self._local(), targets, fun, kwarg, timeout, painter)

    def run(self, targets: list[str], fun: str, args: list[Any], kwarg: dict[str, Any] | None,
            timeout: int) -> dict[str, Any]:
        return dict(self._local().cmd(targets, fun, args, kwarg=kwarg, tgt_type="list",
                                      timeout=timeout) or {})

    def send(self, targets: list[str], fun: str, kwarg: dict[str, Any]) -> None:
        self._local().cmd_async(targets, fun, tgt_type="list", kwarg=kwarg)
