"""Progress for people at a terminal: lines on stderr while long work runs (rendering many
Applications, the dry-run's steps, diff's two revisions), nothing when stderr is not a terminal,
so CI logs and redirected output stay clean."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    pass


def terminal_progress(stream=None) -> Progress:
    """Timestamped lines on `stream` (stderr) when it is a terminal; else `quiet`."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        return quiet
    started = time.monotonic()

    def show(message: str) -> None:
        stream.write(f"[{time.monotonic() - started:5.1f}s] {message}\n")
        stream.flush()

    return show


class Counter:
    """`done N/TOTAL what` through `progress`, at most once a second (and at the end), from any
    thread: for loops over many items of which each may be quick."""

    def __init__(self, progress: Progress, total: int, what: str, every: float = 1.0, growing: bool = False):
        """`growing`: the total is not known yet; grow() adds to it, and the last line waits for
        finish()."""
        self.progress, self.total, self.what, self.every = progress, total, what, every
        self.done = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.growing = growing

    def grow(self, more: int) -> None:
        with self.lock:
            self.total += more

    def finish(self) -> None:
        with self.lock:
            self.growing = False
            if self.progress is not quiet and self.done == self.total and self.total:
                self.progress(f"{self.what}: {self.done}/{self.total}")

    def step(self) -> None:
        if self.progress is quiet:
            return
        with self.lock:
            self.done += 1
            now = time.monotonic()
            if (self.done == self.total and not self.growing) or now - self.last >= self.every:
                self.last = now
                self.progress(f"{self.what}: {self.done}/{self.total}")
