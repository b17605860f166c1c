"""Every failure of an execution function sets Salt's retcode (``salt`` then exits non-zero)."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from salt_p2pdist.agent.stopping import StopOutcome
from salt_p2pdist.core.errors import AgentUnavailable

MODULE = Path(__file__).parents[2] / "_modules" / "p2pdist.py"


class DownAgent:
    """The agent cannot be reached or started."""

    def __init__(self, *_args: Any) -> None:
        pass

    def alive(self) -> bool:
        return True

    def has_process(self) -> bool:
        return True

    def ensure(self) -> None:
        raise AgentUnavailable("the p2pdist agent did not start: see agent.log")

    def call(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AgentUnavailable("the p2pdist agent is not answering")

    def stop(self) -> None:
        raise AgentUnavailable("cannot stop the agent")

    def stop_outcome(self) -> StopOutcome:
        return StopOutcome(False, "could not confirm that the p2pdist agent (pid 7) stopped", True, 7)

    def held_on_disk(self) -> list[str]:
        return []


@pytest.fixture
def module(tmp_path, monkeypatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("p2pdist_exec_under_test", MODULE)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    (tmp_path / "pki").mkdir()
    mod.__opts__ = {"id": "m1", "pki_dir": str(tmp_path / "pki"), "cachedir": str(tmp_path / "cache")}
    mod.__context__ = {}
    mod.__pillar__ = {}
    mod.__grains__ = {}
    mod.__salt__ = {"grains.get": lambda *_a, **_k: "", "event.fire_master": lambda *_a: True,
                    "schedule.list": lambda **_k: {}, "schedule.add": lambda *_a, **_k: True,
                    "schedule.delete": lambda *_a, **_k: True}
    monkeypatch.setattr("salt_p2pdist.minion.host.AgentClient", DownAgent)
    return mod


def test_an_unsigned_torrent_sets_retcode(module, write_file, tmp_path):
    from salt_p2pdist.torrent import creation

    torrent = creation.create(write_file(tmp_path / "f.bin", 70_000), "http://192.0.2.1:6970/announce")
    ret = module.fetch(torrent=base64.b64encode(torrent).decode(), dest="/srv/p2pdist")
    assert ret["result"] is False and "not signed by a p2pdist master" in ret["error"]
    assert module.__context__["retcode"] == 1


@pytest.mark.parametrize(("function", "kwargs"), [
    ("fetch", {"torrent": "!!not base64!!", "dest": "/srv/p2pdist"}),
    ("fetch", {"torrent": base64.b64encode(b"junk").decode(), "dest": "/srv/p2pdist"}),
    ("status", {"dist_id": "0123456789abcdef"}),
    ("report", {}),
    ("policy", {}),
    ("remove", {"dist_id": "0123456789abcdef"}),
    ("stop_agent", {}),
])
def test_every_failure_sets_retcode(module, function, kwargs):
    ret = getattr(module, function)(**kwargs)
    assert ret.get("result") is False or ret.get("error"), ret
    if function == "stop_agent":  # an unconfirmed stop says so, and that the agent was running
        assert ret["comment"].startswith("could not confirm") and ret["was_running"] is True
    assert module.__context__["retcode"] == 1


def test_success_leaves_retcode_alone(module, monkeypatch):
    class Idle(DownAgent):
        def alive(self) -> bool:
            return False

        def has_process(self) -> bool:
            return False

        def stop_outcome(self) -> StopOutcome:
            return StopOutcome(True, "the p2pdist agent of m1 was not running", False)

    monkeypatch.setattr("salt_p2pdist.minion.host.AgentClient", Idle)
    assert module.stop_agent() == {"result": True, "comment": "the p2pdist agent of m1 was not running",
                                   "was_running": False, "pid": None}
    assert module.status() == {}
    assert module.remove("0123456789abcdef")["result"] is True
    assert "retcode" not in module.__context__


def test_functions_keep_their_names_and_docs_for_salt(module):
    assert module.fetch.__name__ == "fetch" and "CLI Example" in module.fetch.__doc__
    import inspect

    # Salt reads the wrapped function's signature: **kwargs must show, or it passes no keywords.
    assert list(inspect.signature(module.remove).parameters) == ["dist_id", "purge", "args", "kwargs"]
