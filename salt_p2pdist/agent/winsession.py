"""A clean stop when Windows ends the session or a service manager closes the agent.

The agent runs detached (``DETACHED_PROCESS``, agent/client.py): it has no
console, so it gets no console control events at logoff or shutdown. What
Windows does send, to every process that owns a top-level window:

- at logoff and shutdown, ``WM_QUERYENDSESSION`` and then ``WM_ENDSESSION``
  (wParam TRUE: the session really ends). The process may be ended as soon as
  its window procedure returns from ``WM_ENDSESSION``;
- at a service stop, ``WM_CLOSE`` from service managers such as NSSM (which
  Salt's Windows installer uses) before they call ``TerminateProcess``.

So on Windows the agent owns a hidden top-level window (not a message-only
``HWND_MESSAGE`` window: those get no broadcasts) whose message loop runs in a
daemon thread. ``WM_ENDSESSION`` (TRUE) and ``WM_CLOSE`` run the same stop as
``POST /v1/shutdown`` and return only once it is done (resume data saved, the
clean-stop marker written); ``WM_QUERYENDSESSION`` answers TRUE: the agent
never holds up a logoff. On other systems :func:`watch` does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
WM_CLOSE = 0x0010
WM_QUERYENDSESSION = 0x0011
WM_ENDSESSION = 0x0016
WINDOW_CLASS = "p2pdist.agent"


def window_title(pid: int) -> str:
    """The hidden window's title: a tool (or a test) finds one agent's window by its pid."""
    return f"p2pdist agent {pid}"


def answer(msg: int, wparam: int, stop: Callable[[], None]) -> int | None:
    """The window procedure's answer to ``msg``, or None: leave it to DefWindowProc.

    ``stop`` runs the clean stop and returns when it is done (or has given up).
    """
    if msg == WM_QUERYENDSESSION:
        return 1  # TRUE: the session may end; we stop when it does
    if msg == WM_ENDSESSION:
        if wparam:  # FALSE: another program cancelled the logoff, the agent goes on
            log.info("Windows is ending the session: stopping cleanly")
            stop()
        return 0
    if msg == WM_CLOSE:  # DefWindowProc would only destroy the window: stop the agent instead
        log.info("asked to close (WM_CLOSE, e.g. a service stop): stopping cleanly")
        stop()
        return 0
    return None


def watch(stop: Callable[[], None]) -> bool:
    """Open the hidden window (Windows only); True when its message loop runs.

    A window that cannot be created is logged, not fatal: the agent then stops
    cleanly only through its API, as before.
    """
    if sys.platform == "win32":
        return _open_window(stop)
    return False


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _LRESULT = ctypes.c_ssize_t
    _WNDPROC = ctypes.WINFUNCTYPE(_LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)

    class _WNDCLASSW(ctypes.Structure):
        _fields_ = [("style", wintypes.UINT), ("lpfnWndProc", _WNDPROC), ("cbClsExtra", ctypes.c_int),
                    ("cbWndExtra", ctypes.c_int), ("hInstance", wintypes.HINSTANCE),
                    ("hIcon", wintypes.HICON), ("hCursor", wintypes.HANDLE),
                    ("hbrBackground", wintypes.HBRUSH), ("lpszMenuName", wintypes.LPCWSTR),
                    ("lpszClassName", wintypes.LPCWSTR)]

    def _user32() -> ctypes.WinDLL:
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        user32.DefWindowProcW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
        user32.DefWindowProcW.restype = _LRESULT
        user32.RegisterClassW.argtypes = [ctypes.POINTER(_WNDCLASSW)]
        user32.RegisterClassW.restype = wintypes.ATOM
        user32.CreateWindowExW.argtypes = [
            wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, wintypes.HWND, wintypes.HMENU, wintypes.HINSTANCE, wintypes.LPVOID]
        user32.CreateWindowExW.restype = wintypes.HWND
        user32.GetMessageW.argtypes = [ctypes.POINTER(wintypes.MSG), wintypes.HWND, wintypes.UINT,
                                       wintypes.UINT]
        user32.GetMessageW.restype = wintypes.BOOL
        user32.DispatchMessageW.argtypes = [ctypes.POINTER(wintypes.MSG)]
        user32.DispatchMessageW.restype = _LRESULT
        return user32

    def _open_window(stop: Callable[[], None]) -> bool:
        opened = threading.Event()
        created: list[bool] = []

        def on_open() -> None:
            created.append(True)
            opened.set()

        def run() -> None:
            try:
                _window_loop(stop, on_open)
            except OSError as exc:
                log.warning("no window for Windows' end-of-session messages: %s", exc)
            finally:
                opened.set()

        threading.Thread(target=run, name="winsession", daemon=True).start()
        opened.wait(10)
        return bool(created)

    def _window_loop(stop: Callable[[], None], on_open: Callable[[], None]) -> None:
        """Create the window in this thread (its messages come to the thread that made it), then loop."""
        user32 = _user32()
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.GetModuleHandleW.argtypes = [wintypes.LPCWSTR]
        kernel32.GetModuleHandleW.restype = wintypes.HMODULE

        def procedure(hwnd: int | None, msg: int, wparam: int, lparam: int) -> int:
            try:
                result = answer(msg, wparam, stop)
            except Exception:  # an exception must not cross into Windows' code
                log.exception("handling window message %#x", msg)
                result = 0
            return user32.DefWindowProcW(hwnd, msg, wparam, lparam) if result is None else result

        wndproc = _WNDPROC(procedure)  # kept referenced for the loop's life: Windows calls it
        wc = _WNDCLASSW(lpfnWndProc=wndproc, hInstance=kernel32.GetModuleHandleW(None),
                        lpszClassName=WINDOW_CLASS)
        if not user32.RegisterClassW(ctypes.byref(wc)):
            raise ctypes.WinError(ctypes.get_last_error())
        # Style 0 and no WS_VISIBLE: a top-level window nobody sees, which broadcasts still reach.
        hwnd = user32.CreateWindowExW(0, WINDOW_CLASS, window_title(os.getpid()), 0, 0, 0, 0, 0,
                                      None, None, wc.hInstance, None)
        if not hwnd:
            raise ctypes.WinError(ctypes.get_last_error())
        on_open()
        log.info("listening for Windows' end-of-session and close messages")
        msg = wintypes.MSG()
        while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
            user32.DispatchMessageW(ctypes.byref(msg))
