"""One exception tree for p2pdist.

Loader modules translate these into Salt's way of failing (a runner's error
dict, a state's ``result: False``). Every message tells the admin what to do.
The caller's fault (:class:`InvalidRequest`) is kept apart from the
environment's (:class:`AgentUnavailable`, :class:`TransferError`).
"""


class P2PDistError(Exception):
    """Base of every error p2pdist raises on purpose."""


class InvalidRequest(P2PDistError):
    """The admin asked for something that cannot be done as asked."""


class NotFound(InvalidRequest):
    """A distribution id, path or target that does not exist."""


class Forbidden(InvalidRequest):
    """The admin may not do this (p2pdist:admins); the message says what they may do."""


class Conflict(InvalidRequest):
    """An unrelated file is in the way at the destination."""


class NoSpace(InvalidRequest):
    """The host lacks the disk space an order needs; refused before anything is written."""


class AgentUnavailable(P2PDistError):
    """The minion's (or master's) p2pdist agent cannot be reached or started."""


class TransferError(P2PDistError):
    """A transfer failed on the minion (disk, verification, storage)."""
