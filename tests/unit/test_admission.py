"""Who may fetch a distribution: the admitted list and refusal events."""

from __future__ import annotations

import pytest

from salt_p2pdist.core import admission
from salt_p2pdist.core.errors import Forbidden


def test_the_admitted_list_is_targets_and_allowed_or_everyone_when_open() -> None:
    assert admission.admitted_list(["m2", "m1"], ["m3", "m1"], targets_only=True) == ["m1", "m2", "m3"]
    assert admission.admitted_list(["m1"], [], targets_only=False) == ["*"]


def test_a_minion_not_admitted_is_refused_with_what_to_do() -> None:
    admission.check("m1", ["m1", "m2"], "d" * 16)
    admission.check("m9", ["*"], "d" * 16)
    with pytest.raises(Forbidden, match=r"m3 is not admitted .*allow=.*nothing written"):
        admission.check("m3", ["m1", "m2"], "d" * 16)
    with pytest.raises(Forbidden):
        admission.check("m3", [], "d" * 16)  # a torrent without the list admits nobody


def test_refusal_events_are_named_by_the_sender_the_master_attached() -> None:
    payload = admission.refusal_event("abc", "p2pdist.fetch", "not admitted")
    good = {"tag": "p2pdist/refused/m3", "data": {"id": "m3", "data": payload}}
    forged = {"tag": "p2pdist/refused/m1", "data": {"id": "m3", "data": payload}}
    other = {"tag": "p2pdist/report/m3", "data": {"id": "m3", "data": payload}}
    junk = {"tag": "p2pdist/refused/m3", "data": "x"}
    assert admission.refusals_from_events([good, forged, other, junk]) == [
        {"minion": "m3", "id": "abc", "route": "p2pdist.fetch", "reason": "not admitted"}]
