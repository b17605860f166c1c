"""Runner: start, follow and cancel p2pdist distributions from the Salt master.

Thin: each function hands its arguments, Salt's side and one function of
``salt_p2pdist.master`` to :func:`salt_p2pdist.master.calls.run_command`, which
checks them, does the work and maps failures to a non-zero exit. The master
is the only place a distribution starts (R1). Each command imports its master
module when called: a command loads only what it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.core.arguments import dist_id_text
    from salt_p2pdist.master.caller import Caller
    from salt_p2pdist.master.calls import run_command

    HAS_LIBS = True
except ImportError:  # pragma: no cover - reported by __virtual__
    HAS_LIBS = False

if TYPE_CHECKING:  # injected by Salt's loader
    __opts__: dict[str, Any]
    __context__: dict[str, Any]


def __virtual__() -> str | tuple[bool, str]:
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package (and libtorrent) on the master"
    return __virtualname__


def _run(function: str, specs: Mapping[str, Any], given: dict[str, Any],
         work: Callable[[Caller], Any]) -> Any:
    """Check the call, do the work as the calling admin, and exit non-zero on any failure."""
    # The master injects __user__ into runners (eauth or the shell user).
    return run_command(function, specs, given, work, opts=__opts__, context=__context__,
                       user=str(globals().get("__user__") or "root"))


def push(path: str = "", tgt: str = "", tgt_type: str = "glob", dest: str = "", force: bool = False,
         wait: bool = False, timeout: int = 3600, order_timeout: int = 30, allow: str = "",
         allow_type: str = "glob", quiet_after: Any = "", priority: str = "", *args: Any,
         **kwargs: Any) -> Any:
    """
    Distribute a file or directory from the master to the targeted minions.

    path
        Absolute path of a file or directory on the master. The master seeds it
        in place (no copy).
    tgt / tgt_type
        Salt targeting (glob, list, grain, compound, nodegroup, ...).
    dest
        Absolute directory on the minions; the content appears at dest/<name>.
        ``/srv/dist`` for Linux minions, ``C:\\dist`` for Windows minions, or one
        per OS for a mixed target set: ``dest='{windows: "C:\\dist", posix: /srv/dist}'``.
    force
        Replace an existing, different file at the destination.
    allow / allow_type
        Minions that may fetch the content later through a ``p2pdist.present``
        state (they get no order now), as a Salt target expression. Resolved
        now: a minion accepted later is not admitted until the next push.
        Everyone else, targeted neither way, is refused.
    wait
        Follow progress until every target is done or failed, then summarise.
        The live progress goes to stderr; the result is the one document on stdout.
    timeout
        With ``wait``: stop following after this many seconds (default 3600).
    quiet_after
        How long the swarm stays up once every target holds the content:
        seconds, ``15m``, ``2h``, ``7d``, or ``never`` (default: the master's
        ``p2pdist:quiet_after``, 1d). Then the minions stop announcing and
        serving it (the files stay); a later push or ``p2pdist.present`` wakes it.
    priority
        ``urgent``, ``normal`` (default) or ``background``: on each WAN link a
        higher level goes first, the LAN is not held back. A re-push without it
        keeps the level; ``p2pdist.priority`` changes it.
    order_timeout
        Seconds to wait for the minions' answers to the order (default 30). An
        offline minion is waited for that long; it gets the order when it returns.

    Pushing the same content again also re-orders every earlier target that
    does not hold a verified copy (failed, removed, never answered); the same
    content to another dest is refused until it is cancelled.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='G@role:web' tgt_type=compound dest=/opt/dist
        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='web1' allow='web*' dest=/opt/dist
        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='web*' dest=/opt/dist quiet_after=2h
        salt-run p2pdist.push /srv/dist/fix-4711.msi tgt='*' dest=/opt/dist priority=urgent
    """
    from salt_p2pdist.master import push as pushing
    request = pushing.PushRequest(path, tgt, tgt_type, dest, force, order_timeout, allow, allow_type,
                                  wait, timeout, quiet_after, priority)
    return _run("p2pdist.push", pushing.ARGS, locals(), lambda c: pushing.push(c, request))


def priority(id: str = "", level: str = "", *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """
    Change a distribution's priority (``urgent``, ``normal``, ``background``);
    audited, allowed to whoever may push its source to its targets.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.priority 3f9a0c1d2e4b5a69 urgent
        salt-run p2pdist.priority 3f9a0c1d2e4b5a69 level=background
    """
    id = dist_id_text(id)  # noqa: A001 (Salt reads an all-digit id as a number)
    from salt_p2pdist.master import reprioritize
    return _run("p2pdist.priority", reprioritize.ARGS, locals(),
                lambda c: reprioritize.change(c, str(id), level))


def status(id: str = "", watch: bool = False, timeout: int = 3600, *args: Any,  # noqa: A002
           **kwargs: Any) -> Any:
    """
    Show distributions: all of them one line each (state, size, dest, when and
    by whom), or one with a bar per site (stragglers named). ``--out json``
    gives everything, per minion too, dates in ISO 8601; ``watch=True`` draws
    live progress on stderr until the distribution is done.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.status
        salt-run p2pdist.status 3f9a0c1d2e4b5a69
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 watch=True
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 --out json
    """
    id = dist_id_text(id)  # noqa: A001 (Salt reads an all-digit id as a number)
    from salt_p2pdist.master import watch as progress
    return _run("p2pdist.status", progress.ARGS, locals(), lambda c: progress.status(c, id, watch, timeout))


def policy(tgt: str = "", tgt_type: str = "glob", timeout: int = 30, *args: Any, **kwargs: Any) -> Any:
    """
    The share policy in force on the targeted minions and where each value came
    from. Fails (exit 1) when a targeted minion does not answer or refused its
    pillar policy (the last valid one then stays in force).

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.policy laptop42
        salt-run p2pdist.policy 'laptop*'
        salt-run p2pdist.policy G@site:lyon tgt_type=compound
    """
    from salt_p2pdist.master import sharepolicy
    return _run("p2pdist.policy", sharepolicy.ARGS, locals(),
                lambda c: sharepolicy.policy_in_force(c, tgt, tgt_type, timeout))


def stop_seeding(id: str = "", *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """
    The master stops serving a distribution; the minions go on sharing it among
    themselves and the tracker keeps introducing them. Frees the HQ uplink once
    full copies are out. Asking again changes nothing (the swarm stays).

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.stop_seeding 3f9a0c1d2e4b5a69
    """
    id = dist_id_text(id)  # noqa: A001 (Salt reads an all-digit id as a number)
    from salt_p2pdist.master import cancel as cancelling
    return _run("p2pdist.stop_seeding", cancelling.STOP_ARGS, locals(),
                lambda c: cancelling.stop_seeding(c, id))


def cancel(id: str = "", purge: bool = False, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """
    Cancel a distribution: every target stops and drops partial data; the master
    stops seeding. Completed copies at dest stay unless ``purge=True``. A
    minion that no longer holds it counts as done; one that does not answer
    is named in ``no_answer`` and the exit code is 1: run the cancel again
    once it is back.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.cancel 3f9a0c1d2e4b5a69
    """
    id = dist_id_text(id)  # noqa: A001 (Salt reads an all-digit id as a number)
    from salt_p2pdist.master import cancel as cancelling
    return _run("p2pdist.cancel", cancelling.ARGS, locals(),
                lambda c: cancelling.cancel(c, id, purge))


def approve(id: str = "", wait: bool = False, timeout: int = 3600, *args: Any,  # noqa: A002
            **kwargs: Any) -> Any:
    """
    Carry out a push or cancel held by the two-person rule (``p2pdist:approval``).
    Another admin than the one who asked must approve; the request then runs
    exactly as it was asked, recorded under both names in the audit log.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.approve 9c1e5a0b7f32
        salt-run p2pdist.approve 9c1e5a0b7f32 wait=True
    """
    id = dist_id_text(id)  # noqa: A001 (Salt reads an all-digit id as a number)
    from salt_p2pdist.master import approve as approving
    return _run("p2pdist.approve", approving.ARGS, locals(),
                lambda c: approving.approve(c, str(id), wait, timeout))


def plan(path: str = "", tgt: str = "", tgt_type: str = "glob", *args: Any,
         **kwargs: Any) -> Any:
    """
    What pushing this content to these minions would take over the WAN, before
    anything moves: the lower bound on the time to finish, the term that binds
    it (HQ uplink, a site's downlink, the sites' total upload), an ETA and the
    WAN bytes per site. A dry run: nothing is recorded or sent. Link rates come
    from ``p2pdist:sites:<site>:down/up``, ``p2pdist:hq`` and ``p2pdist:wan``;
    what is not configured is named, not guessed.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.plan /srv/dist/app-2.3.tar tgt='*'
        salt-run p2pdist.plan 4GiB tgt='G@role:pos' tgt_type=compound --out json
    """
    from salt_p2pdist.master import plan as planning
    return _run("p2pdist.plan", planning.ARGS, locals(),
                lambda c: planning.command(c, str(path), tgt, tgt_type))
