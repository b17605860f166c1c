"""Hypothesis strategies for what other hosts and admins send p2pdist."""

from __future__ import annotations

from hypothesis import strategies as st

# Values YAML, JSON and Salt's msgpack can carry.
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True) | st.text(max_size=30) | st.binary(max_size=20))
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
# What a JSON body can hold.
json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                           | st.floats(allow_nan=False) | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
# Names that probe path handling on both OSes.
tricky_names = st.sampled_from(["..", ".", "", "/", "\\", "C:", "CON", "nul.txt", "a:b", "a/b",
                                "x ", "x.", "\0", "é", "A", "a", "COM1", "~", "-", "a" * 256])
path_elements = tricky_names | st.text(min_size=0, max_size=12)
