"""What a policy's CEL expression can read of a variable, so evaluation passes only that.

The CEL runtime itself (environments, compile, evaluate, errors) is wavegate.cel.
"""

from __future__ import annotations

import re

from wavegate.regex import lazy_compile

# What an expression can read of a variable. Converting a Python value into CEL costs time in
# proportion to its size on every evaluation, so callers pass only the top-level fields of an
# object that some expression reads (`object.spec`, `object.?spec`, `has(object.spec)`). The
# analysis is lexical and conservative: any other use of the name (bare, indexed, a method or
# macro on it, passed to a function, bound in a comprehension) means "the whole value".

_TOKEN = lazy_compile(r"""
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
        assert kind is not None, "every alternative of _TOKEN is a named group"
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
    if not fields:
        return {}
    return {key: item for key, item in value.items() if key in fields}


# All of a policy's validations as one expression: a policy is evaluated once per object, and the
# usual answer is "every validation holds". One CEL evaluation that computes each variable once
# and checks every validation gives that answer for the price of converting the object once; any
# other answer (false, an error) sends the object through the per-validation path, which finds
# which validation failed and why. Variables are bound level by level (`cel.bind` of a map of the
# variables whose inputs are all bound), so the nesting stays within the parser's depth limit.

INLINED_PREFIX = "wgvars"


def inline_variables(expression: str, where: dict[str, str]) -> str | None:
    """`expression` with each `variables.NAME` written as `<where[NAME]>.NAME`, or None when it
    uses `variables` any other way (`has(variables.x)`, `variables[...]`) or a NAME not in `where`."""
    if "variables" not in expression:
        return expression
    position = 0
    previous = ("space", "")
    spans: list[tuple[str, str, int, int]] = []
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return None
        kind = match.lastgroup
        assert kind is not None, "every alternative of _TOKEN is a named group"
        if kind == "string" and previous[0] == "ident" and previous[1] in _RAW_PREFIXES:
            return None
        previous = (kind, match.group())
        spans.append((kind, match.group(), match.start(), match.end()))
        position = match.end()
    significant = [s for s in spans if s[0] not in ("space", "comment")]
    replace: dict[int, str] = {}  # start of `variables` -> what replaces the word
    for i, (kind, text, start, _) in enumerate(significant):
        if kind != "ident" or text != "variables":
            continue
        if i > 0 and significant[i - 1][:2] == ("punct", "."):
            continue  # a field called `variables` of something else
        if (i + 2 >= len(significant) or significant[i + 1][:2] != ("punct", ".")
                or significant[i + 2][0] != "ident" or significant[i + 2][1] not in where):
            return None
        if i > 1 and significant[i - 1][:2] == ("punct", "(") and significant[i - 2][1] == "has":
            return None  # has(variables.x) tests presence, which a bound map would answer differently
        replace[start] = where[significant[i + 2][1]]
    out: list[str] = []
    position = 0
    for start in sorted(replace):
        out.append(expression[position:start])
        out.append(replace[start])
        position = start + len("variables")
    out.append(expression[position:])
    return "".join(out)


def all_hold(variables: list[tuple[str, str]], validations: list[str]) -> str | None:
    """One expression that is true exactly when every validation is true, each variable (name,
    expression, in definition order; each may use only earlier ones) computed once; None when
    the expressions cannot be combined (see inline_variables)."""
    if not validations:
        return None
    names = [name for name, _ in variables]
    if len(set(names)) != len(names):
        return None
    uses = {name: set(re.findall(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)", expression)) for name, expression in variables}
    depth: dict[str, int] = {}
    for i, (name, _) in enumerate(variables):
        if not uses[name] <= set(names[:i]):
            return None  # a later or unknown variable: only the per-validation path says what happens
        depth[name] = 1 + max((depth[u] for u in uses[name]), default=0)
    # Only what the validations use, directly or through other variables.
    used = set(re.findall(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)", " ".join(validations)))
    if not used <= set(names):
        return None
    for name in reversed(names):
        if name in used:
            used |= uses[name]
    where = {name: f"{INLINED_PREFIX}{depth[name]}" for name in names}
    levels: dict[int, list[str]] = {}
    for name, expression in variables:
        if name not in used:
            continue
        inlined = inline_variables(expression, where)
        if inlined is None:
            return None
        levels.setdefault(depth[name], []).append(f"{name!r}: dyn({inlined})")
    checks = []
    for expression in validations:
        inlined = inline_variables(expression, where)
        if inlined is None:
            return None
        checks.append(f"(({inlined}) == true)")
    combined = f"[{', '.join(checks)}].all(ok, ok)"
    for level in sorted(levels, reverse=True):
        combined = f"cel.bind({INLINED_PREFIX}{level}, {{{', '.join(levels[level])}}}, {combined})"
    return combined
