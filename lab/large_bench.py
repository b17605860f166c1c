"""``python -m lab.large_bench``: a big file and a big tree, origin -> 2 agents, memory sampled.

Real agents and libtorrent on loopback (127.0.0.x), in a closed swarm as in
production (TLS between peers, a certificate per host). For each content (a
FILE_GIB GiB file of pseudo-random bytes, then a tree of TREE_FILES small
files) it makes the torrent the way the master does (a hashing worker, then
signed with a master key), measures the order a push would send through Salt
(JSON and msgpack, as Salt serialises the job), then:

1. agent A fetches from the origin (A downloads, the origin seeds);
2. the origin stops seeding, the swarm stays (keep_swarm): agent B fetches
   from A alone (B downloads, A seeds).

Every process's RSS is sampled (psutil) and kept as the peak per phase; a
watcher counts the files at B's dest while it works, to show the tree appear
all at once; both copies are compared with the source, file by file
(SHA-256). Prints a JSON and writes ``bench/results/large.json``. No root.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lab import bigcontent
from lab.largerun import RSS_TARGET, LargeRun

DEFAULT_OUT = Path("bench/results/large.json")
FILE_GIB, TREE_FILES = 4.0, 20_000
MB = 1_000_000


def run(root: Path, file_bytes: int, tree_files: int) -> dict[str, Any]:
    with LargeRun(root) as lab:
        out: dict[str, Any] = {}
        source = bigcontent.make_file(root / "src" / "big.bin", file_bytes)
        out["file"] = lab.distribute("file", source, timeout=max(120.0, file_bytes / (20 * MB)))
        shutil.rmtree(root / "src", ignore_errors=True)
        source = bigcontent.make_tree(root / "src" / "tree", tree_files)
        out["tree"] = lab.distribute("tree", source, timeout=max(120.0, tree_files / 50))
        shutil.rmtree(root / "src", ignore_errors=True)
        out["rss_mb"] = lab.rss.in_mb()
        out["rss_samples"] = lab.rss.samples
    out["checks"] = checks(out)
    return out


def checks(out: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind in ("file", "tree"):
        r = out[kind]
        rows.append({"case": f"{kind}: copies byte-identical", "ok": r["identical"]})
        rows.append({"case": f"{kind}: agent RSS peak (MB)", "measured": r["agent_rss_peak_mb"],
                     "target": RSS_TARGET / MB, "ok": r["agent_rss_peak_mb"] <= RSS_TARGET / MB})
        rows.append({"case": f"{kind}: dest showed nothing or all", "measured": r["dest_counts_seen"],
                     "ok": r["placed_atomically"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="large_bench", description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--file-gib", type=float, default=FILE_GIB)
    p.add_argument("--tree-files", type=int, default=TREE_FILES)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="p2pdist-large-"))
    try:
        result = run(root, int(args.file_gib * 2**30), args.tree_files)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["params"] = {"file_gib": args.file_gib, "tree_files": args.tree_files}
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(c["ok"] for c in result["checks"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
