"""Work shared with forked child processes: the next piece for whichever process is free, and each
child's result sent back as bytes.

    tickets = Tickets(len(pieces))                     # before the fork
    child = Child.fork(lambda: marshal.dumps([(i, work(i)) for i in tickets]))
    mine = [(i, work(i)) for i in tickets]             # this process takes pieces too
    theirs = child.result() if child else None         # the child's bytes; None when it failed

The multiprocessing package does the same with more: importing it and concurrent.futures, and
making a shared counter, took about 20 ms of every run large enough to use workers, and a
ProcessPoolExecutor's round trip 4 ms more than a bare fork (measured on 2 CPUs).
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Iterator

_TICKET = 2  # bytes: a read of this many from a pipe is atomic, so no two processes take one ticket


class Tickets:
    """The numbers 0 to count - 1, each taken by exactly one of the processes that share it: this
    one and the children it forks afterwards. They wait in a pipe, all written before any child
    starts, and the pipe has no writer after that: a process that finds it empty stops."""

    LIMIT = 8192  # (16 KiB of tickets: what any pipe holds with nobody reading)

    def __init__(self, count: int):
        if not 0 <= count <= self.LIMIT:
            raise ValueError(f"{count} tickets: between 0 and {self.LIMIT}")
        self.count = count
        self._reader, writer = os.pipe()
        written = 0
        try:
            os.set_blocking(writer, False)  # (a pipe may hold less: then this fails, it never waits)
            written = os.write(writer, array("H", range(count)).tobytes()) if count else 0
        except BlockingIOError:
            pass
        finally:
            os.close(writer)
        if written != count * _TICKET:
            self.close()
            raise OSError(f"a pipe took {written} of the {count * _TICKET} bytes of {count} tickets")

    def __iter__(self) -> Iterator[int]:
        """The tickets this process takes, one at a time, until none is left."""
        while len(ticket := os.read(self._reader, _TICKET)) == _TICKET:
            yield int.from_bytes(ticket, sys.byteorder)

    def left(self) -> int:
        """How many tickets no process has taken yet (where the system cannot say: `count`, as if none had been)."""
        if self._reader < 0:
            return 0
        try:
            import fcntl
            import termios

            waiting = array("i", [0])
            fcntl.ioctl(self._reader, termios.FIONREAD, waiting, True)
        except (ImportError, OSError):
            return self.count
        return waiting[0] // _TICKET

    def stop(self) -> None:
        """Take every ticket not yet taken: the other processes stop after the piece at hand."""
        while os.read(self._reader, 1 << 16):  # (no read waits: the pipe has no writer left)
            pass

    def close(self) -> None:
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1


# Children that sent their whole result and were still exiting when it was read (their exit, the
# freeing of a copy of this process's memory, took 5-6 ms at 10,000 manifests): reaped later.
_exiting: set[int] = set()


def _reap_exited() -> None:
    for pid in list(_exiting):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # (reaped by someone else)
            done = pid
        if done:
            _exiting.discard(pid)


def reap_all() -> None:
    """Wait for every child still exiting (before this process ends: the time they used is then
    counted as this process's children's, as a caller measuring it expects)."""
    for pid in list(_exiting):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        _exiting.discard(pid)


class Child:
    """A forked process working out bytes for this one, as one result (fork, result) or as messages
    sent while it works (fork_sending, messages). Each goes with its length, so a message is known
    whole without waiting for the process to exit."""

    def __init__(self, pid: int, reader: int):
        self.pid, self._reader = pid, reader
        self._buffer = bytearray()  # (what was read of a message not yet whole)
        self._sent_any = False  # (a whole message came before the last read)

    @classmethod
    def fork(cls, work: Callable[[], bytes]) -> Child | None:
        """Run `work` in a forked copy of this process. None where there is no fork (or it failed):
        the caller does the work itself."""
        return cls.fork_sending(lambda send: send(work()))

    @classmethod
    def fork_sending(cls, work: Callable[[Callable[[bytes], None]], None]) -> Child | None:
        """Run `work(send)` in a forked copy of this process; each `send(message)` reaches this
        one as a message (messages). None where there is no fork (or it failed)."""
        if not hasattr(os, "fork"):
            return None
        _reap_exited()
        reader, writer = os.pipe()
        _widen(writer)
        try:
            pid = os.fork()
        except OSError:
            os.close(reader)
            os.close(writer)
            return None
        if pid == 0:
            status = 1
            try:
                os.close(reader)
                with os.fdopen(writer, "wb") as pipe:
                    def send(message: bytes) -> None:
                        pipe.write(len(message).to_bytes(8, "little"))
                        pipe.write(message)
                        pipe.flush()

                    work(send)
                status = 0
            finally:
                os._exit(status)  # (never back into the caller's code, nor its exit handlers: they are the parent's)
        os.close(writer)
        return cls(pid, reader)

    def result(self) -> bytes | None:
        """What `work` of fork worked out, once the child has sent all of it; None when it failed."""
        messages, whole = self._read(wait=True)
        return messages[0] if whole and len(messages) == 1 else None

    def messages(self, wait: bool = False) -> list[bytes]:
        """The messages of fork_sending's child that arrived whole since the last call: those already
        here, or (`wait`) every one until it ends. After it ends, no more."""
        return self._read(wait)[0]

    def _read(self, wait: bool) -> tuple[list[bytes], bool]:
        """(whole messages read now, whether the child's output ended after a whole message)."""
        if self._reader < 0:
            return [], False
        os.set_blocking(self._reader, wait)
        ended = False
        while True:
            try:
                chunk = os.read(self._reader, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                ended = True
                os.close(self._reader)
                self._reader = -1
                break
            self._buffer += chunk
        messages: list[bytes] = []
        buffer, start = self._buffer, 0
        while len(buffer) - start >= 8:
            size = int.from_bytes(buffer[start:start + 8], "little")
            if len(buffer) - start - 8 < size:
                break
            messages.append(bytes(buffer[start + 8:start + 8 + size]))
            start += 8 + size
        del buffer[:start]
        whole = ended and not buffer
        self._sent_any = self._sent_any or bool(messages)
        if ended:
            if whole and self._sent_any:  # (it sent all it had; its exit, which may take a while, is waited for later)
                _exiting.add(self.pid)
                _reap_exited()
            else:
                os.waitpid(self.pid, 0)
        return messages, whole

    def stop(self) -> None:
        """End the child now and wait for it (this process is leaving on an error)."""
        if self._reader < 0:
            return
        import signal

        os.close(self._reader)
        self._reader = -1
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def _widen(writer: int) -> None:
    """Let the pipe hold a megabyte where the system allows (Linux: 64 KiB otherwise), so that a
    child sending as it works rarely waits for this process to read."""
    try:
        import fcntl

        fcntl.fcntl(writer, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass
