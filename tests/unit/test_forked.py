"""wavegate.forked: tickets shared with forked children, and the children's results."""

from __future__ import annotations

import marshal
import os
import time

import pytest

from wavegate.forked import Child, Tickets


def _taking(tickets: Tickets, pause: float):
    def work() -> bytes:
        taken = []
        for ticket in tickets:
            taken.append(ticket)
            time.sleep(pause)
        return marshal.dumps(taken)

    return work


def test_every_ticket_is_taken_once_by_one_of_the_processes():
    tickets = Tickets(300)
    children = [Child.fork(_taking(tickets, 0.001)) for _ in range(2)]
    mine = []
    for ticket in tickets:
        mine.append(ticket)
        time.sleep(0.001)
    theirs = [marshal.loads(child.result()) for child in children]
    tickets.close()
    assert all(theirs) and mine  # (each process took a share)
    taken = mine + theirs[0] + theirs[1]
    assert sorted(taken) == list(range(300))
    assert mine == sorted(mine)  # (each process takes them in order)


def test_stop_leaves_the_others_nothing_more_to_take():
    tickets = Tickets(5000)
    child = Child.fork(_taking(tickets, 0.002))
    time.sleep(0.05)
    tickets.stop()
    taken = marshal.loads(child.result())
    assert 0 < len(taken) < 5000
    assert list(tickets) == []
    tickets.close()


def test_no_tickets_and_too_many():
    assert list(Tickets(0)) == []
    with pytest.raises(ValueError, match="8193 tickets"):
        Tickets(Tickets.LIMIT + 1)
    assert len(list(Tickets(Tickets.LIMIT))) == Tickets.LIMIT


def test_a_child_that_fails_gives_none_and_nothing_is_left_behind():
    def fails() -> bytes:
        raise RuntimeError("broken")

    child = Child.fork(fails)
    assert child.result() is None
    with pytest.raises(ChildProcessError):  # (reaped: no zombie is left)
        os.waitpid(child.pid, os.WNOHANG)
    assert Child.fork(lambda: b"").result() == b""


def test_a_child_stopped_early_is_ended_and_reaped():
    child = Child.fork(lambda: time.sleep(60) or b"late")
    started = time.perf_counter()
    child.stop()
    assert time.perf_counter() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
    child.stop()  # (twice is harmless)


def test_left_counts_the_tickets_nobody_took():
    tickets = Tickets(10)
    assert tickets.left() == 10
    taken = iter(tickets)
    next(taken), next(taken), next(taken)
    assert tickets.left() == 7
    child = Child.fork(_taking(tickets, 0))
    assert sorted(marshal.loads(child.result())) == list(range(3, 10))
    assert tickets.left() == 0
    tickets.close()
    assert tickets.left() == 0


def test_a_whole_result_is_taken_without_waiting_for_the_child_to_exit(monkeypatch):
    from wavegate import forked

    real_exit = os._exit
    monkeypatch.setattr(os, "_exit", lambda status: time.sleep(0.5) or real_exit(status))  # (in the child)
    child = Child.fork(lambda: b"done")
    monkeypatch.undo()
    assert child.result() == b"done"
    assert os.waitpid(child.pid, os.WNOHANG) == (0, 0)  # (still exiting)
    assert child.pid in forked._exiting
    time.sleep(1.5)
    assert Child.fork(lambda: b"").result() == b""  # (a later child reaps the one that exited meanwhile)
    assert child.pid not in forked._exiting
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_a_result_cut_short_is_none(monkeypatch):
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: _CutShort(fd))
    child = Child.fork(lambda: b"x" * 100)
    monkeypatch.undo()
    assert child.result() is None  # (20 of the 108 bytes it would have sent)
    with pytest.raises(ChildProcessError):  # (reaped: it failed, so it was waited for)
        os.waitpid(child.pid, os.WNOHANG)


class _CutShort:
    """A pipe's writing end that sends only the first 20 bytes of what it is given."""

    def __init__(self, fd: int):
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data[:20])


def test_messages_arrive_while_the_child_works_and_after_it_ends():
    go_on = Tickets(1)  # (the child waits for this ticket to be left: the parent takes it to let it end)

    def work(send) -> None:
        send(b"first")
        send(b"x" * 300_000)  # (larger than a pipe holds by default)
        while go_on.left():
            time.sleep(0.01)
        send(b"last")

    child = Child.fork_sending(work)
    arrived: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(arrived) < 2 and time.monotonic() < deadline:
        arrived += child.messages()
    assert arrived == [b"first", b"x" * 300_000]  # (while the child still works)
    assert list(go_on) == [0]
    assert child.messages(wait=True) == [b"last"]
    assert child.messages(wait=True) == []  # (it ended: nothing more)
    go_on.close()


def test_the_whole_messages_of_a_child_that_dies_are_kept():
    def work(send) -> None:
        send(b"one")
        send(b"two")
        os.kill(os.getpid(), 9)

    from wavegate import forked

    child = Child.fork_sending(work)
    assert child.messages(wait=True) == [b"one", b"two"]
    forked.reap_all()
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_reap_all_waits_for_every_child_still_exiting(monkeypatch):
    from wavegate import forked

    real_exit = os._exit
    monkeypatch.setattr(os, "_exit", lambda status: time.sleep(0.3) or real_exit(status))  # (in the children)
    children = [Child.fork(lambda: b"done") for _ in range(2)]
    monkeypatch.undo()
    assert [child.result() for child in children] == [b"done", b"done"]
    assert {child.pid for child in children} <= forked._exiting
    forked.reap_all()
    assert not forked._exiting
    for child in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(child.pid, os.WNOHANG)
