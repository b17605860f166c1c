"""Torrent metadata: create a private v2 torrent, and read one back.

libtorrent's hashing holds the GIL for the whole run, so the master never
hashes in its own process: :func:`create_in_subprocess` runs this module as a
worker (``python -m salt_p2pdist.torrent.metainfo``) and reads the result from its
stdout. v2-only torrents are used: SHA-256 pieces, one info hash per swarm
(hybrid torrents announce twice), and per-file Merkle roots that let a host
recognise content it already has.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest, TransferError
from salt_p2pdist.torrent.bencode import BencodeError, bdecode

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


@dataclass(frozen=True)
class TorrentMeta:
    """What p2pdist needs to know of a torrent, without libtorrent types."""

    dist_id: str  # first 16 hex digits of the v2 info hash
    info_hash: str  # full SHA-256 info hash, hex
    name: str  # what appears at the destination: the pushed file or directory's name
    # The torrent's own name: unique per content ("p2pdist-<digest>", see
    # bind_name); closed-swarm certificates name it, so one distribution's
    # certificate fits no other. Differs from ``name`` in every p2pdist torrent.
    torrent_name: str
    files: tuple[tuple[str, int, str], ...]  # (path relative to dest, size, pieces root hex)
    total_size: int
    piece_size: int
    num_pieces: int
    single_file: bool
    wrapped: bool  # a one-file directory that libtorrent turned into a single-file torrent
    tracker: str
    ssl: bool = False  # a closed swarm: peers need a certificate from the embedded CA
    # libtorrent file index -> path relative to the save path (dest): where
    # each file of a name-bound torrent lives on disk (see bind_name).
    renames: tuple[tuple[int, str], ...] = ()


def describe(torrent: bytes, flavor: str = "") -> TorrentMeta:
    """Parse torrent bytes; raise InvalidRequest if they are not a v2 torrent.

    File names are checked with the rules of ``flavor`` (default: this
    host's OS) on the raw bytes, before libtorrent rewrites any of them.
    """
    import libtorrent as lt

    flavor = flavor or names.local_flavor()
    names.check_paths(raw_paths(torrent), flavor)
    try:
        atp = lt.load_torrent_buffer(torrent)
    except RuntimeError as exc:
        raise InvalidRequest(f"not a valid torrent: {exc}") from exc
    ti = atp.ti
    if ti is None or not ti.info_hashes().has_v2():
        raise InvalidRequest("not a v2 (SHA-256) torrent; create it with salt-run p2pdist.push")
    fs = ti.layout()
    bound = _bound_name(ti.info_section())
    files, renames = [], []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        path = fs.file_path(i).replace("\\", "/")
        if bound is not None:  # strip the unique torrent name: <name>[/...] at dest
            path = bound[0] if not bound[1] else path.split("/", 1)[-1]
            renames.append((i, path))
        files.append((path, fs.file_size(i), str(fs.root(i))))
    v2 = str(ti.info_hashes().v2)
    try:  # the bindings decode these as UTF-8 and raise on anything else
        trackers = list(atp.trackers)
        # libtorrent 2.1 moves the comment out of torrent_info into the params.
        comment = getattr(atp, "comment", "") or ti.comment()
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"not a valid torrent: its tracker or comment is not UTF-8 ({exc})") from exc
    name = bound[0] if bound is not None else _content_name(comment, ti.name())
    names.check_paths([[name]], flavor)
    return TorrentMeta(
        dist_id=v2[:16],
        info_hash=v2,
        name=name,
        torrent_name=ti.name(),
        files=tuple(files),
        total_size=sum(size for _, size, _ in files),
        piece_size=ti.piece_length(),
        num_pieces=ti.num_pieces(),
        # num_files() counts the tail pad file a v2 single-file torrent may have.
        single_file=(not bound[1]) if bound is not None else len(files) == 1 and files[0][0] == ti.name(),
        # A trailing "/" on the pushed name marks a directory: a directory
        # holding one file must not land at dest as that file.
        wrapped=(bound is None and len(files) == 1 and files[0][0] == ti.name()
                 and comment.endswith("/")),
        tracker=trackers[0] if trackers else "",
        ssl=bool(ti.ssl_cert()),
        renames=tuple(renames),
    )


NAME_KEY = b"p2pdist-name"  # in the info dict: the pushed name, "/"-terminated for a directory
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


def _bound_name(info_section: bytes) -> tuple[str, bool] | None:
    """(pushed name, is a directory) of a name-bound torrent; None for other torrents."""
    import libtorrent as lt

    info: Any = lt.bdecode(info_section)
    raw = info.get(NAME_KEY) if isinstance(info, dict) else None
    if not isinstance(raw, bytes):
        return None
    text = raw.decode("utf-8", "replace")
    name = text.removesuffix("/")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidRequest(f"refused: torrent names its content {text!r}, not a plain name")
    return name, text.endswith("/")


NAME_TAG = "p2pdist-name:"


def raw_paths(torrent: bytes) -> list[list[str]]:
    """Every file path as the torrent spells it: its name, then each path below it.

    Read from the bencoded bytes themselves: libtorrent quietly turns ``..``
    into ``_`` and drops leading slashes, which would hide an attack.
    """
    try:
        top = bdecode(torrent)
    except BencodeError as exc:
        raise InvalidRequest(f"not a valid torrent: {exc}") from exc
    info = top.get(b"info") if isinstance(top, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get(b"name"), bytes):
        raise InvalidRequest("not a valid torrent: no info dictionary with a name")
    root = _text(info[b"name"])
    paths = [[root]]
    tree = info.get(b"file tree")
    if isinstance(tree, dict):
        paths += [[root, *p] for p in _tree_paths(tree, [], 0)]
    for entry in info.get(b"files") or []:  # v1 or hybrid layout
        path = entry.get(b"path") if isinstance(entry, dict) else None
        if not isinstance(path, list) or not all(isinstance(e, bytes) for e in path):
            raise InvalidRequest("not a valid torrent: a file entry without a path list")
        paths.append([root, *map(_text, path)])
    return paths


def _tree_paths(tree: dict[bytes, object], above: list[str], depth: int) -> list[list[str]]:
    out = []
    for key, sub in tree.items():
        if key == b"":  # the file's own entry (length, pieces root)
            out.append(above)
            continue
        if not isinstance(sub, dict) or depth > 32:
            raise InvalidRequest("not a valid torrent: malformed file tree")
        out += _tree_paths(sub, [*above, _text(key)], depth + 1)
    return [p for p in out if p]


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"refused: torrent path element {raw[:40]!r} is not UTF-8") from exc


def _content_name(comment: str, torrent_name: str) -> str:
    # A v2 torrent of a directory holding one file drops the directory name;
    # p2pdist keeps the pushed name in the comment to put it back.
    if comment.startswith(NAME_TAG):
        name = comment[len(NAME_TAG):].removesuffix("/")
        if name and "/" not in name and "\\" not in name and name not in (".", ".."):
            return name
    return torrent_name


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
    cmd = [sys.executable, "-m", "salt_p2pdist.torrent.metainfo", str(source), tracker]
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
