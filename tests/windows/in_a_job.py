"""Windows side: start the agent from inside a job object, as a service manager may run the minion.

``python in_a_job.py breakaway-ok|no-breakaway STATE_DIR HOST_ID ARGS_JSON``: this process
joins a new job that ends every process in it when its last handle closes
(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), with or without JOB_OBJECT_LIMIT_BREAKAWAY_OK,
starts the agent as the Salt module does (AgentClient.ensure), prints its pid and exits:
the job, and whatever is still in it, ends with this process.
"""

from __future__ import annotations

import ctypes
import json
import sys
from ctypes import wintypes
from pathlib import Path

from salt_p2pdist.agent.client import AgentClient

KILL_ON_JOB_CLOSE, BREAKAWAY_OK = 0x2000, 0x0800
EXTENDED_LIMIT_INFORMATION = 9  # JobObjectExtendedLimitInformation


class BasicLimits(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD)]


class ExtendedLimits(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", ctypes.c_ulonglong * 6),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


def join_job(breakaway_ok: bool) -> None:
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                                 wintypes.DWORD]
    kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    job = kernel32.CreateJobObjectW(None, None)
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = KILL_ON_JOB_CLOSE | (BREAKAWAY_OK if breakaway_ok else 0)
    if not (job and kernel32.SetInformationJobObject(job, EXTENDED_LIMIT_INFORMATION, ctypes.byref(limits),
                                                     ctypes.sizeof(limits))
            and kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess())):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]


if __name__ == "__main__":
    mode, state_dir, host_id, args = sys.argv[1:5]
    join_job(mode == "breakaway-ok")
    endpoint = AgentClient(Path(state_dir), host_id, json.loads(args)).ensure()
    print(json.dumps({"pid": endpoint["pid"]}), flush=True)
