"""The human report: findings grouped by file, one line each, then a summary line.

    apps/web/application.yaml:12:5: error argocd-sync-wave Sync wave must be ... [Application argocd/web]
        hint: set argocd.argoproj.io/sync-wave to "2"

    3 errors, 1 warning, 0 info in 12 files (0.12 s)

`path:line:col:` comes first so editors and terminals can jump to the line. ANSI colour is used
only when the caller asks for it (the CLI does on a TTY with NO_COLOR unset). `quiet=True` gives
one line per finding and nothing else; `statistics=True` a count per rule instead of the findings,
then the summary. Control characters from the repository (a newline in a file name, an escape
sequence in a value) are shown escaped, so one finding stays one line and cannot restyle the terminal.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from wavegate.findings import Finding, Result, Severity
from wavegate.regex import lazy_compile

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


_CONTROL = lazy_compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = lazy_compile(r"[\x00-\x1f\x7f-\x9f]")


def _escaped(text: str, newlines: bool = False) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`); newlines kept when `newlines`."""
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _continue_lines(text: str) -> str:
    """Keep multi-line messages and hints inside their finding's block."""
    return _escaped(text, newlines=True).replace("\n", "\n" + _INDENT)


def _first_line(finding: Finding, color: bool, *, one_line: bool = False) -> str:
    location = _paint(f"{_escaped(finding.path)}:{finding.line}:{finding.column}:", _BOLD, color)
    severity = _paint(str(finding.severity), _SEVERITY_STYLE[finding.severity], color)
    rule = _paint(finding.rule, _DIM, color)
    message = " ".join(_escaped(finding.message, newlines=True).split()) if one_line else _continue_lines(finding.message)
    line = f"{location} {severity} {rule} {message}"
    if finding.resource is not None:
        line += " " + _paint(f"[{_escaped(finding.resource.display())}]", _DIM, color)
    return line


def _finding_lines(finding: Finding, color: bool) -> list[str]:
    lines = [_first_line(finding, color)]
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


def rule_counts(result: Result, *, color: bool = False) -> list[str]:
    """A count per rule, most frequent first (like ruff's --statistics): where to start."""
    from wavegate.rules import REGISTRY

    counts = Counter((f.rule, f.severity) for f in result.findings)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], -item[0][1], item[0][0]))
    width = max((len(rule) for (rule, _), _ in ordered), default=0)
    lines = []
    for (rule, severity), count in ordered:
        title = REGISTRY[rule].title if rule in REGISTRY else ""
        shown = _paint(f"{str(severity):<7}", _SEVERITY_STYLE[severity], color)
        lines.append(f"{count:>5}  {shown}  {rule:<{width}}  {title}".rstrip())
    return lines


def render(result: Result, *, color: bool = False, quiet: bool = False, statistics: bool = False) -> str:
    if statistics:
        table = rule_counts(result, color=color)
        return "\n".join(table + ([""] if table else []) + [summary(result, color=color)]) + "\n"
    if quiet:
        return "".join(_first_line(f, color, one_line=True) + "\n" for f in result.sorted_findings())
    blocks: list[str] = []
    for _path, findings in groupby(result.sorted_findings(), key=lambda f: f.path):
        lines: list[str] = []
        for finding in findings:
            lines.extend(_finding_lines(finding, color))
        blocks.append("\n".join(lines))
    blocks.append(summary(result, color=color))
    return "\n\n".join(blocks) + "\n"
