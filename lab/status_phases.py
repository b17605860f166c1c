"""``python lab/status_phases.py <salt-run arguments>``: salt-run, with where its seconds go.

Runs Salt's own ``salt-run`` entry point in this process and, at exit, prints
one JSON line on stderr (prefixed ``PHASES``): the wall seconds spent in each
phase of the command (Salt's imports, the loader, the runner function, the job
cache, the event bus, the outputter) and the whole process until exit.
``P2PDIST_SRC`` points the command at another checkout's code (to compare).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()
SPENT: dict[str, float] = {}


def timed(owner: Any, attr: str, phase: str) -> None:
    """Add the wall time of every call of ``owner.attr`` to ``phase``."""
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[phase] = SPENT.get(phase, 0.0) + time.perf_counter() - start

    setattr(owner, attr, wrapper)


def use_checkout(src: str) -> None:
    """Import salt_p2pdist (and so the loader modules) from ``src``, not the installed one."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, src)


def report() -> None:
    took = {k: round(v, 3) for k, v in SPENT.items()}
    cpu = os.times()
    took.update(total=round(time.perf_counter() - T0, 3), cpu=round(cpu.user + cpu.system, 3))
    sys.stderr.write("PHASES " + json.dumps(took) + "\n")


def main() -> None:
    if os.environ.get("P2PDIST_SRC"):
        use_checkout(os.environ["P2PDIST_SRC"])
    import salt.scripts

    SPENT["salt imports"] = time.perf_counter() - T0
    import salt.loader.lazy
    import salt.minion
    import salt.output
    import salt.utils.event
    import salt.utils.job

    timed(salt.minion.MasterMinion, "__init__", "loader setup (MasterMinion)")
    timed(salt.loader.lazy.LazyLoader, "_load_module", "loading modules (some inside the setup)")
    timed(salt.utils.job, "store_job", "job cache (store_job)")
    timed(salt.utils.event.SaltEvent, "fire_event", "event bus (fire_event)")
    timed(salt.output, "display_output", "outputter (display_output)")
    start = time.perf_counter()
    from salt_p2pdist.master import watch  # what the status needs; the runner module adds the rest

    SPENT["p2pdist imports (status)"] = time.perf_counter() - start
    timed(watch, "status", "runner (watch.status)")
    atexit.register(report)
    sys.argv[0] = "salt-run"
    salt.scripts.salt_run()


if __name__ == "__main__":
    main()
