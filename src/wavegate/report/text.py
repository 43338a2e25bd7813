"""The human report: findings grouped by file, one line each, then a summary line.

    apps/web/application.yaml:12:5: error argocd-sync-wave Sync wave must be ... [Application argocd/web]
        hint: set argocd.argoproj.io/sync-wave to "2"

    3 errors, 1 warning, 0 info in 12 files (0.12 s)

`path:line:col:` comes first so editors and terminals can jump to the line. ANSI colour is used
only when the caller asks for it (the CLI does on a TTY with NO_COLOR unset).
"""

from __future__ import annotations

from itertools import groupby

from wavegate.findings import Finding, Result, Severity

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_GREEN = "\x1b[32m"
_SEVERITY_STYLE = {
    Severity.ERROR: "\x1b[1;31m",  # bold red
    Severity.WARNING: "\x1b[33m",  # yellow
    Severity.INFO: "\x1b[36m",  # cyan
}
_INDENT = "    "


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color and text else text


def _continue_lines(text: str) -> str:
    """Keep multi-line messages and hints inside their finding's block."""
    return text.replace("\n", "\n" + _INDENT)


def _finding_lines(finding: Finding, color: bool) -> list[str]:
    location = _paint(f"{finding.path}:{finding.line}:{finding.column}:", _BOLD, color)
    severity = _paint(str(finding.severity), _SEVERITY_STYLE[finding.severity], color)
    rule = _paint(finding.rule, _DIM, color)
    line = f"{location} {severity} {rule} {_continue_lines(finding.message)}"
    if finding.resource is not None:
        line += " " + _paint(f"[{finding.resource.display()}]", _DIM, color)
    lines = [line]
    if finding.hint:
        lines.append(_INDENT + _paint("hint:", _DIM, color) + " " + _continue_lines(finding.hint))
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(result: Result, *, color: bool = False) -> str:
    """The closing line: counts per severity, files checked and time taken."""
    counts = result.counts()
    where = f"in {_plural(len(result.files), 'file')} ({result.seconds:.2f} s)"
    if not result.findings:
        return _paint(f"No findings {where}", _GREEN, color)
    text = (f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
            f"{counts['info']} info {where}")
    worst = result.worst()
    return _paint(text, _SEVERITY_STYLE[worst] if worst else _GREEN, color)


def render(result: Result, *, color: bool = False) -> str:
    blocks: list[str] = []
    for _path, findings in groupby(result.sorted_findings(), key=lambda f: f.path):
        lines: list[str] = []
        for finding in findings:
            lines.extend(_finding_lines(finding, color))
        blocks.append("\n".join(lines))
    blocks.append(summary(result, color=color))
    return "\n\n".join(blocks) + "\n"
