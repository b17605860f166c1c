"""Torrent metadata: read a p2pdist torrent into what p2pdist needs to know.

v2-only torrents are used: SHA-256 pieces, one info hash per swarm (hybrid
torrents announce twice), and per-file Merkle roots that let a host
recognise content it already has. They are made by
:mod:`salt_p2pdist.torrent.creation`; file names are checked on the raw
bytes (:mod:`salt_p2pdist.torrent.rawnames`) before libtorrent reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent.rawnames import raw_paths

NAME_KEY = b"p2pdist-name"  # in the info dict: the pushed name, "/"-terminated for a directory
NAME_TAG = "p2pdist-name:"  # in the comment: the pushed name, read when the info dict has no NAME_KEY


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


def swarm_ca(torrent: bytes) -> str:
    """The swarm CA (PEM) a closed-swarm torrent carries; "" for an open one."""
    import libtorrent as lt

    ti = lt.load_torrent_buffer(torrent).ti
    return str(ti.ssl_cert()) if ti is not None else ""


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



def _content_name(comment: str, torrent_name: str) -> str:
    # A v2 torrent of a directory holding one file drops the directory name;
    # p2pdist keeps the pushed name in the comment to put it back.
    if comment.startswith(NAME_TAG):
        name = comment[len(NAME_TAG):].removesuffix("/")
        if name and "/" not in name and "\\" not in name and name not in (".", ".."):
            return name
    return torrent_name
