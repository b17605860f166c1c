"""Asking the master's tracker (``/cert``, ``/wan``) over HTTPS, trusting only the swarm CA.

Every closed-swarm torrent carries the master's swarm CA (``ssl-cert`` in its
info dict, under the master's signature), so the agent checks the tracker's
certificate against it and against the tracker URL's host: whoever answers
for the master without the master's CA is refused. For ``/wan`` the agent also
shows its own certificate for the swarm: that is how the tracker knows who
asks. A tracker URL with plain ``http`` (a master without a swarm CA) is
asked in the clear.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from salt_p2pdist.agent import direct
from salt_p2pdist.agent.transfer import Transfer


class UntrustedTracker(ValueError):
    """The tracker's certificate is not from this distribution's swarm CA (or not for its host)."""


def swarm_ca(transfer: Transfer) -> str:
    """The CA the torrent names, PEM ("" for an open torrent)."""
    info = transfer.handle.torrent_file()
    return str(info.ssl_cert()) if info is not None else ""


def client_context(ca_pem: str, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """Verifies the server against ``ca_pem`` only; ``client`` (cert, key files) is shown if given."""
    if not ca_pem:
        raise UntrustedTracker("the torrent carries no swarm CA to check the tracker's certificate with")
    ctx = ssl.create_default_context(cadata=ca_pem)  # no system CAs; host name checked
    if client is not None:
        ctx.load_cert_chain(*client)
    return ctx


def call(url: str, ctx: ssl.SSLContext | None, *, data: bytes | None = None, timeout: float) -> Any:
    """The tracker's JSON answer.

    Raises UntrustedTracker (a ValueError) for a certificate that does not
    check out, ValueError with the tracker's reason for a refusal, and
    OSError while the tracker cannot be reached.
    """
    https = urlsplit(url).scheme == "https"
    if https and ctx is None:
        raise UntrustedTracker(f"no swarm CA to check {url} with")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with direct.urlopen(req, timeout=timeout, context=ctx if https else None) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(json.loads(exc.read() or b"{}").get("error", str(exc))) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            raise UntrustedTracker(f"refusing {urlsplit(url).netloc}: its certificate is not from "
                                   f"this master's swarm CA ({exc.reason.verify_message})") from exc
        raise
