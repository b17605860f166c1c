"""Create a private v2 torrent of a file or directory.

libtorrent's hashing holds the GIL for the whole run, so the master never
hashes in its own process: :func:`create_in_subprocess` runs this module as a
worker (``python -m salt_p2pdist.torrent.creation``) and reads the result
from its stdout.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest, TransferError
from salt_p2pdist.torrent.metainfo import NAME_KEY, NAME_TAG

# Not 16 KiB: with one block per piece, libtorrent 2.1.1 rejects the Merkle
# hashes a peer sends to repair a failed piece ("invalid hashes"), drops the
# good peer too, and the download stalls (measured with a corrupt peer).
MIN_PIECE = 64 * 1024
MAX_PIECE = 4 * 1024 * 1024
TARGET_PIECES = 512  # enough pieces for a swarm to spread them, few enough HAVE messages


def piece_size_for(total_bytes: int) -> int:
    """A power of two near total/TARGET_PIECES, clamped to [MIN_PIECE, MAX_PIECE]."""
    size = MIN_PIECE
    while size < MAX_PIECE and size * TARGET_PIECES < total_bytes:
        size *= 2
    return size


UNIQUE_PREFIX = "p2pdist-"


def bind_name(torrent: dict[bytes, Any], name: str, is_dir: bool) -> None:
    """Give a freshly made torrent a name unique to its content (in place).

    libtorrent admits a peer to an SSL torrent when its certificate names the
    torrent's name, and the master seeds every closed swarm on one port: with
    the user's file name as torrent name, a certificate for one
    ``payload.bin`` fitted every other ``payload.bin``. The name becomes
    ``p2pdist-<digest of the original info dict>``: deterministic (the same
    content, name and CA give the same torrent and id again) and unique per
    content. The user's name moves into the info dict (covered by the info
    hash), the file tree keeps the content under it, so a one-file directory
    keeps its directory; agents map the files back with ``renames``.
    """
    import libtorrent as lt

    info = torrent[b"info"]
    unique = UNIQUE_PREFIX + hashlib.sha256(bytes(lt.bencode(info))).hexdigest()[:40]
    tree = info[b"file tree"]
    # A single file stays a single-file torrent named <unique> (libtorrent
    # names such a torrent after its one file), a directory goes one level down.
    info[b"file tree"] = {name.encode(): tree} if is_dir else {unique.encode(): next(iter(tree.values()))}
    info[b"name"] = unique.encode()
    info[NAME_KEY] = (name + ("/" if is_dir else "")).encode()


def create(source: Path, tracker: str, root_cert: str = "") -> bytes:
    """Hash ``source`` (file or directory) into a private v2 torrent. Slow: use a worker.

    With ``root_cert`` (the swarm CA, PEM) it is an SSL torrent: a closed swarm.
    """
    import libtorrent as lt

    # Before hashing: libtorrent splits a name like "a\\b" into a path, which
    # bind_name cannot bind; the admin gets the path refusal, not a broken torrent.
    names.check_paths([[source.name]], names.local_flavor())
    files = lt.list_files(str(source), flags=lt.create_torrent.no_attributes)
    total = sum(f.size for f in files)
    if not files or total == 0:
        raise InvalidRequest(f"{source} has no data to distribute (empty file or directory)")
    ct = lt.create_torrent(files, piece_size_for(total), lt.create_torrent.v2_only)
    ct.set_priv(True)
    ct.set_creator("p2pdist")
    ct.set_comment(NAME_TAG + source.name + ("/" if source.is_dir() else ""))
    if tracker:
        ct.add_tracker(tracker)
    if root_cert:
        ct.set_root_cert(root_cert)
    # The piece callback lets other threads of this worker breathe; the GIL
    # is otherwise held for the whole hash run.
    lt.set_piece_hashes(ct, str(source.parent), lambda _piece: None)
    torrent = ct.generate()
    bind_name(torrent, source.name, source.is_dir())
    return bytes(lt.bencode(torrent))


def create_in_subprocess(source: Path, tracker: str, ca_file: Path | None = None,
                         timeout: float = 3600) -> bytes:
    """Run :func:`create` in a worker process so the caller's process never stalls."""
    cmd = [sys.executable, "-m", "salt_p2pdist.torrent.creation", str(source), tracker]
    if ca_file is not None:
        cmd.append(str(ca_file))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise TransferError(f"creating the torrent for {source} failed: {lines[-1] if lines else ''}")
    return base64.b64decode(json.loads(proc.stdout)["torrent"])


def _main(argv: list[str]) -> int:
    source, tracker = Path(argv[0]), argv[1]
    root_cert = Path(argv[2]).read_text() if len(argv) > 2 else ""
    try:
        data = create(source, tracker, root_cert)
    except InvalidRequest as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(json.dumps({"torrent": base64.b64encode(data).decode()}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
