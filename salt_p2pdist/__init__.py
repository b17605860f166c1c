"""p2pdist: peer-to-peer file distribution for Salt, built on libtorrent.

The package is the pure core (topology, hand-out, policy, lifecycle) plus the
adapters that bind it to libtorrent, SQLite and HTTP. The Salt loader modules
in ``_modules``, ``_states``, ``_runners`` and ``_returners`` are thin shells
around it.
"""

__version__ = "0.1.0"
