"""The runner maps every refusal to a non-zero exit, also one found before any work starts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).parents[2] / "_runners" / "p2pdist.py"


@pytest.fixture
def runner(tmp_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("p2pdist_runner_under_test", RUNNER)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.__opts__ = {"cachedir": str(tmp_path), "pki_dir": str(tmp_path / "pki"),  # type: ignore[attr-defined]
                    "p2pdist": {"torrent_dir": ""}}
    mod.__context__ = {}  # type: ignore[attr-defined]
    return mod


def test_a_bad_argument_is_named_and_sets_the_retcode(runner: ModuleType) -> None:
    ret = runner.status(wacth=True)
    assert ret["result"] is False and "did you mean watch?" in ret["error"]
    assert runner.__context__ == {"retcode": 1}


def test_an_invalid_master_config_is_a_refusal_not_a_traceback(runner: ModuleType) -> None:
    runner.__opts__["p2pdist"]["tracker_prot"] = 6970
    ret = runner.cancel("0123456789abcdef")
    assert ret["result"] is False and ret["error"].startswith("p2pdist.cancel refused: ")
    assert "tracker_prot" in ret["error"]
    assert runner.__context__ == {"retcode": 1}


def test_an_unknown_distribution_is_refused(runner: ModuleType) -> None:
    ret = runner.stop_seeding("0123456789abcdef")
    assert ret["retcode"] == 1 and "no distribution" in ret["error"] and runner.__context__["retcode"] == 1
    assert runner.status() == "no distributions on this master; start one with: salt-run p2pdist.push " \
                              "<path> tgt=<target> dest=<directory>"


def test_an_all_digit_id_read_as_a_number_is_looked_up_as_its_text(runner: ModuleType) -> None:
    """Salt's command line gives ``salt-run p2pdist.status 3217708154007149`` a number."""
    for call in (runner.status, runner.stop_seeding, runner.cancel):
        ret = call(3217708154007149)
        assert ret["retcode"] == 1 and "no distribution '3217708154007149'" in ret["error"], ret
        assert "is not a text" not in ret["error"]


def test_an_all_digit_approval_request_id_is_looked_up_as_its_text(runner: ModuleType) -> None:
    """``salt-run p2pdist.approve 229614135473``: a request id of 12 digits arrives as a number."""
    ret = runner.approve(229614135473)
    assert ret["retcode"] == 1 and "is not a text" not in ret["error"], ret
    assert "229614135473" in ret["error"], ret
