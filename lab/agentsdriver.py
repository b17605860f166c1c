"""The p2pdist scenario's agents mode: the real agents and tracker, no salt-master or salt-minion.

For labs with more hosts than this machine can run salt-minions for. What
runs is the product's: at HQ the runner's ``push`` (torrent made and signed,
distribution recorded in the catalog, origin agent seeding and serving the
tracker, the order built and each answer recorded), on every client its
``p2pdist.fetch`` from ``_modules/p2pdist.py`` (signature, admission, dest,
share policy, the order to the agent) and one agent in its namespace, all at
default settings with the same master config as the Salt mode
(:func:`lab.p2pdistsetup.master_section`).

What does not run (:mod:`lab.courier`, :mod:`lab.agentmaster`): Salt's
transport (publish, a minion's job process, returns), ``salt-run``'s start,
the salt-minion processes themselves with their report beacon and keepalive
schedule, and the master's event stream (reports into the catalog, the
origin's supervision, re-sent orders). Completion is timed as in the Salt
mode, by each client's copy appearing at its dest; nothing reads the master's
status, which gets no reports in this mode.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from lab import agentspec
from lab.agentmaster import BATCH
from lab.p2pdistsetup import Watched, keep_agent_logs, master_section, watch
from lab.topology import Lab
from salt_p2pdist.testing.agents import stop_agents_under

START_TIMEOUT_S = 120  # a batch of hosts' agents started (lab.agentmaster call --batch)
PUSH_TIMEOUT_S = 300


class AgentsDriver:
    def __init__(self) -> None:
        self.spec_path = Path()

    @staticmethod
    def root(lab: Lab) -> Path:
        return lab.hq_dir / "agents"

    def _master(self, lab: Lab, action: str, what: str, out: Path, timeout: float) -> Any:
        """Run lab.agentmaster in the HQ namespace (cwd: the checkout, so ``-m lab`` imports)."""
        proc = lab.spawn(lab.hq_ns, [sys.executable, "-m", "lab.agentmaster", str(self.spec_path),
                                     action, what, "--out", str(out), "--timeout", str(START_TIMEOUT_S)],
                         log_name=f"agentmaster-{action}", cwd=Path.cwd())
        code = proc.wait(timeout=timeout)
        if code != 0 or not out.exists():
            raise RuntimeError(f"lab.agentmaster {action} exited {code}; see agentmaster-{action}.log")
        shutil.copyfile(out, lab.log_dir / f"agentmaster-{action}.json")  # the answer, kept with --logs
        return json.loads(out.read_text())

    def prepare(self, lab: Lab) -> None:
        root = self.root(lab)
        spec = agentspec.Spec(
            master=agentspec.master_opts(root, lab.hq_ip, master_section(lab)),
            hosts=[agentspec.host(root, c.name, c.ns, {"bt_interface": c.ip, "dest_prefix": str(c.dir)})
                   for c in lab.clients])
        agentspec.write_keys(spec)
        self.spec_path = root / agentspec.SPEC_NAME
        spec.write(self.spec_path)
        # Agents are long-lived on real hosts; start them before the clock runs,
        # as the Salt mode does with `salt '*' p2pdist.report`.
        batches = -(-len(lab.clients) // BATCH)
        answers = self._master(lab, "call", "p2pdist.report", root / "report.json",
                               batches * START_TIMEOUT_S + 30)
        bad = {h: a for h, a in answers.items() if not isinstance(a, dict) or a.get("error")}
        missing = sorted({c.name for c in lab.clients} - set(answers))
        if bad or missing:
            raise RuntimeError(f"agents did not start: {bad or ''} {missing or ''}")

    def run(self, lab: Lab) -> Watched:
        root = self.root(lab)
        try:
            staging = [agentspec.staging_dir(h) for h in agentspec.Spec.read(self.spec_path).hosts]
            return watch(lab, staging, lambda: dict(self._master(
                lab, "push", str(lab.payload), root / "push.json", PUSH_TIMEOUT_S)))
        finally:
            stop_agents_under(root)
            keep_agent_logs(root, lab.log_dir)
