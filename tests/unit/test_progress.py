"""Counters of long loops: a line at most once a second and one at the end, also when the total
is only known as the work goes (the Applications ApplicationSets generate)."""

from wavegate.progress import Counter


def test_a_known_total_says_the_last_step():
    lines: list[str] = []
    counter = Counter(lines.append, 3, "rendered", every=3600)
    for _ in range(3):
        counter.step()
    assert lines == ["rendered: 3/3"]


def test_a_growing_total_says_nothing_between_batches_and_the_end_once():
    lines: list[str] = []
    counter = Counter(lines.append, 0, "rendered", every=3600, growing=True)
    for batch in (2, 3):
        counter.grow(batch)
        for _ in range(batch):
            counter.step()
    assert lines == []  # (each batch ends with every step taken so far, and more may come)
    counter.finish()
    assert lines == ["rendered: 5/5"]


def test_a_growing_total_that_stayed_empty_says_nothing():
    lines: list[str] = []
    counter = Counter(lines.append, 0, "rendered", every=0, growing=True)
    counter.finish()
    assert lines == []
