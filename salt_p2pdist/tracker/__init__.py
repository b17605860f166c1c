"""The swarm tracker, run by the origin agent on the tracker host (the master)."""
