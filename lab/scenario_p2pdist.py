"""The p2pdist scenario: a real Salt master at HQ, a real minion in every client.

That is the default mode (``--mode salt``). In the agents mode (``--mode
agents``, lab/agentsdriver.py) no Salt daemon runs: the runner's and the
minion module's functions deliver the same orders to the same agents.

The master knows the lab's sites (one per branch LAN) from its config, so its
tracker keeps each branch's traffic on its LAN and lets one WAN fetcher per
site pull across the branch link. Completion is timed by watching each
client's destination: p2pdist moves a file there only once every piece is
verified, so its appearance is the moment the client is done.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lab.agentsdriver import AgentsDriver
from lab.p2pdistsetup import Watched, keep_agent_logs, master_section, watch
from lab.params import AGENTS
from lab.scenarios import register
from lab.topology import Lab
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.saltlab import MinionSpec, SaltLab


@register
class P2PDist:
    name: ClassVar[str] = "p2pdist"
    tools: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.salt: SaltLab | None = None
        self.agents: AgentsDriver | None = None  # the agents mode's driver (lab/agentsdriver.py)
        self.first_piece_s: float | None = None  # read by the harness
        self.cpu_s_by_role: dict[str, float] = {}  # read by the harness

    def prepare(self, lab: Lab) -> None:
        if lab.params.mode == AGENTS:
            self.agents = AgentsDriver()
            return self.agents.prepare(lab)
        root = lab.hq_dir / "salt"
        master = {"event_return": "p2pdist", "p2pdist": master_section(lab)}
        self.salt = SaltLab(root, master_opts=master, master_netns=lab.hq_ns,
                            master_host=lab.hq_ip)
        minions = [MinionSpec(id=c.name, netns=c.ns, opts={"p2pdist": {
            "bt_interface": c.ip, "dest_prefix": str(c.dir)}})
            for c in lab.clients]
        self.salt.start(minions, timeout=300)
        # Agents are long-lived on real minions; start them before the clock runs.
        self.salt.salt("*", "p2pdist.report", timeout=120)

    def run(self, lab: Lab) -> dict[str, float | None]:
        self.first_piece_s, self.cpu_s_by_role = None, {}  # this run's (one object serves every run)
        if lab.params.mode == AGENTS:
            assert self.agents is not None
            watched = self.agents.run(lab)
        else:
            watched = self._run_salt(lab)
        self.first_piece_s, self.cpu_s_by_role = watched.first_piece_s, watched.cpu_s_by_role
        return watched.done

    def pushing(self, lab: Lab) -> None:
        """Called as the push command starts, the run's clock running (Salt mode; a bench's hook)."""

    def _run_salt(self, lab: Lab) -> Watched:
        salt = self.salt
        assert salt is not None
        try:
            staging = [salt.minion_root(c.name) / "cache" / "p2pdist" / "staging" for c in lab.clients]

            def push() -> dict[str, Any]:
                self.pushing(lab)
                return dict(salt.salt_run("p2pdist.push", str(lab.payload), timeout=300,
                                          kwargs={"tgt": "*", "dest": "/"}))

            return watch(lab, staging, push)
        finally:
            salt.stop()
            stop_agents_under(lab.hq_dir / "salt")
            keep_agent_logs(lab.hq_dir / "salt", lab.log_dir)
