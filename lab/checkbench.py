"""The command line shared by the loopback benchmarks that check figures against targets.

Each benchmark builds its agents under a temporary root, measures, and turns
the result into rows ``(case, measured, target, ok)``; this prints them as a
table, writes the JSON the docs quote, and exits non-zero if a target was missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from salt_p2pdist.testing.agents import stop_agents_under

Check = tuple[str, str, str, bool]


def main(prog: str, doc: str | None, default_out: Path, run: Callable[[Path], dict[str, Any]],
         verdicts: Callable[[dict[str, Any]], Sequence[Check]], argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=default_out)
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix=f"p2pdist-{prog}-"))
    try:
        result = run(root)
    finally:
        stop_agents_under(root)
        shutil.rmtree(root, ignore_errors=True)
    rows = verdicts(result)
    result["checks"] = [{"case": c, "measured": m, "target": t, "ok": ok} for c, m, t, ok in rows]
    width = max((len(m) for _c, m, _t, _ok in rows), default=0)
    for c, m, t, ok in rows:
        print(f"{c:<30} {m:<{width}} {t:<16} {'ok' if ok else 'MISSED'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(ok for *_, ok in rows) else 1
