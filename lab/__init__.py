"""The WAN lab: network namespaces that model HQ and branch sites.

It shows an admin what a roll-out will do before it is done: one HQ, branch
sites of several clients each on an unshaped LAN, every site joined to a WAN
router by one ``tbf``-shaped link, and a distribution's time and WAN bytes
measured against the lower bound ``T_lb = max(F/branch_WAN, F/HQ_uplink)``
and against the usual alternatives (HTTP from HQ, plain BitTorrent).

Run ``python -m lab --help`` as root. Programmatic use::

    from lab import LabParams, open_lab, run_scenario, scenarios
    with open_lab(LabParams(branches=2, clients_per_branch=2)) as lab:
        record = run_scenario(lab, scenarios.get("http"), run_no=1)

To add a scenario, see ``lab.scenarios``.
"""

from lab import scenarios
from lab.harness import run_scenario
from lab.netns import LabError
from lab.params import LabParams
from lab.report import RunRecord
from lab.session import LabInterrupted, open_lab
from lab.tools import ensure_tools, lab_possible
from lab.topology import Client, Lab, Site

__all__ = [
    "Client", "Lab", "LabError", "LabInterrupted", "LabParams", "RunRecord", "Site",
    "ensure_tools", "lab_possible", "open_lab", "run_scenario", "scenarios",
]
