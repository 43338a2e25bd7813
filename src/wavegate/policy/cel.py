"""What a policy's CEL expression can read of a variable, so evaluation passes only that.

The CEL runtime itself (environments, compile, evaluate, errors) is wavegate.cel.
"""

from __future__ import annotations

import re

# What an expression can read of a variable. Converting a Python value into CEL costs time in
# proportion to its size on every evaluation, so callers pass only the top-level fields of an
# object that some expression reads (`object.spec`, `object.?spec`, `has(object.spec)`). The
# analysis is lexical and conservative: any other use of the name (bare, indexed, a method or
# macro on it, passed to a function, bound in a comprehension) means "the whole value".

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*)
  | (?P<string>[bB]?(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d*\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[-+*/%!<>=&|?:.,()\[\]{}])
""", re.VERBOSE)
_RAW_PREFIXES = {"r", "R", "rb", "rB", "Rb", "RB", "br", "bR", "Br", "BR"}


def _tokens(expression: str) -> list[tuple[str, str]] | None:
    """(kind, text) of every token but spaces and comments; None when the text is not understood."""
    tokens: list[tuple[str, str]] = []
    position = 0
    previous = ("space", "")
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return None  # a backquoted field, an unterminated string, ...: not understood
        kind = match.lastgroup
        if kind == "string" and previous[0] == "ident" and previous[1] in _RAW_PREFIXES:
            return None  # a raw string (r'...') has other escaping rules: not worth getting right
        previous = (kind, match.group())
        if kind not in ("space", "comment"):
            tokens.append(previous)
        position = match.end()
    return tokens


def top_level_reads(expression: str, name: str) -> frozenset[str] | None:
    """The top-level fields of variable `name` that `expression` can read, or None when it may
    read anything of it. Conservative: every occurrence of the identifier must be followed by
    `.field` or `.?field` that is not a method call; otherwise the answer is None."""
    if name not in expression:
        return frozenset()
    tokens = _tokens(expression)
    if tokens is None:
        return None
    fields: set[str] = set()
    for i, (kind, text) in enumerate(tokens):
        if kind != "ident" or text != name:
            continue
        j = i + 1
        if j >= len(tokens) or tokens[j] != ("punct", "."):
            return None
        j += 1
        if j < len(tokens) and tokens[j] == ("punct", "?"):
            j += 1
        if j >= len(tokens) or tokens[j][0] != "ident":
            return None
        if j + 1 < len(tokens) and tokens[j + 1] == ("punct", "("):
            return None  # object.exists(...), object.size(): a macro or method on the whole value
        fields.add(tokens[j][1])
    return frozenset(fields)


def narrowed(value, fields: frozenset[str] | None):
    """`value` with only `fields` at its top level (a mapping; anything else is returned as is)."""
    if fields is None or not isinstance(value, dict):
        return value
    return {key: item for key, item in value.items() if key in fields}
