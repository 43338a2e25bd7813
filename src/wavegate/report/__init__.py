"""Reporters: turn one `Result` into the text a person, a script or GitLab reads.

Every reporter is a pure function `render(result, *, color=False) -> str`; only `text` uses
`color`. Pick one by name with `render(fmt, result)`; `FORMATS` lists the names the CLI accepts
for `--format` and `--report FMT=FILE`.
"""

from __future__ import annotations

from collections.abc import Callable

from wavegate.findings import Result
from wavegate.report import codequality, json_report, junit, sarif, text

_RENDERERS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "json": json_report.render,
    "junit": junit.render,
    "codequality": codequality.render,
    "sarif": sarif.render,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(fmt: str, result: Result, *, color: bool = False, quiet: bool = False, statistics: bool = False) -> str:
    """`result` in report format `fmt` (one of `FORMATS`). `quiet` (one line per finding) and
    `statistics` (a count per rule) shape the text report; the other formats have one shape."""
    try:
        renderer = _RENDERERS[fmt]
    except (KeyError, TypeError):
        raise ValueError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}") from None
    if fmt == "text":
        return renderer(result, color=color, quiet=quiet, statistics=statistics)
    return renderer(result, color=color)


__all__ = ["FORMATS", "render"]
