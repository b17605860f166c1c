"""The p2pdist agent: one long-lived libtorrent session per host.

The agent is a small daemon the Salt minion (or master) starts and supervises.
It holds the session, keeps seeding after a download completes, saves resume
data, and answers the thin Salt modules over a loopback HTTP API.
"""
