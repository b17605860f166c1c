"""A real deployment for the integration tests: a Salt master, minions and agents.

One deployment per test session: starting Salt daemons costs seconds, and
every test uses its own distribution (own file, own dest) so they do not
interfere. Three minions start with the session; more are added by tests that
need a latecomer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.testing.deployment import Deployment

MINIONS = ["m1", "m2", "m3", "m4"]
# Two sites on loopback addresses: m1, m2 in "paris"; m3, m4 in "lyon" (region "fr").
SITES = {"paris": {"networks": ["127.0.0.11/32", "127.0.0.12/32"], "parent": "fr"},
         "lyon": {"networks": ["127.0.0.13/32", "127.0.0.14/32"], "parent": "fr"}}


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    # A short root: Unix socket paths are limited to ~107 bytes.
    root = Path(tempfile.mkdtemp(prefix="p2pt-"))
    # The master serves each distribution at 2 MiB/s at most, as a thin uplink
    # would; minions must then get most of the data from each other.
    lab = Deployment(root, master_p2pdist={"origin_upload_rate": 2 << 20, "sites": SITES})
    try:
        lab.start([lab.minion(m, i) for i, m in enumerate(MINIONS, start=1)])
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def srv(deployment: Deployment, request: pytest.FixtureRequest) -> Path:
    """A directory on the master for this test's content."""
    path = deployment.root / "srv" / request.node.name[:40]
    path.mkdir(parents=True, exist_ok=True)
    return path
