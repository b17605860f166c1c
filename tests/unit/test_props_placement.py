"""Property: whatever names get through the checks, placing a distribution writes only below dest."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hostile_strategies import path_elements
from hypothesis import given, settings
from hypothesis import strategies as st

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent import placement

file_paths = st.lists(st.lists(path_elements, min_size=1, max_size=3), min_size=1, max_size=5)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@settings(max_examples=200, deadline=None)
@given(file_paths, st.booleans())
def test_placing_accepted_names_writes_only_below_dest(paths, force):
    try:
        names.check_paths(paths, names.local_flavor())
    except InvalidRequest:
        return
    root = Path(tempfile.mkdtemp(prefix="p2pdist-place-"))
    try:
        staging, dest = root / "staging", root / "dest"
        files = []
        for elements in paths:
            rel = "/".join(elements)
            if any(rel == other or rel.startswith(other + "/") or other.startswith(rel + "/")
                   for other, _s, _r in files):
                continue  # a file and a directory of one name: no torrent can hold both
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(rel.encode())
            files.append((rel, len(rel.encode()), "00" * 32))
        dest.mkdir()
        before = _tree(root) - {str(Path("staging") / r) for r, _s, _x in files}
        placement.check_within(dest, [root], files)
        placement.place(staging, dest, files, force=force)
        after = _tree(root)
        created = after - before
        assert all(Path(c).parts[0] == "dest" for c in created), created
        assert {str(Path("dest") / r) for r, _s, _x in files} <= after
        assert not os.path.exists(staging)
    finally:
        shutil.rmtree(root, ignore_errors=True)
