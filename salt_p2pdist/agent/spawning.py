"""Starting the agent detached from the Salt job, and on Windows from the minion's job object."""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
from typing import IO

log = logging.getLogger(__name__)
ERROR_ACCESS_DENIED = 5


def spawn_detached(cmd: list[str], out: IO[bytes]) -> None:
    """Start the agent so that it outlives the Salt job (and the minion process) that starts it.

    On Windows it also leaves the minion's job object when it may
    (CREATE_BREAKAWAY_FROM_JOB): a service manager that ends the minion by its
    job would otherwise end the agent with it, by TerminateProcess, before the
    agent could save anything; as on Linux, the agent survives a minion restart
    and stops cleanly at logoff, shutdown or when asked (winsession.py). A job
    that forbids leaving makes CreateProcess fail with ERROR_ACCESS_DENIED: the
    agent then starts inside it, as before.
    """
    popen = functools.partial(subprocess.Popen, cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                              close_fds=True)
    if sys.platform != "win32":
        popen(start_new_session=True)
        return
    detached = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    try:
        popen(creationflags=detached | subprocess.CREATE_BREAKAWAY_FROM_JOB)
    except OSError as exc:
        if getattr(exc, "winerror", None) != ERROR_ACCESS_DENIED:
            raise
        log.info("the minion's job object does not let the p2pdist agent leave it: started inside it")
        popen(creationflags=detached)
