"""How often an active minion reports, so that the master's intake stays within its budget (pure).

Every active minion reports on a heartbeat (and at once when a transfer
settles). At a fixed 5 s, 10,000 active minions send 2,000 reports/s, which is
more than a salt-master's request server, event bus and event returner take on
one core. So the master sets the heartbeat from how many minions are active:
``active / report_budget`` seconds, never below the minion's own
``report_interval`` (its beacon's tick) and never above ``MAX_REPORT_EVERY_S``
(a host silent for STALE_AFTER_S shows as stale). The interval is a whole
number of ticks: the beacon can only send on a tick, and rounding up keeps the
rate within the budget. The master hands it to the minions in each order.
"""

from __future__ import annotations

import math

DEFAULT_TICK_S = 5  # the minions' default report_interval
MAX_REPORT_EVERY_S = 45  # within status.STALE_AFTER_S (60 s) with room for a late report
LATE_SLACK_S = 1.0  # a beacon tick may come this much early (the minion's loop jitters)


def report_every(active_minions: int, budget_per_s: int, tick_s: int) -> int:
    """Seconds between an active minion's reports when ``active_minions`` report at once.

    ``budget_per_s``: the reports per second the master's intake may take
    (``p2pdist:report_budget``; 0: no budget, every tick). ``tick_s``: the
    beacon's interval on the minions (``report_interval``, default 5 s).
    """
    tick = max(1, tick_s)
    if budget_per_s <= 0 or active_minions <= 0:
        return tick
    ticks = math.ceil(active_minions / (budget_per_s * tick))
    ceiling = max(tick, MAX_REPORT_EVERY_S // tick * tick)
    return min(ceiling, max(1, ticks) * tick)


def order_pace(active_minions: int, budget_per_s: int) -> int:
    """What an order tells minions: their heartbeat, or 0 (their own ``report_interval``) within budget."""
    every = report_every(active_minions, budget_per_s, DEFAULT_TICK_S)
    return every if every > DEFAULT_TICK_S else 0


def heartbeat_due(last_sent: float, now: float, every_s: float) -> bool:
    """Whether an active minion's heartbeat report is due at this beacon tick."""
    return now - last_sent >= every_s - LATE_SLACK_S
