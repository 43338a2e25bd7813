"""Backstage `fetch:template` rendering, for what skeletons use: `${{ expression | filter }}`.

An expression is a path into the context (`values.appname`, `parameters.x`,
`steps['fetchSystem'].output.entity.spec.gituser`), a string or number, or an expression in
parentheses, followed by the Nunjucks filters skeletons and templates use (`dump`,
`default("x")`, `default(user.ref)`, `lower`, `upper`, `trim`, `replace("a", "b")`), whose
arguments are expressions too: `(user.entity.spec.profile.displayName | default(user.ref)) |
replace(" ", "-")`. Anything else is a clear error, never a silently empty string: a skeleton that
renders wrong is a repository that syncs wrong.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from wavegate.regex import lazy_compile

PLACEHOLDER = lazy_compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_STEP = lazy_compile(r"""\s*(?:\.?([A-Za-z_][\w-]*)|\[\s*(['"])(.*?)\2\s*\]|\[\s*(\d+)\s*\])""")
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
    """The context paths (`values.appname`) the placeholders of `text` read, in order: each
    expression's own and its filters' arguments'. RenderError when one cannot be read."""
    found: list[str] = []
    for expression in placeholders(text):
        for path in _paths(_parse(expression)):
            if path not in found:
                found.append(path)
    return found


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
    node = _parse(expression)
    value = _value(node, context)
    if value is _MISSING:
        raise Undefined(_subject(node))
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


# -- expressions -----------------------------------------------------------------------------------

@functools.cache
def _token() -> re.Pattern:
    """The expression tokens (compiled when first needed: most runs render no template)."""
    return re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<path>\.?[A-Za-z_][\w-]*(?:\s*(?:\.\s*[A-Za-z_][\w-]*|\[\s*(?:"[^"]*"|'[^']*'|\d+)\s*\]))*)
  | (?P<punct>[()|,])
)""", re.X | re.S)


_LITERALS = {"true": True, "false": False, "null": None, "none": None}


class _Path(str):
    """A path into the context, as written."""


class _Filter:
    """A filter applied to an expression. (A plain class: a dataclass costs every run that imports
    it the compiling of its methods.)"""

    __slots__ = ("subject", "name", "args")

    def __init__(self, subject: Any, name: str, args: tuple):
        self.subject = subject  # a _Path, a literal value, or another _Filter
        self.name = name
        self.args = args


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        if not expression[position:].strip():
            break
        match = _token().match(expression, position)
        if match is None or match.end() == position:
            raise RenderError(f"cannot read the expression {expression.strip()!r} at {expression[position:].strip()!r}")
        kind = match.lastgroup
        assert kind is not None, "every alternative of _token() is a named group"
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _parse(expression: str):
    """The expression as a tree: a _Path, a literal, or a _Filter applied to one of them."""
    tokens = _tokens(expression)
    if not tokens:
        raise RenderError("empty expression")
    node, position = _expression(tokens, 0, expression)
    if position != len(tokens):
        raise RenderError(f"cannot read the expression {expression.strip()!r} at {tokens[position][1]!r}")
    return node


def _expression(tokens: list[tuple[str, str]], position: int, text: str):
    node, position = _primary(tokens, position, text)
    while position < len(tokens) and tokens[position] == ("punct", "|"):
        if position + 1 >= len(tokens) or tokens[position + 1][0] != "path" or \
                not re.fullmatch(r"[A-Za-z_]\w*", tokens[position + 1][1]):
            raise RenderError(f"cannot read the filter after '|' in {text.strip()!r}")
        name = tokens[position + 1][1]
        position += 2
        args: list = []
        if position < len(tokens) and tokens[position] == ("punct", "("):
            position += 1
            while position < len(tokens) and tokens[position] != ("punct", ")"):
                arg, position = _expression(tokens, position, text)
                args.append(arg)
                if position < len(tokens) and tokens[position] == ("punct", ","):
                    position += 1
                elif position >= len(tokens) or tokens[position] != ("punct", ")"):
                    raise RenderError(f"cannot read the filter arguments of {name!r} in {text.strip()!r}")
            if position >= len(tokens):
                raise RenderError(f"a '(' is not closed in {text.strip()!r}")
            position += 1
        node = _Filter(node, name, tuple(args))
    return node, position


def _primary(tokens: list[tuple[str, str]], position: int, text: str):
    if position >= len(tokens):
        raise RenderError(f"an expression is missing in {text.strip()!r}")
    kind, token = tokens[position]
    if (kind, token) == ("punct", "("):
        node, position = _expression(tokens, position + 1, text)
        if position >= len(tokens) or tokens[position] != ("punct", ")"):
            raise RenderError(f"a '(' is not closed in {text.strip()!r}")
        return node, position + 1
    if kind == "string":
        body = token[1:-1]
        if token[0] == "'":
            body = body.replace("\\'", "'").replace('"', '\\"')
        try:
            return json.loads(f'"{body}"'), position + 1
        except json.JSONDecodeError:
            raise RenderError(f"cannot read the string {token} in {text.strip()!r}") from None
    if kind == "number":
        return (float(token) if "." in token else int(token)), position + 1
    if kind == "path":
        if token in _LITERALS:
            return _LITERALS[token], position + 1
        return _Path(token.strip()), position + 1
    raise RenderError(f"cannot read the expression {text.strip()!r} at {token!r}")


def _paths(node) -> list[str]:
    if isinstance(node, _Path):
        return [str(node)]
    if isinstance(node, _Filter):
        return [*_paths(node.subject), *(path for arg in node.args for path in _paths(arg))]
    return []


def _subject(node) -> str:
    """The path an expression is about (the first one it reads), for messages."""
    paths = _paths(node)
    return paths[0] if paths else "the expression"


def _value(node, context: dict) -> Any:
    if isinstance(node, _Path):
        return lookup(node, context)
    if isinstance(node, _Filter):
        value = _value(node.subject, context)
        args = [_value(arg, context) for arg in node.args]
        if node.name != "default":
            for arg, written in zip(args, node.args, strict=True):
                if arg is _MISSING:
                    raise Undefined(_subject(written))
        return _apply(node.name, args, value, _subject(node.subject))
    return node


def _apply(name: str, args: list, value: Any, path: str) -> Any:
    if name == "default":
        if value is _MISSING or value is None or value == "":
            return args[0] if args else ""
        return value
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
