"""Getting and applying this host's certificate for each closed swarm.

A fetching host asks the master's tracker (``POST /cert``, over TLS checked
against the torrent's swarm CA) for a certificate for its own TLS key,
signing the request with its Salt key. Until it has one it does not
announce: the tracker would refuse it. libtorrent shows the certificate to
the (https) tracker with each announce, which is how the tracker knows the
host. The certificate is kept in the order record, so a restart needs no new
request (libtorrent does not persist certificates).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.torrent import swarmca

log = logging.getLogger(__name__)
RETRY_S = 10.0


def announce_url(tracker: str, host_id: str) -> str:
    sep = "&" if "?" in tracker else "?"
    return f"{tracker}{sep}minion={host_id}"


def cert_url(tracker: str) -> str:
    parts = urlsplit(tracker)
    return f"{parts.scheme}://{parts.netloc}/cert"


class Certifier:
    def __init__(self, state_dir: Path, host_id: str, salt_key: Path | None):
        self.key = swarmca.host_key(state_dir / "tls.key")
        self.host_id = host_id
        self.salt_key = salt_key

    def apply(self, transfer: Transfer) -> bool:
        """Hand libtorrent the certificate if the record has one (or none is needed)."""
        if not transfer.meta.ssl:
            return True
        cert = transfer.record.tls_cert
        if not cert:
            return False
        # No DH parameters: peers use ECDHE; libtorrent's complaint about it is ignored.
        transfer.handle.set_ssl_certificate_buffer(cert, self.key.decode(), "")
        return True

    def request(self, transfer: Transfer) -> dict[str, Any]:
        """Ask the tracker; the answer has ``cert``. Raises OSError or ValueError."""
        if self.salt_key is None:
            raise ValueError("no Salt key configured to sign certificate requests")
        when = int(time.time())
        payload = swarmca.request_payload(transfer.meta.info_hash, self.host_id,
                                          swarmca.public_pem(self.key), when)
        body = json.dumps({"info_hash": transfer.meta.info_hash, "minion": self.host_id,
                           "time": when, "tls_key": swarmca.public_pem(self.key).decode(),
                           "signature": swarmca.sign(self.salt_key, payload)}).encode()
        url = cert_url(transfer.record.tracker)
        ctx = mastertls.client_context(mastertls.swarm_ca(transfer)) if url.startswith("https:") else None
        return dict(mastertls.call(url, ctx, data=body, timeout=15))

    def obtain(self, transfer: Transfer, on_ready: Callable[[Transfer, str], None],
               on_refused: Callable[[Transfer, str], None],
               active: Callable[[Transfer], bool], stop: threading.Event) -> None:
        """Thread body: ask until certified (or the transfer is gone), then ``on_ready``
        with the certificate; ``on_refused`` with the reason each time it is refused."""
        while not stop.is_set() and active(transfer):
            try:
                answer = self.request(transfer)
            except OSError as exc:  # the master is unreachable for now: not a failure
                log.warning("%s: no certificate from the master yet: %s", transfer.dist_id, exc)
            except mastertls.UntrustedTracker as exc:  # not our master: nothing was sent
                log.warning("%s: no certificate: %s", transfer.dist_id, exc)
                on_refused(transfer, f"no certificate: {exc}")
            except ValueError as exc:  # the master said no: shown in status, asked again
                log.warning("%s: the master refused a certificate: %s", transfer.dist_id, exc)
                on_refused(transfer, f"the master refused a certificate: {exc}")
            else:
                on_ready(transfer, str(answer["cert"]))
                return
            stop.wait(RETRY_S)
