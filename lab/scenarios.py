"""The scenario interface and the registry of scenarios.

A scenario is one way of getting the payload from HQ to every client. Write
one as a class with a ``name``, the ``tools`` (binaries) it needs, and two
methods, and register it::

    from lab.scenarios import register
    from lab.topology import Lab

    @register
    class MyWay:
        name = "myway"
        tools = ("curl",)            # binaries; ensure_tools() installs them

        def prepare(self, lab: Lab) -> None: ...
        def run(self, lab: Lab) -> dict[str, float | None]: ...

What a scenario gets (``lab``, a ``topology.Lab``):
  - ``lab.hq_ns``, ``lab.hq_ip``: the HQ namespace and its address (the origin
    lives here: servers, seeds, a Salt master);
  - ``lab.clients``: each ``Client`` has ``name`` ("s1c2"), ``site`` ("s1"),
    ``ns`` (its namespace), ``ip`` and ``dir``, a scratch dir that is empty
    when ``prepare`` is called; ``lab.sites`` groups them per site;
  - ``lab.payload`` (Path, read-only: copy or hard-link it, never move or
    modify it), ``lab.payload_sha256``, ``lab.params`` (sizes, rates,
    ``timeout_s``: give up on clients not done by then);
  - ``lab.hq_dir``: scratch dir for HQ state (configs, torrents, served copy);
  - ``lab.spawn(ns, argv, log_name=..., cwd=..., env=...)`` starts a process
    inside a namespace (through ``ip netns exec``, in its own process group,
    output in ``lab.log_dir/<log_name>.log``); ``lab.run(ns, argv)`` runs a
    short command there and returns its stdout. All directories are on the
    host's one filesystem: every namespace sees the same paths.

What it must do:
  - ``prepare(lab)``: start what must already be running before the
    distribution starts (servers, seeds, agents) and wait until it is ready.
    Bytes and time are not counted yet.
  - ``run(lab)``: start the distribution to all clients at once, wait until
    every client is done or ``lab.params.timeout_s`` has passed, and return
    ``{client.name: seconds from the start of run() to that client's copy
    being complete, or None if it never completed}``. A client's complete
    copy must be at ``lab.dest(client)`` (``client.dir / lab.payload.name``)
    when ``run`` returns. Keep processes running (seeding) until all are
    done: the harness stops them.

What the harness does around it: empties the client dirs and ``hq_dir``,
calls ``prepare``, reads the WAN counters, calls ``run``, reads them again,
stops every process started with ``lab.spawn`` (SIGTERM, then SIGKILL, by
process group) and SIGKILLs anything else left in a lab namespace, checks the
sha256 of every client's copy, and empties the dirs again. A scenario does
not clean up after itself, and nothing it starts outlives it: start
long-lived agents in ``prepare`` every time.

Built-in scenarios live in ``scenarios_baseline``; the p2pdist scenario is
looked for in ``lab.scenario_p2pdist`` and registered if that
module exists (it registers itself on import, with ``@register``).
"""

from __future__ import annotations

import importlib
from typing import ClassVar, Protocol, TypeVar

from lab.topology import Lab

PLUGIN_MODULES = ("lab.scenario_p2pdist",)
# The order in which scenarios run when none are named.
PREFERRED_ORDER = ("http", "bittorrent", "p2pdist")


class Scenario(Protocol):
    name: ClassVar[str]
    tools: ClassVar[tuple[str, ...]]

    def prepare(self, lab: Lab) -> None: ...

    def run(self, lab: Lab) -> dict[str, float | None]: ...


_REGISTRY: dict[str, type[Scenario]] = {}
S = TypeVar("S", bound=type[Scenario])


def register(cls: S) -> S:
    """Class decorator: make a scenario available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    importlib.import_module("lab.scenarios_baseline")
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only a missing plugin is fine; an import error inside an
            # existing plugin must be seen, not silently hide the scenario.
            if exc.name != module:
                raise


def available() -> list[str]:
    """Names of the registered scenarios, in the preferred order."""
    _load()
    known = [n for n in PREFERRED_ORDER if n in _REGISTRY]
    return known + sorted(n for n in _REGISTRY if n not in known)


def get(name: str) -> Scenario:
    """A new instance of the scenario called ``name``."""
    _load()
    if name not in _REGISTRY:
        raise KeyError(f"unknown scenario {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]()
