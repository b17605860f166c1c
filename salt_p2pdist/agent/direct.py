"""HTTP requests that never go through a proxy.

``urllib.request.urlopen`` takes proxies from the environment (``http_proxy``)
and, on Windows, from the registry, where the ``<local>`` bypass does not
cover ``127.0.0.1``: a call to the agent's loopback API would then go to the
proxy, which cannot reach it (or, worse, sees the token). The agent's calls to
the master's tracker go direct too, as libtorrent's own announces do.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any


def urlopen(req: urllib.request.Request, *, timeout: float, context: ssl.SSLContext | None = None) -> Any:
    """``urllib.request.urlopen`` with an empty proxy table."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers).open(req, timeout=timeout)
