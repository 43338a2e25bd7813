"""Reporters: turn one `Result` into the text a person, a script or GitLab reads.

Every reporter is a pure function `render(result, *, color=False) -> str`; only `text` uses
`color`. Pick one by name with `render(fmt, result)`; `FORMATS` lists the names the CLI accepts
for `--format` and `--report FMT=FILE`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wavegate.findings import Result

# Format name -> the module whose `render` writes it, imported when the format is asked for (a
# validate run in a merge request imports only what it writes).
_RENDERERS: dict[str, str] = {
    "text": "text",
    "json": "json_report",
    "junit": "junit",
    "codequality": "codequality",
    "sarif": "sarif",
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(fmt: str, result: Result, *, color: bool = False, quiet: bool = False, statistics: bool = False) -> str:
    """`result` in report format `fmt` (one of `FORMATS`). `quiet` (one line per finding) and
    `statistics` (a count per rule) shape the text report; the other formats have one shape."""
    try:
        module = _RENDERERS[fmt]
    except (KeyError, TypeError):
        raise ValueError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}") from None
    renderer = importlib.import_module(f"wavegate.report.{module}").render
    if fmt == "text":
        return renderer(result, color=color, quiet=quiet, statistics=statistics)
    return renderer(result, color=color)


__all__ = ["FORMATS", "render"]
