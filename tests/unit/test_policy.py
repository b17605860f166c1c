"""The share policy from pillar: base settings, time windows, the limits in force and their sources."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.policy import Limits, Policy
from salt_p2pdist.core.windows import Window

M = 1_000_000
# 2026-08-03 is a Monday.
MON, FRI, SAT, SUN = (datetime(2026, 8, d) for d in (3, 7, 8, 9))


def at(day: datetime, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return day.replace(hour=h, minute=m)


# -- from_pillar ----------------------------------------------------------

def test_defaults_upload_to_everyone_without_caps():
    for raw in (None, {}):
        p = Policy.from_pillar(raw)
        assert p.effective(MON) == Limits("all", 0, 0, 0)
        assert set(p.sources(MON).values()) == {"default"}


def test_send_caps_too_low_to_carry_requests_are_refused():
    for raw, kw in [({"upload_rate": 1}, {}), ({"windows": [{"upload_rate": "1kB"}]}, {}),
                    ({}, {"site_wan_rate": 9999})]:
        with pytest.raises(InvalidRequest, match="starve this minion's downloads too"):
            Policy.from_pillar(raw, **kw)
    assert Policy.from_pillar({"upload_rate": "10kB", "download_rate": 1},
                              site_wan_rate=10_000).effective(MON) == Limits("all", 10_000, 1, 10_000)


def test_base_settings_and_site_wan_rate():
    p = Policy.from_pillar({"upload": "site", "upload_rate": "2MB", "download_rate": 1000},
                           site_wan_rate="10Mbit", site="paris")
    assert p.effective(SUN) == Limits("site", 2_000_000, 1000, 1_250_000)
    assert p.sources(SUN) == {"upload_mode": "pillar p2pdist:policy:upload",
                              "upload_rate": "pillar p2pdist:policy:upload_rate",
                              "download_rate": "pillar p2pdist:policy:download_rate",
                              "wan_rate": "p2pdist:sites:paris:wan_rate"}
    assert Policy.from_pillar({"upload": False}).effective(MON).upload_mode == "none"
    assert Policy.from_pillar({"upload": True}).effective(MON).upload_mode == "all"


def test_from_pillar_reports_every_problem_in_one_message():
    bad = {
        "upload": "sometimes", "upload_rate": -5, "download_rate": "fast", "uplaod": True,
        "windows": [
            {"days": ["mon", "mun"], "start": "08:00", "end": "18:00"},
            {"start": "25:00", "end": "8"},
            {"start": "08:00", "end": "08:00"},
            {"start": "08:00"},
            {"days": "mon", "upload_rate": "1XB", "colour": "red"},
            "not a window",
        ],
    }
    with pytest.raises(InvalidRequest) as info:
        Policy.from_pillar(bad, site_wan_rate="lots", site="paris")
    msg = str(info.value)
    assert msg.startswith("invalid p2pdist:policy: ")
    for part in ["upload: 'sometimes' is not an upload setting", "upload_rate: -5 must not be negative",
                 "download_rate: 'fast' is not a rate", "unknown key(s) uplaod",
                 "windows[0]: days: unknown day(s) 'mun'", "windows[1]: start: '25:00' is not a time",
                 "end: '8' is not a time", "windows[2]: start equals end",
                 "windows[3]: give both start and end", "windows[4]: unknown key(s) colour",
                 "upload_rate: '1XB' is not a rate", "windows[5]: 'not a window' is not a mapping",
                 "p2pdist:sites:paris:wan_rate: 'lots' is not a rate"]:
        assert part in msg, part


@pytest.mark.parametrize("raw", [["upload"], "upload: true", 5])
def test_from_pillar_rejects_a_non_mapping(raw):
    with pytest.raises(InvalidRequest, match="expected a mapping"):
        Policy.from_pillar(raw)


def test_windows_must_be_a_list():
    with pytest.raises(InvalidRequest, match="windows: expected a list"):
        Policy.from_pillar({"windows": {"days": ["mon"]}})


def test_unquoted_yaml_times_arrive_as_base_60_minutes():
    # Salt's YAML reads `start: 8:30` as 510 and `end: 18:00` as 1080.
    w = Window.from_pillar({"start": 510, "end": 1080})
    assert (w.start, w.end) == (8 * 60 + 30, 18 * 60)
    with pytest.raises(InvalidRequest, match="not a time"):
        Window.from_pillar({"start": 8, "end": 1080})  # no H:MM reads as 8


# -- windows ----------------------------------------------------------------

WORKDAY = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00",
           "upload_rate": "1MB", "download_rate": "5MB"}


def test_rates_apply_only_inside_a_window():
    p = Policy.from_pillar({"upload_rate": 3_000_000, "windows": [WORKDAY]})
    assert p.effective(at(MON, "08:00")) == Limits("all", 1_000_000, 5_000_000, 0)
    assert p.effective(at(FRI, "17:59")).upload_rate == 1_000_000
    assert p.effective(at(MON, "07:59")) == Limits("all", 3_000_000, 0, 0)
    assert p.effective(at(MON, "18:00")).upload_rate == 3_000_000  # end is exclusive
    assert p.effective(at(SAT, "12:00")).upload_rate == 3_000_000
    assert p.sources(at(MON, "12:00"))["upload_rate"] == "window mon-fri 08:00-18:00"
    assert p.sources(at(MON, "12:00"))["upload_mode"] == "default"
    assert p.sources(at(MON, "20:00"))["upload_rate"] == "pillar p2pdist:policy:upload_rate"


def test_a_window_may_set_the_sites_wan_cap_for_business_hours():
    office = {"days": ["mon-fri"], "start": "08:00", "end": "18:00", "wan_rate": "2MB"}
    p = Policy.from_pillar({"windows": [office]}, site_wan_rate="10MB", site="paris")
    assert p.effective(at(MON, "09:00")).wan_rate == 2_000_000
    assert p.sources(at(MON, "09:00"))["wan_rate"] == "window mon-fri 08:00-18:00"
    assert p.effective(at(MON, "19:00")).wan_rate == 10_000_000
    assert p.sources(at(MON, "19:00"))["wan_rate"] == "p2pdist:sites:paris:wan_rate"
    # Without a site cap, the window alone caps the WAN in business hours.
    alone = Policy.from_pillar({"windows": [office]})
    assert (alone.effective(at(MON, "09:00")).wan_rate, alone.effective(at(SAT, "09:00")).wan_rate) \
        == (2_000_000, 0)
    with pytest.raises(InvalidRequest, match="wan_rate"):
        Policy.from_pillar({"windows": [{**office, "wan_rate": -1}]})


def test_window_spanning_midnight_belongs_to_the_day_it_starts():
    p = Policy.from_pillar({"windows": [{"days": ["fri"], "start": "22:00", "end": "06:00",
                                         "upload_rate": M}]})
    assert p.effective(at(FRI, "22:00")).upload_rate == M
    assert p.effective(at(SAT, "05:59")).upload_rate == M
    assert p.effective(at(SAT, "06:00")).upload_rate == 0
    assert p.effective(at(FRI, "05:00")).upload_rate == 0  # Thursday night is not listed
    assert p.effective(at(SAT, "23:00")).upload_rate == 0
    # Sunday night runs into Monday morning across the week's end.
    sun = Policy.from_pillar({"windows": [{"days": "sun", "start": "23:00", "end": "01:00",
                                           "upload": False}]})
    assert sun.effective(at(MON, "00:30")).upload_mode == "none"
    assert sun.effective(at(SUN, "00:30")).upload_mode == "all"


def test_last_matching_window_wins_key_by_key():
    p = Policy.from_pillar({"upload_rate": "9MB", "windows": [
        {"start": "08:00", "end": "18:00", "upload_rate": "1MB", "download_rate": 2},
        {"days": ["mon"], "start": "12:00", "end": "13:00", "upload_rate": "3MB", "upload": "site"},
    ]})
    assert p.effective(at(MON, "12:30")) == Limits("site", 3 * M, 2, 0)
    src = p.sources(at(MON, "12:30"))
    assert src["upload_rate"] == "window mon 12:00-13:00"
    assert src["download_rate"] == "window daily 08:00-18:00"
    assert p.effective(at(MON, "13:00")) == Limits("all", 1 * M, 2, 0)
    assert p.effective(at(MON, "19:00")) == Limits("all", 9 * M, 0, 0)


def test_whole_day_windows_and_day_ranges():
    p = Policy.from_pillar({"windows": [{"days": ["sat-sun"], "upload": "site"},
                                        {"days": ["fri-mon"], "start": "01:00", "end": "02:00",
                                         "download_rate": 7}]})
    assert p.windows[0].label == "window sat-sun all day"
    assert p.windows[1].days == frozenset({4, 5, 6, 0})
    assert p.windows[1].label == "window mon,fri-sun 01:00-02:00"
    assert p.effective(at(SAT, "00:00")).upload_mode == "site"
    assert p.effective(at(SUN, "23:59")).upload_mode == "site"
    assert p.effective(at(FRI, "12:00")).upload_mode == "all"
    assert p.effective(at(MON, "01:30")).download_rate == 7


def test_effective_uses_wall_clock_fields_even_when_aware():
    p = Policy.from_pillar({"windows": [WORKDAY]})
    aware = at(MON, "09:00").replace(tzinfo=timezone(timedelta(hours=-5)))
    assert p.effective(aware).upload_rate == 1_000_000


def test_explain_pairs_values_with_sources():
    p = Policy.from_pillar({"upload_rate": "1MB"}, site_wan_rate=0, site="lyon")
    assert p.explain(MON) == {
        "upload_mode": {"value": "all", "source": "default"},
        "upload_rate": {"value": 1_000_000, "source": "pillar p2pdist:policy:upload_rate"},
        "download_rate": {"value": 0, "source": "default"},
        "wan_rate": {"value": 0, "source": "p2pdist:sites:lyon:wan_rate"},
    }
