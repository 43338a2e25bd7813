"""ignoreDifferences jqPathExpressions as Argo CD treats them, judged by Argo CD's own jq library.

Argo CD parses `del(EXPRESSION)` with github.com/itchyny/gojq and compiles it (a failure there
fails the Application's comparison), then runs it on each live and desired object (a failure there
is logged, and the expression ignores nothing for that object). wavegate asks the same library:
the `wavegate-jq` helper that scripts/install-tools builds (scripts/helpers/wavegate-jq), found
through wavegate.tools.find_tool. One process answers every expression of a run.
"""

from __future__ import annotations

import json
import subprocess

from wavegate.record import record

TOOL = "wavegate-jq"
TIMEOUT = 120


@record(frozen=True)
class Verdict:
    stage: str  # "" (fine), "parse", "compile" or "run"
    error: str
    offset: int | None = None  # parse: where in the expression
    object: int | None = None  # run: the index of the first object it fails on


class JqUnavailable(Exception):
    """The helper is not installed or does not work; the message says what to do."""


def judge(requests: list[tuple[str, list[dict]]]) -> list[Verdict]:
    """A verdict for each (expression, objects it is applied to), in order."""
    return [verdict for verdict, _ in _ask(requests, results=False)]


def delete_paths(expression: str, objects: list[dict]) -> tuple[Verdict, list[dict]]:
    """What Argo CD's normalizer makes of each object: the result of `del(EXPRESSION)` (the
    objects unchanged when the verdict is not fine, as Argo CD then ignores nothing)."""
    [(verdict, outputs)] = _ask([(expression, objects)], results=True)
    if verdict.stage or len(outputs) != len(objects):
        return verdict, objects
    return verdict, [o if isinstance(o, dict) else objects[i] for i, o in enumerate(outputs)]


def _ask(requests: list[tuple[str, list[dict]]], results: bool) -> list[tuple[Verdict, list]]:
    if not requests:
        return []
    from wavegate.tools import ToolNotFoundError, find_tool

    try:
        tool = find_tool(TOOL)
    except ToolNotFoundError as error:
        raise JqUnavailable(str(error)) from None
    payload = json.dumps([{"expression": e, "objects": objects, "results": results} for e, objects in requests],
                         default=str)
    try:
        done = subprocess.run([str(tool)], input=payload.encode(), capture_output=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise JqUnavailable(f"{tool} did not answer ({error}); reinstall it: scripts/install-tools --only {TOOL}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise JqUnavailable(f"{tool} failed ({said[-1] if said else f'exit {done.returncode}'}); reinstall it: "
                            f"scripts/install-tools --only {TOOL}")
    answers = json.loads(done.stdout)
    return [(Verdict(a.get("stage", ""), a.get("error", ""), a.get("offset"), a.get("object")), a.get("outputs") or [])
            for a in answers]
