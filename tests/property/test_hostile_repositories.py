"""Property tests: the loader and the whole `validate` command on generated hostile repositories.

Whatever the repository holds (odd bytes, odd YAML, pipes, link loops, unreadable folders, odd
names, odd Kubernetes objects, odd configurations), wavegate answers within seconds with exit
0, 1 or 2 as its contract says, and never with a traceback or an internal error.

CI runs a fixed, small number of examples with a fixed seed. To hunt for more, set
WAVEGATE_PROPERTY_EXAMPLES (see CONTRIBUTING.md): the examples are then random and many.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.property import hostile

HUNT = int(os.environ.get("WAVEGATE_PROPERTY_EXAMPLES", "0") or 0)
# Seconds one example may take: far above the usual fraction of a second (a loaded two-core CI
# machine included), far below "hangs".
ANSWER_WITHIN = float(os.environ.get("WAVEGATE_PROPERTY_SECONDS", "20"))


def budget(ci_examples: int):
    """Hypothesis settings: `ci_examples` derandomized examples in CI, WAVEGATE_PROPERTY_EXAMPLES random ones when hunting."""
    return settings(max_examples=HUNT or ci_examples, derandomize=not HUNT, deadline=None, database=None,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                            HealthCheck.large_base_example])


class NoAnswer(BaseException):
    """Interrupts an example that takes too long: a BaseException, so that no `except Exception` on
    the way turns it into a finding or a fallback; `answer_within` makes it a test failure."""


@contextmanager
def answer_within(seconds: float):
    def stop(signum, frame):
        raise NoAnswer

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except NoAnswer:
        raise AssertionError(f"no answer within {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def repository(entries, config=None):
    root = Path(tempfile.mkdtemp(prefix="wavegate-hostile-"))
    try:
        hostile.write(root / "repo", entries, config)
        (root / "repo").mkdir(exist_ok=True)
        yield root / "repo"
    finally:
        hostile.make_removable(root)
        shutil.rmtree(root, ignore_errors=True)


@budget(ci_examples=60)
@given(entries=hostile.repositories)
def test_the_loader_turns_any_repository_into_manifests_and_findings(entries):
    from wavegate.load import load
    from wavegate.rules import REGISTRY

    with repository(entries) as root, answer_within(ANSWER_WITHIN):
        repo = load(root)
    for problem in repo.problems:
        assert problem.rule in REGISTRY, problem
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.path in repo.files, (problem.path, repo.files)
    for manifest in repo.manifests + repo.untyped:
        assert isinstance(manifest.data, dict) and manifest.path in repo.files
        line, column = manifest.position(("metadata", "name"))
        assert line >= 1 and column >= 1


@budget(ci_examples=25)
@given(entries=hostile.repositories, config=hostile.config_text())
def test_validate_answers_any_repository_by_its_contract(entries, config):
    from wavegate import cli

    out, err = io.StringIO(), io.StringIO()
    with repository(entries, config) as root:
        started = time.perf_counter()
        try:
            with answer_within(ANSWER_WITHIN), redirect_stdout(out), redirect_stderr(err):
                code = cli.main(["validate", str(root), "--format", "json"])
        finally:
            gc.unfreeze()  # build_context freezes the repository for the life of a process: not of a test
        seconds = time.perf_counter() - started
    stdout, stderr = out.getvalue(), err.getvalue()
    assert "Traceback" not in stdout + stderr and "internal error" not in stderr, stderr
    assert code in (0, 1, 2), (code, stderr)
    if code == 2:  # a usage or configuration error: one line saying what to do
        assert stdout == "" and stderr.startswith("wavegate: ") and stderr.count("\n") == 1, stderr
        return
    report = json.loads(stdout)
    findings = report["findings"]
    assert [f for f in findings if f["rule"] == "internal-error"] == []
    assert code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    for finding in findings:
        assert finding["line"] >= 1 and finding["column"] >= 1 and finding["message"], finding
    assert seconds < ANSWER_WITHIN
