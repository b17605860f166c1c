"""Helpers to run real p2pdist deployments on one machine (tests, demo, lab)."""
