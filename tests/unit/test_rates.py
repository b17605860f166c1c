"""Rates as an admin writes them in pillar: numbers and units, refused with a reason."""

from __future__ import annotations

import pytest

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.rates import MAX_RATE, parse_rate


@pytest.mark.parametrize(("raw", "rate"), [
    (0, 0), (1500, 1500), (2.6, 3), ("0", 0), ("100", 100), ("100B", 100),
    ("2MB", 2_000_000), ("2 MB", 2_000_000), ("2mB", 2_000_000), ("2MB/s", 2_000_000),
    ("500kB", 500_000), ("500KB", 500_000), ("1.5GB", 1_500_000_000),
    ("2MiB", 2_097_152), ("500KiB", 512_000), ("1GiB", 2**30), ("2MBps", 2_000_000),
    ("10Mbit", 1_250_000), ("10mbit", 1_250_000), ("10 Mbit/s", 1_250_000), ("10Mbps", 1_250_000),
    ("1kbit", 125), ("8bit", 1), ("1Gbits", 125_000_000),
])
def test_parse_rate_accepts_numbers_and_units(raw, rate):
    assert parse_rate(raw) == rate


@pytest.mark.parametrize(("raw", "says"), [
    ("2XB", "not a rate"), ("", "not a rate"), ("MB", "not a rate"), ("1e6", "not a rate"),
    (True, "not a rate"), (None, "not a rate"), ([1], "not a rate"), (float("inf"), "not a rate"),
    (-1, "negative"), ("-2MB", "negative"), (-0.6, "negative"),
    ("10Mb", "ambiguous"), ("10kb", "ambiguous"), ("10b", "ambiguous"), ("2M", "ambiguous"),
    (MAX_RATE + 1, "too large"), ("3GB", "too large"),
])
def test_parse_rate_rejects_with_a_reason(raw, says):
    with pytest.raises(InvalidRequest, match=says):
        parse_rate(raw)


def test_parse_rate_ambiguity_message_suggests_both_spellings():
    with pytest.raises(InvalidRequest, match="10MB for bytes or 10Mbit for bits"):
        parse_rate("10Mb")
