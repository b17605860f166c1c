"""The pure core: lifecycle, topology, policy, status, reports, names, config.

No Salt, libtorrent, network or file I/O here (tests/unit/test_layers.py
checks it): plain data in, plain data out, on every host.
"""
