"""Drawing a progress board on stderr: redrawn in place on a terminal, plain lines otherwise.

stdout is kept for the one final document (``--out json`` must parse), so the
live board goes to stderr. When stderr is not a terminal (a pipe, a CI log) the
board is printed as plain lines, at most every ``plain_every`` seconds and when
the state changes, so a log does not fill with redraws.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

CLEAR_LINE = "\x1b[2K"
CLEAR_BELOW = "\x1b[J"


class Painter:
    def __init__(self, stream: TextIO | None = None, plain_every: float = 10.0):
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False
        self.plain_every = plain_every
        self._drawn = 0  # lines of the last live drawing, to move back over
        self._last_plain = -1e9
        self._last_head = ""

    def draw(self, lines: list[str], final: bool = False) -> None:
        try:
            if self.live:
                self._redraw(lines)
            elif final or lines[0] != self._last_head or \
                    time.monotonic() - self._last_plain >= self.plain_every:
                self.stream.write("\n".join(lines) + "\n")
                self._last_plain, self._last_head = time.monotonic(), lines[0]
            self.stream.flush()
        except (OSError, ValueError):  # a closed stderr must not break the command
            pass

    def _redraw(self, lines: list[str]) -> None:
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(up + "".join(f"{CLEAR_LINE}{line}\n" for line in lines))
        # A board that shrank leaves old lines below: clear them.
        for _ in range(self._drawn - len(lines)):
            self.stream.write(CLEAR_LINE + "\n")
        if self._drawn > len(lines):
            self.stream.write(f"\x1b[{self._drawn - len(lines)}F")
        self._drawn = len(lines)

    def note(self, text: str) -> None:
        """A one-off message (what the command waits for); it stays above the board.

        On a terminal it replaces the lines drawn last (a waiting line that is over).
        """
        try:
            up = f"\x1b[{self._drawn}F{CLEAR_BELOW}" if self.live and self._drawn else ""
            self.stream.write(up + text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self._drawn = 0
