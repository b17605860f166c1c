"""Files on the host, on the master and on minions: atomic writes, secret files, the audit log."""
