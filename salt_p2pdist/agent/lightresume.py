"""Resume data the agent writes itself: the pieces held and the byte counts, no hash trees.

libtorrent's own resume data of a v2 torrent carries every verified 16 KiB
block hash: 8 MiB for a 4 GiB file. Saving it, reading it back and adding
the torrent again copied that several times at once (measured: +30 MB
resident for a moment at each save and at each finish), and a torrent added
from it holds the whole tree for as long as it seeds.

The pieces a transfer holds were verified against the torrent's piece layer,
which the order record keeps, so their list is all a seed needs: libtorrent
serves them without hashing again. What it lacks is the block hashes a
downloader may ask for to name the bad block of a piece that failed its
hash. Measured with libtorrent 2.1 (tests/unit/test_light_resume.py): a
fetcher whose only good source is such a seed, beside a corrupt peer mixing
its blocks into the same pieces, still ends with a good copy and bans the
corrupt peer. It may ban the honest seed too, but it did so as often when
that seed held its block hashes (docs/security.md).

A download stopped cleanly keeps libtorrent's own resume data (resuming.py):
it also lists the blocks of pieces not yet complete, which would otherwise
cross the WAN again after the restart.
"""

from __future__ import annotations

from typing import Any

import libtorrent as lt

from salt_p2pdist.agent.transfer import Transfer, downloaded


def light_resume(transfer: Transfer) -> bytes:
    """Resume data of ``transfer`` as it stands, its download count kept across re-adds."""
    st = transfer.handle.status(lt.status_flags_t.query_pieces)
    return pieces_resume(transfer.handle, st, transfer.record.save_path, downloaded(transfer, st))


def pieces_resume(handle: Any, st: Any, save_path: str, total_downloaded: int) -> bytes:
    """The pieces ``st`` (a status with its pieces) says ``handle`` holds, and its byte counts;
    no info dict (the order record has the torrent: adding.py puts it back)."""
    atp: Any = lt.add_torrent_params()
    atp.info_hashes = handle.info_hashes()
    atp.save_path = save_path
    atp.have_pieces = list(st.pieces)
    atp.total_downloaded = total_downloaded
    atp.total_uploaded = int(st.all_time_upload)
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    return bytes(lt.write_resume_data_buf(atp))
