"""Publishing an order and collecting the answers, saying on stderr what is awaited.

An offline minion never answers: Salt waits out the whole timeout for it. The
admin is told at once how long the wait can be and how to change it, and, as
answers come in, which minions are still awaited.
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.master.terminal import Painter

NAMES_SHOWN = 5


def _names(minions: set[str]) -> str:
    shown = sorted(minions)[:NAMES_SHOWN]
    more = len(minions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def collect(client: Any, targets: list[str], fun: str, kwarg: dict[str, Any], timeout: int,
            painter: Painter, args: list[Any] | None = None) -> dict[str, Any]:
    """``{minion: return}`` of ``fun`` on ``targets`` (a Salt LocalClient); silent ones absent."""
    painter.note(f"p2pdist: {fun} sent to {len(targets)} minion(s); waiting up to {timeout} s "
                 "for their answers (change with order_timeout=)")
    returns: dict[str, Any] = {}
    for part in client.cmd_iter(targets, fun, arg=args or [], kwarg=kwarg, tgt_type="list",
                                timeout=timeout):
        for minion, data in (part or {}).items():
            returns[minion] = data.get("ret") if isinstance(data, dict) else data
        waiting = set(targets) - set(returns)
        if waiting and painter.live:  # a log gets the two notes only
            painter.draw([f"p2pdist: {len(returns)}/{len(targets)} answered; "
                          f"waiting for {_names(waiting)}"])
    silent = set(targets) - set(returns)
    if silent:
        painter.note(f"p2pdist: no answer from {_names(silent)} within {timeout} s "
                     "(offline or busy); they show as pending in salt-run p2pdist.status")
    return returns
