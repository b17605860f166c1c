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


def test_a_run_on_a_saturated_machine_is_marked_invalid() -> None:
    from lab.report import make_record
    from lab.sampling import busy_fraction, cpu_times

    busy, total = cpu_times()
    assert 0 <= busy <= total
    assert busy_fraction((100, 1000), (1050, 2000)) == 0.95
    assert busy_fraction((5, 5), (5, 5)) is None
    params = LabParams(size_mib=32, shape=load(SHIPPED / "hub.yaml"))
    times = {"northc1": 30.0}
    for cpu, valid in ((0.95, False), (0.5, True), (None, True)):
        record = make_record(params, scenario="p2pdist", run=1, times=times, delta={}, bad_hash=[],
                             error="", wall_s=1.0, cpu_busy=cpu)
        assert record.valid is valid
        assert record.ratio_to_bound == pytest.approx(30.0 / params.bound_s)
        assert record.binding == "hq_uplink" and record.wan == "hub" and record.topology == "hub"


def test_results_keep_each_time_series_on_one_line() -> None:
    import json

    from lab.report import _dumps

    records = [{"scenario": "p2pdist", "samples": [[0.5, {"a": 1}], [1.0, {"a": 2}]]},
               {"scenario": "http", "samples": []}]
    text = _dumps(records)
    assert json.loads(text) == records
    assert '"samples": [[0.5,{"a":1}],[1.0,{"a":2}]]' in text
