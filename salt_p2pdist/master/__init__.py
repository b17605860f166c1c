"""The master's side, run inside salt-master by the runner and the returner."""
