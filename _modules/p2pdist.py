"""Execution module: the minion's side of p2pdist.

Thin: each function checks its arguments and calls one function of
``salt_p2pdist.minion``, which hands the master's orders to the host's p2pdist
agent (started on demand, long-lived, one libtorrent session) and reports
progress. A minion never starts a transfer on its own (R1): ``fetch`` runs only
when the master publishes it or a state applied from the master asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.core import arguments as args_check
    from salt_p2pdist.minion import calls, fetching, holdings, reporting
    from salt_p2pdist.minion.host import Minion, SaltCalls

    HAS_LIBS = True
except ImportError:  # pragma: no cover - reported by __virtual__
    HAS_LIBS = False

if TYPE_CHECKING:  # injected by Salt's loader
    __opts__: dict[str, Any]
    __grains__: dict[str, Any]
    __pillar__: dict[str, Any]
    __salt__: dict[str, Callable[..., Any]]
    __context__: dict[str, Any]


def __virtual__() -> str | tuple[bool, str]:
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package (and libtorrent) on this minion"
    return __virtualname__


def _minion() -> Minion:
    return Minion(__opts__, __grains__, __pillar__, SaltCalls(__salt__))


def _checked(specs: dict[str, Any] | None) -> Callable[[Any], Any]:
    return calls.salt_function(specs, lambda: __context__)


@_checked(None)
def fetch(torrent: str = "", dest: str = "", tracker: str = "", force: bool = False,
          dist_id: str = "", sites: dict[str, Any] | None = None, order_id: str = "",
          torrent_ref: dict[str, Any] | None = None, priority: str = "", report_every: int = 0,
          **_: Any) -> dict[str, Any]:
    """
    Fetch a distribution ordered by the master (normally published by
    ``salt-run p2pdist.push``, not typed by hand).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.fetch torrent=<base64> dest=/opt/dist

    ``tracker`` is the tracker named in the signed torrent, which is the one
    used for the swarm. A big torrent comes as ``torrent_ref`` instead (info
    hash, digest, swarm CA): it is fetched from ``tracker``'s host first. ``order_id`` names the
    master's order; this minion's reports carry it back, every ``report_every``
    seconds while active (the master's pace; 0: ``report_interval``). ``priority`` is the
    distribution's level (urgent, normal, background). The answer's ``ts``
    is this minion's time after taking the order (the agent's ``as_of`` in the
    answer is what the master orders answers and reports by).
    """
    return fetching.take_order(_minion(), torrent, torrent_ref, tracker, dest, force, sites, order_id,
                               dist_id, priority=priority, report_every=report_every)


def refused(dist_id: str, route: str, reason: str) -> None:
    """Log a refused distribution here and tell the master, which writes it into its audit log.

    Called by ``fetch`` and the ``p2pdist.present`` state, not meant for the CLI.
    """
    fetching.refused(_minion(), dist_id, route, reason)


@_checked({"dist_id": args_check.TEXT, "verbose": args_check.FLAG})
def status(dist_id: str = "", verbose: bool = False, *args: Any, **kwargs: Any) -> Any:
    """
    What this minion's p2pdist session holds. Every distribution in a few
    fields (name, state, dest, percent done, the error if any), or with
    ``verbose=True`` everything the agent knows (rates, peers, sites...); one
    distribution (``dist_id``) always in full.

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.status
        salt 'web*' p2pdist.status verbose=True
        salt 'web1' p2pdist.status 3f9a0c1d2e4b5a69 --out json
    """
    return holdings.status(_minion(), dist_id, verbose)


@_checked({})
def report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Progress of every distribution on this minion, for the master. Run by the
    ``p2pdist_report`` schedule while transfers are active; the schedule removes
    itself once everything here is settled, after one last report.

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.report
    """
    return reporting.report(_minion())


@_checked({})
def ensure_agent(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Start this minion's p2pdist agent if it holds distributions and is not
    running (run by the ``p2pdist_agent`` schedule).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.ensure_agent
    """
    return holdings.ensure_agent(_minion())


@_checked({})
def policy(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    The share policy in force on this minion and where each value came from
    (pillar ``p2pdist:policy``, a time window, the site's ``wan_rate``, default).

    CLI Example:

    .. code-block:: bash

        salt 'laptop*' p2pdist.policy

    Exits non-zero when the pillar's policy is refused (the last valid one stays).
    """
    return holdings.policy(_minion())


@_checked({"dist_id": args_check.DIST_ID, "purge": args_check.FLAG})
def remove(dist_id: str = "", purge: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Stop sharing a distribution and delete its partial data; with
    ``purge=True`` also delete the completed copy at its destination.
    Removing what this minion does not hold succeeds. The master learns of
    the removal at once (its status shows ``removed``).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.remove 3f9a0c1d2e4b5a69 purge=True
    """
    return holdings.remove(_minion(), str(dist_id), purge)  # the CLI reads an all-digit id as a number


@_checked({"dist_id": args_check.DIST_ID})
def wake(dist_id: str = "", *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Share a distribution whose swarm went quiet again: its torrent is opened
    from the copy at dest (no re-hash unless the files changed). Sent by the
    master when a new target needs the quiet holders; holding nothing is fine.

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.wake 3f9a0c1d2e4b5a69
    """
    return holdings.wake(_minion(), str(dist_id))


@_checked({"dist_id": args_check.DIST_ID, "priority": args_check.TEXT})
def prioritize(dist_id: str = "", priority: str = "", *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Record a distribution's new priority (urgent, normal, background) on this
    minion. Sent by ``salt-run p2pdist.priority``; holding nothing is fine.

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.prioritize 3f9a0c1d2e4b5a69 urgent
    """
    return holdings.prioritize(_minion(), str(dist_id), priority)


@_checked({})
def stop_agent(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Stop this minion's p2pdist agent (it saves resume data first). It starts
    again with the next order or status report.

    Returns ``result`` True when the agent stopped cleanly or was not running
    (``was_running`` says which), and False with the reason in ``comment``
    when the stop could not be confirmed: the agent did not exit in time (it
    was then terminated if it was provably ours, without saving its state) or
    exited without its clean-stop marker.

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.stop_agent
    """
    return holdings.stop_agent(_minion())


@_checked({"purge": args_check.FLAG})
def uninstall(purge: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Remove p2pdist from this minion: stop its agent, delete the ``p2pdist_report``
    and ``p2pdist_agent`` schedules and the state directory (orders, resume data,
    partial downloads, certificates, the agent's log). Copies already delivered
    at their destinations stay unless ``purge=True``. Run it before removing the
    package (``salt-pip uninstall salt-p2pdist``).

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.uninstall
    """
    return holdings.uninstall(_minion(), purge)
