"""jqPathExpressions applied as Argo CD applies them: `del(EXPRESSION)` run on each object an
ignoreDifferences entry matches (argo-cd util/argo/normalizers/diff_normalizer.go).

`delete_paths` is the one function the diff calls. Argo CD runs the expression with gojq; until
wavegate's gojq helper (wavegate-jq, scripts/install-tools) can return the result of `del(...)`,
the evaluation here is libjq's, through the `jq` package: the same language for path expressions
(paths, `select`, `[]`, `..`), with gojq's few extensions missing. Swapping in the helper changes
only `_evaluate`.
"""

from __future__ import annotations

import functools


class JqPathsError(Exception):
    """The expression cannot be compiled, or fails on this object; the message is jq's."""


def delete_paths(expression: str, document: dict) -> dict:
    """`document` without what `del(expression)` deletes. Raises JqPathsError when jq cannot."""
    return _evaluate(expression, document)


def _evaluate(expression: str, document: dict) -> dict:
    program = _compiled(expression)
    try:
        result = program.input_value(document).first()
    except (ValueError, StopIteration) as error:
        raise JqPathsError(_first_line(error)) from None
    if not isinstance(result, dict):
        raise JqPathsError(f"del({expression}) gave {type(result).__name__}, not an object")
    return result


@functools.lru_cache(maxsize=256)
def _compiled(expression: str):
    try:
        import jq
    except ImportError:  # pragma: no cover - a dependency of wavegate
        raise JqPathsError("the jq package is not installed: pip install jq") from None
    try:
        return jq.compile(f"del({expression})")
    except ValueError as error:
        raise JqPathsError(_first_line(error)) from None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or ["jq failed"])[0]
