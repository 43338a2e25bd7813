"""Backstage `fetch:template` rendering, for what skeletons use: `${{ expression | filter }}`.

An expression is a path into the context (`values.appname`, `parameters.x`,
`steps['fetchSystem'].output.entity.spec.gituser`); filters are the Nunjucks ones skeletons use
(`dump`, `default("x")`, `lower`, `upper`, `trim`, `replace("a", "b")`). Anything else is a clear
error, never a silently empty string: a skeleton that renders wrong is a repository that syncs wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_STEP = re.compile(r"""\s*(?:\.?([A-Za-z_][\w-]*)|\[\s*(['"])(.*?)\2\s*\]|\[\s*(\d+)\s*\])""")
_FILTER = re.compile(r"^([A-Za-z_]\w*)\s*(?:\((.*)\))?$", re.S)
_MISSING = object()


class RenderError(Exception):
    """A placeholder that cannot be rendered; says which one, where, and why."""


class Undefined(RenderError):
    """The expression reads a value the context does not have."""

    def __init__(self, path: str):
        super().__init__(f"{path} is not defined")
        self.path = path


def placeholders(text: str) -> list[str]:
    """The expressions inside `${{ ... }}` in `text`, in order."""
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def referenced_paths(text: str) -> list[str]:
    """The context paths (`values.appname`) the placeholders of `text` read, filters removed."""
    return [_split_filters(expression)[0].strip() for expression in placeholders(text)]


def render_text(text: str, context: dict, where: str = "<text>", missing: list[str] | None = None) -> str:
    """Render `text`. An undefined value is an error, unless a `missing` list is given: then it
    renders as an empty string, as Backstage's Nunjucks does, and its path is appended there."""
    if "{%" in text:
        line = text[: text.index("{%")].count("\n") + 1
        raise RenderError(f"{where}:{line}: Nunjucks tags ({{% ... %}}) are not supported; use ${{{{ values.x }}}} only")

    def replace(match: re.Match) -> str:
        line = text[: match.start()].count("\n") + 1
        try:
            value = evaluate(match.group(1), context)
        except Undefined as error:
            if missing is None:
                raise RenderError(f"{where}:{line}: {error}") from None
            missing.append(f"{where}:{line}: {error.path}")
            return ""
        except RenderError as error:
            raise RenderError(f"{where}:{line}: {error}") from None
        if isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)

    return PLACEHOLDER.sub(replace, text)


def render_tree(source: Path, target: Path, context: dict, missing: list[str] | None = None) -> list[Path]:
    """Render every file of `source` into `target` (names may hold placeholders too)."""
    written: list[Path] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source).as_posix()
        out = target / render_text(rel, context, where=rel, missing=missing)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            out.write_bytes(path.read_bytes())  # binary files are copied as they are
        else:
            out.write_text(render_text(text, context, where=rel, missing=missing), encoding="utf-8")
        written.append(out)
    return written


def evaluate(expression: str, context: dict) -> Any:
    path, filters = _split_filters(expression)
    value = lookup(path, context)
    for name, args in filters:
        value = _apply(name, args, value, path)
    if value is _MISSING:
        raise Undefined(path.strip())
    return value


def is_defined(path: str, context: dict) -> bool:
    """Whether a placeholder's path (filters removed) reads a value the context has."""
    return lookup(path, context) is not _MISSING


def lookup(path: str, context: dict) -> Any:
    """The value at a Nunjucks-style path, or the _MISSING marker."""
    value: Any = context
    position = 0
    path = path.strip()
    if not path:
        raise RenderError("empty expression")
    while position < len(path):
        match = _STEP.match(path, position)
        if not match or match.end() == position:
            raise RenderError(f"cannot read the expression {path!r} at {path[position:]!r}")
        key = match.group(1) or match.group(3)
        index = match.group(4)
        position = match.end()
        if index is not None:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _MISSING
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return _MISSING
    return value


def _split_filters(expression: str) -> tuple[str, list[tuple[str, list]]]:
    parts = _split_outside_quotes(expression, "|")
    filters = []
    for part in parts[1:]:
        match = _FILTER.match(part.strip())
        if not match:
            raise RenderError(f"cannot read the filter {part.strip()!r}")
        filters.append((match.group(1), _arguments(match.group(2))))
    return parts[0], filters


def _arguments(text: str | None) -> list:
    if text is None or not text.strip():
        return []
    try:
        return json.loads("[" + text.replace("'", '"') + "]")
    except json.JSONDecodeError:
        raise RenderError(f"cannot read the filter arguments ({text})") from None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quote = [], "", None
    for char in text:
        if quote:
            current += char
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current += char
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _apply(name: str, args: list, value: Any, path: str) -> Any:
    if name == "default":
        return args[0] if value is _MISSING or value is None or value == "" else value
    if value is _MISSING:
        raise Undefined(path.strip())
    if name == "dump":
        return json.dumps(value)
    if name in ("lower", "upper", "trim"):
        text = str(value)
        return text.lower() if name == "lower" else text.upper() if name == "upper" else text.strip()
    if name == "replace" and len(args) == 2:
        return str(value).replace(str(args[0]), str(args[1]))
    raise RenderError(f"the filter {name!r} is not supported (supported: default, dump, lower, upper, trim, replace)")
