"""What a compiled CEL program can read of its inputs, and its inputs cut down to that.

An admission policy's combined program (Policy.all_hold) is evaluated once per object, and most
objects differ only in fields it never reads: names, images, ports, environment variables. Two
inputs that agree on every part the program can read give the same answer, so evaluate_one
remembers the answer per distinct cut-down input, and a repository of a thousand alike
Deployments pays for a handful of evaluations.

`needs(tree, roots)` works out, from the program's syntax tree (wavegate.cel_syntax), a Need for
each root variable; `cut(value, need)` keeps of a value only what its Need says. The analysis is
an abstract evaluation: each subexpression is mapped to the parts of the inputs its value can be
(a path from a root, `EACH` standing for every element of a list or every entry of a map), and
what each operation does with such a value is recorded:

- a field selection, an optional one, a presence test and an index by a constant string read
  that field (the key is kept, whatever it holds, only as far as something reads inside it);
- iterating, an index by anything else and `size` read every element or entry (all are kept;
  of each, what is read of the elements);
- `'key' in value` reads whether the key is there (a list is kept whole: membership compares
  every element);
- the conditional, `dyn`, list concatenation and the optional combinators pass their operands
  through unread;
- anything else reads its operands whole: comparisons, arithmetic, string functions, the
  program's result.

What is kept is therefore a value with the same keys and types at every point the program
reads, and the same contents wherever it inspects them, so the program cannot tell the cut
value from the whole one (tests/unit/test_policy_projection.py compares their answers on the
shipped policies' fixtures and on generated pod specs). Where the analysis does not follow a
value (a message literal, a loop that does not settle), it reads that value whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.cel_syntax import Node

EACH = 0  # (a path step: every element of a list, every entry of a map; field names are strings)


class Need:
    """What a program can read of one value."""

    __slots__ = ("whole", "fields", "each", "listed")

    def __init__(self) -> None:
        self.whole = False
        self.fields: dict[str, Need] = {}
        self.each: Need | None = None  # every element or entry is kept, cut to this
        self.listed = False  # a list here is kept whole (membership)

    def at(self, path: tuple) -> Need | None:
        """The Need at `path` below this one, made if missing; None when a whole value holds it."""
        need: Need = self
        for step in path:
            if need.whole:
                return None
            if not isinstance(step, str):  # (EACH)
                if need.each is None:
                    need.each = Need()
                need = need.each
            else:
                child = need.fields.get(step)
                if child is None:
                    child = need.fields[step] = Need()
                need = child
        return None if need.whole else need

    def plain(self):
        """This Need as plain data (what the cache keeps): True for a whole value, else
        (fields, each, listed) with an entry's Need merged into every named field's."""
        if self.whole:
            return True
        each = self.each.plain() if self.each is not None else None
        fields = {name: _merged(child.plain(), each) if each is not None else child.plain()
                  for name, child in self.fields.items()}
        return (fields, each, self.listed)


def _merged(a, b):
    if a is True or b is True:
        return True
    if b is None:
        return a
    if a is None:
        return b
    fields = dict(a[0])
    for name, need in b[0].items():
        fields[name] = _merged(fields.get(name), need)
    each = _merged(a[1], b[1]) if a[1] is not None or b[1] is not None else None
    return (fields, each, a[2] or b[2])


def cut(value, need):
    """`value` with only what `need` (Need.plain) keeps; scalars are always kept."""
    if need is True:
        return value
    if type(value) is dict:
        fields, each, _ = need
        if each is None:
            out = {}
            for name, child in fields.items():
                if name in value:
                    item = value[name]
                    # (a scalar, or a value kept whole, without a call: most of what is read)
                    out[name] = item if child is True or (type(item) is not dict and type(item) is not list) \
                        else cut(item, child)
            return out
        return {name: cut(item, fields.get(name, each)) for name, item in value.items()}
    if type(value) is list:
        fields, each, listed = need
        if listed:
            return value
        if each is None:
            return []
        return [cut(item, each) for item in value]
    return value


# -- the abstract evaluation ----------------------------------------------------------------
# A value is a frozenset of parts, each one of:
#   ("ref", root, path)          the input at that path
#   ("text", string)             a string constant (so that `['a', 'b'].all(k, x[?k] ...)` reads a and b)
#   ("list", parts)              a list literal whose elements are those parts
#   ("map", ((key, parts), ...), parts)   a map literal: its constant string keys, then every other value

_NOTHING: frozenset = frozenset()
# Functions whose result is (a part of) their operands, which they do not look into.
_PASS_THROUGH = frozenset({"dyn", "orValue", "or", "value", "optional.of"})
_COMPARE_MEMBERSHIP = "@in"
_LOOP_ROUNDS = 4


class _Analysis:
    def __init__(self, roots: Iterable[str]):
        self.needs = {root: Need() for root in roots}
        # Each Need made, by (root, path): the same paths are read again and again. (One under a
        # value read whole since is no longer reachable from its root: marking it changes nothing.)
        self.made: dict[tuple, Need] = {}

    # What operations do to a value's parts.
    def mark(self, root: str, path: tuple, how: str, key: str = "") -> None:
        need = self.made.get((root, path))
        if need is None:
            need = self.needs[root].at(path)
            if need is None:
                return
            self.made[(root, path)] = need
        if need.whole:
            return
        if how == "whole":
            need.whole = True
            need.fields, need.each = {}, None
        elif how == "each":
            need.at((EACH,))
        elif how == "member":
            need.at((key,))
            need.listed = True

    def consume(self, value: frozenset) -> None:
        for part in value:
            if part[0] == "ref":
                self.mark(part[1], part[2], "whole")
            elif part[0] == "text":
                continue
            elif part[0] == "list":
                self.consume(part[1])
            else:
                for _, item in part[1]:
                    self.consume(item)
                self.consume(part[2])

    def field(self, value: frozenset, name: str) -> frozenset:
        found: set = set()
        for part in value:
            if part[0] == "ref":
                path = (*part[2], name)
                self.mark(part[1], path, "present")
                found.add(("ref", part[1], path))
            elif part[0] == "map":
                for key, item in part[1]:
                    if key == name:
                        found.update(item)
                found.update(part[2])
            # (a field of a list literal is an error, whatever the data)
        return frozenset(found)

    def elements(self, value: frozenset, keys_only: bool) -> frozenset:
        """Every element (or entry) of the value's lists and maps; `keys_only`: a map's keys, as
        iteration gives them (a map literal's keys are constants or already read whole)."""
        found: set = set()
        for part in value:
            if part[0] == "ref":
                path = (*part[2], EACH)
                self.mark(part[1], part[2], "each")
                found.add(("ref", part[1], path))
            elif part[0] == "list":
                found.update(part[1])
            elif part[0] == "map" and not keys_only:
                for _, item in part[1]:
                    found.update(item)
                found.update(part[2])
        return frozenset(found)

    def sized(self, value: frozenset) -> None:
        for part in value:
            if part[0] == "ref":
                self.mark(part[1], part[2], "each")

    # The evaluation.
    def evaluate(self, node: Node, scope: dict[str, frozenset]) -> frozenset:
        kind = node[0]
        if kind == "const":
            return frozenset({("text", node[1])}) if isinstance(node[1], str) else _NOTHING
        if kind == "ident":
            name = node[1]
            if name in scope:
                return scope[name]
            return frozenset({("ref", name, ())}) if name in self.needs else _NOTHING
        if kind == "select":
            found = self.field(self.evaluate(node[1], scope), node[2])
            return _NOTHING if node[3] else found
        if kind == "call":
            return self.call(node, scope)
        if kind == "list":
            items: set = set()
            for element in node[1]:
                items.update(self.evaluate(element, scope))
            return frozenset({("list", frozenset(items))})
        if kind == "map":
            named: list = []
            others: set = set()
            for key, item, _ in node[1]:
                value = self.evaluate(item, scope)
                if isinstance(key, tuple) and key[0] == "const" and isinstance(key[1], str):
                    named.append((key[1], value))
                else:
                    if isinstance(key, tuple):
                        self.consume(self.evaluate(key, scope))
                    others.update(value)
            return frozenset({("map", tuple(named), frozenset(others))})
        if kind == "comprehension":
            return self.comprehension(node, scope)
        for part in node[2]:  # a message literal: not followed
            self.consume(self.evaluate(part[1], scope))
        return _NOTHING

    def call(self, node: Node, scope: dict[str, frozenset]) -> frozenset:
        _, target, function, args = node
        if function in ("_?._", "_[_]", "_[?_]") and target is None and len(args) == 2:
            value = self.evaluate(args[0], scope)
            keys = _texts(self.evaluate(args[1], scope))
            if keys is not None:  # (one of a few known strings: those fields)
                return frozenset().union(*(self.field(value, key) for key in keys))
            self.consume(self.evaluate(args[1], scope))
            return self.elements(value, keys_only=False)
        if function == _COMPARE_MEMBERSHIP and target is None and len(args) == 2:
            value = self.evaluate(args[1], scope)
            keys = _texts(self.evaluate(args[0], scope))
            for part in value:
                if part[0] == "ref" and keys is not None:
                    for key in keys:
                        self.mark(part[1], part[2], "member", key)
                elif part[0] != "map":  # (a map literal's keys are constants or read whole already)
                    self.consume(frozenset({part}))
            if keys is None:
                self.consume(self.evaluate(args[0], scope))
            return _NOTHING
        operands = ([target] if target is not None else []) + list(args)
        values = [self.evaluate(operand, scope) for operand in operands]
        if function == "size" and len(values) == 1:
            self.sized(values[0])
            return _NOTHING
        if function == "_?_:_" and len(values) == 3:
            self.consume(values[0])
            return values[1] | values[2]
        if function == "hasValue" and len(values) == 1:
            return _NOTHING  # (whether an optional selection found its field: already read)
        if function == "_+_":  # (lists concatenated pass their elements; strings joined are new ones)
            return frozenset(part for value in values for part in value if part[0] != "text")
        if function in _PASS_THROUGH:
            return frozenset().union(*values)
        for value in values:
            self.consume(value)
        return _NOTHING

    def comprehension(self, node: Node, scope: dict[str, frozenset]) -> frozenset:
        _, iter_var, iter_var2, iter_range, accu_var, accu_init, condition, step, result = node
        items = self.elements(self.evaluate(iter_range, scope), keys_only=True)
        if iter_var2:  # (the index or key, and the element or value: both read as an element)
            items = items | self.elements(self.evaluate(iter_range, scope), keys_only=False)
        accumulated = self.evaluate(accu_init, scope)
        inner = dict(scope)
        for _ in range(_LOOP_ROUNDS):
            inner.update({iter_var: items, accu_var: accumulated})
            if iter_var2:
                inner[iter_var2] = items
            self.consume(self.evaluate(condition, inner))
            grown = accumulated | self.evaluate(step, inner)
            if grown == accumulated:
                break
            accumulated = grown
        else:  # (a loop whose value keeps changing: read it all)
            self.consume(accumulated)
        return self.evaluate(result, {**scope, accu_var: accumulated})


def _texts(value: frozenset) -> list[str] | None:
    """The strings a value can be, when it can only be string constants."""
    if not value or any(part[0] != "text" for part in value):
        return None
    return sorted(part[1] for part in value)


def needs(tree: Node, roots: Iterable[str]) -> dict:
    """For each root variable, what the program can read of it (Need.plain: True, or a cut)."""
    analysis = _Analysis(roots)
    analysis.consume(analysis.evaluate(tree, {}))
    return {root: need.plain() for root, need in analysis.needs.items()}
