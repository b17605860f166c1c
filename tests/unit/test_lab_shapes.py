"""The lab's topology files: read, checked, and measured against the product's planner."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.params import LabParams
from lab.shapes import LabShape, load
from lab.topology import plan as lab_plan

SHIPPED = Path(__file__).parents[2] / "bench" / "topologies"


@pytest.mark.parametrize("name,term", [("uneven", "downlink:slow"),
                                       ("asymmetric", "total_upload"), ("hub", "hq_uplink")])
def test_each_shipped_topology_binds_where_its_comment_says(name: str, term: str) -> None:
    shape = load(SHIPPED / f"{name}.yaml")
    params = LabParams(size_mib=32, shape=shape)
    assert params.plan["binding"]["term"] == term and params.plan["complete"]
    assert params.validate() == []
    lab = lab_plan(params, Path("/nonexistent"), Path("/nonexistent/p"), "")
    assert [s.name for s in lab.sites] == [s.name for s in shape.sites]
    assert len(lab.clients) == sum(s.clients for s in shape.sites) <= 8  # fits a 2-core machine


def test_the_flags_are_the_uniform_case() -> None:
    params = LabParams()
    assert params.layout == LabShape.uniform(4, 5, 20.0, 100.0)
    assert params.bound_s == pytest.approx(params.t_lb_s)  # 26.8 s for 64 MiB


def test_a_bad_topology_is_refused_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("hq: {up: 0}\nwan: ring\nextra: 1\nsites:\n"
                   "  - {name: Paris, clients: 0, down: 8}\n  - {name: b, clients: 2, down: 1, up: 1}\n"
                   "  - {name: b, clients: 2, down: 1, up: 1}\n")
    with pytest.raises(ValueError) as err:
        load(bad)
    for words in ("hq: up", "hq: down", "ring", "extra", "name must be", "clients must be",
                  "site 1 (Paris): up", "names must differ"):
        assert words in str(err.value)
