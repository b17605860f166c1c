"""Waiting for libtorrent to confirm an asynchronous call.

libtorrent answers ``save_resume_data`` and ``remove_torrent`` with an alert
on the alert thread; the caller blocks until ``notify`` hands it over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from salt_p2pdist.core.errors import P2PDistError


class AlertWaiters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], tuple[threading.Event, list[Any]]] = {}

    def wait(self, dist_id: str, kind: str, action: Callable[[], object], timeout: float = 60) -> Any:
        """Run ``action``, then wait for the ``kind`` alert of ``dist_id``; its value."""
        event, box = threading.Event(), list[Any]()
        with self._lock:
            self._waiting[(dist_id, kind)] = (event, box)
        action()
        if not event.wait(timeout):
            with self._lock:
                if self._waiting.get((dist_id, kind), (None,))[0] is event:
                    del self._waiting[(dist_id, kind)]
            raise P2PDistError(f"libtorrent did not confirm {kind} of {dist_id}")
        return box[0] if box else None

    def notify(self, dist_id: str, kind: str, value: Any = None) -> None:
        """Alert thread: hand ``value`` to whoever waits for it (nobody, often)."""
        with self._lock:
            waiter = self._waiting.pop((dist_id, kind), None)
        if waiter:
            waiter[1].append(value)
            waiter[0].set()
