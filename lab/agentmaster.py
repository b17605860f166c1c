"""``python -m lab.agentmaster SPEC push PATH`` / ``... call FUN``: the master's side in the agents mode.

Run inside the HQ namespace. ``push`` is ``salt-run p2pdist.push PATH
tgt='*' dest=/``: the runner's own ``push`` function with the master's
settings read from the spec's opts as the runner reads ``__opts__`` (so every
setting the lab does not name keeps its default), its Salt side replaced by
:class:`lab.labminions.LabMinions`. It starts the origin agent (seeder and
tracker) in this namespace as the runner does. ``call`` is ``salt '*' FUN``.
The answer is written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from lab.agentspec import Spec
from lab.labminions import LabMinions
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.master import push
from salt_p2pdist.master.caller import Caller

USER = "root"  # who runs salt-run in the lab
BATCH = 8  # hosts at a time for `call`


def pushed(spec: Spec, path: str) -> dict[str, Any]:
    opts = spec.master
    caller = Caller(MasterSettings.from_opts(opts), opts, LabMinions(spec.hosts), USER)
    return push.push(caller, push.PushRequest(path=path, tgt="*", dest="/"))


def called(spec: Spec, fun: str, timeout: int, batch: int) -> dict[str, Any]:
    """``salt '*' FUN --batch-size BATCH``: a few hosts at a time (starting 40 agents at
    once on 2 cores would take each longer than the module waits for its agent)."""
    minions = LabMinions(spec.hosts)
    targets = minions.resolve("*", "glob")
    answers: dict[str, Any] = {}
    for first in range(0, len(targets), batch):
        answers |= minions.run(targets[first:first + batch], fun, [], None, timeout)
    return answers


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.agentmaster", description=__doc__)
    p.add_argument("spec", type=Path)
    p.add_argument("action", choices=("push", "call"))
    p.add_argument("what", help="the path to push, or the function to call")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--timeout", type=int, default=120, help="call: seconds to wait for answers")
    p.add_argument("--batch", type=int, default=BATCH, help="call: hosts at a time")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    spec = Spec.read(a.spec)
    answer = pushed(spec, a.what) if a.action == "push" else called(spec, a.what, a.timeout, a.batch)
    a.out.write_text(json.dumps(answer, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
