"""ignoreDifferences jqPathExpressions as Argo CD treats them, judged by Argo CD's own jq library.

Argo CD parses `del(EXPRESSION)` with github.com/itchyny/gojq and compiles it (a failure there
fails the Application's comparison), then runs it on each live and desired object (a failure there
is logged, and the expression ignores nothing for that object). wavegate asks the same library:
the `wavegate-jq` helper that scripts/install-tools builds (scripts/helpers/wavegate-jq), found
through wavegate.cluster.find_tool. One process answers every expression of a run.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

TOOL = "wavegate-jq"
TIMEOUT = 120


@dataclass(frozen=True)
class Verdict:
    stage: str  # "" (fine), "parse", "compile" or "run"
    error: str
    offset: int | None = None  # parse: where in the expression
    object: int | None = None  # run: the index of the first object it fails on


class JqUnavailable(Exception):
    """The helper is not installed or does not work; the message says what to do."""


def judge(requests: list[tuple[str, list[dict]]]) -> list[Verdict]:
    """A verdict for each (expression, objects it is applied to), in order."""
    if not requests:
        return []
    from wavegate.cluster.tools import ToolNotFoundError, find_tool

    try:
        tool = find_tool(TOOL)
    except ToolNotFoundError as error:
        raise JqUnavailable(str(error)) from None
    payload = json.dumps([{"expression": e, "objects": objects} for e, objects in requests], default=str)
    try:
        done = subprocess.run([str(tool)], input=payload.encode(), capture_output=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise JqUnavailable(f"{tool} did not answer ({error}); reinstall it: scripts/install-tools --only {TOOL}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise JqUnavailable(f"{tool} failed ({said[-1] if said else f'exit {done.returncode}'}); reinstall it: "
                            f"scripts/install-tools --only {TOOL}")
    answers = json.loads(done.stdout)
    return [Verdict(a.get("stage", ""), a.get("error", ""), a.get("offset"), a.get("object")) for a in answers]
