"""The syntax tree of a compiled CEL program, read from the runtime's own serialized form.

The CEL runtime (wavegate.cel) serializes a compiled program as a `google.protobuf.Any` holding a
`cel.expr.CheckedExpr` (cel-spec's proto/cel/expr/checked.proto and syntax.proto). Reading that
tree, rather than parsing the text again, analyses exactly what the runtime evaluates: macros
(`all`, `exists`, `map`, `filter`, `cel.bind`, `has`) already expanded into comprehensions and
presence tests. Only the few fields of the wire format that the tree needs are decoded here, with
no protobuf library.

Nodes are plain tuples:

    ("const", value)                     (a string, bytes, int, float, bool or None)
    ("ident", name)
    ("select", operand, field, test_only)
    ("call", target | None, function, args)
    ("list", elements, optional_indices)
    ("map", entries)                     entries: (key node | field name, value node, optional)
    ("struct", message_name, entries)    (a message literal; wavegate's environments have none)
    ("comprehension", iter_var, iter_var2, iter_range, accu_var, accu_init, loop_condition,
     loop_step, result)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

Node = tuple
_Bytes = bytes | memoryview  # (fields are read as views of the serialized program: no copies)

_ANY_VALUE = 2
_CHECKED_EXPR = 4  # CheckedExpr.expr
_PARSED_EXPR = 2  # ParsedExpr.expr


class UnreadableProgram(ValueError):
    """The serialized program is not what this module understands."""


def _varint(data: _Bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise UnreadableProgram("a varint runs past the end")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: _Bytes) -> Iterator[tuple[int, int | _Bytes]]:
    """(field number, value) of every field of one message: ints for varints, bytes otherwise."""
    i, end = 0, len(data)
    while i < end:
        key = data[i]  # (most keys and lengths are one byte)
        i += 1
        if key >= 0x80:
            key, i = _varint(data, i - 1)
        wire = key & 7
        value: int | _Bytes
        if wire == 2:
            length = data[i] if i < end else 0x80
            i += 1
            if length >= 0x80:
                length, i = _varint(data, i - 1)
            value, i = data[i:i + length], i + length
        elif wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise UnreadableProgram(f"wire type {wire} is not used by cel.expr")
        if i > end:
            raise UnreadableProgram("a field runs past the end")
        yield key >> 3, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _constant(data: _Bytes):
    for number, value in _fields(data):
        if number == 1:
            return None
        if number == 2:
            return bool(value)
        if number == 3:
            return _signed(value) if isinstance(value, int) else None
        if number == 4:
            return value
        if number == 5 and not isinstance(value, int):
            return struct.unpack("<d", value)[0]
        if number == 6 and not isinstance(value, int):
            return str(value, "utf-8")
        if number == 7:
            return value if isinstance(value, int) else bytes(value)
        raise UnreadableProgram(f"constant kind {number} is not understood")
    return None  # (no kind set: the null constant)


def _text(value: int | _Bytes) -> str:
    if isinstance(value, int):
        raise UnreadableProgram("a string field holds a number")
    return str(value, "utf-8")


def _message(value: int | _Bytes) -> _Bytes:
    if isinstance(value, int):
        raise UnreadableProgram("a message field holds a number")
    return value


def expression(data: _Bytes) -> Node:
    """The tree of one serialized cel.expr.Expr."""
    for number, value in _fields(data):
        if number == 3:
            return ("const", _constant(_message(value)))
        if number == 4:
            return ("ident", next((_text(v) for n, v in _fields(_message(value)) if n == 1), ""))
        if number == 5:
            operand, name, test_only = None, "", False
            for n, v in _fields(_message(value)):
                if n == 1:
                    operand = expression(_message(v))
                elif n == 2:
                    name = _text(v)
                elif n == 3:
                    test_only = bool(v)
            if operand is None:
                raise UnreadableProgram("a selection without an operand")
            return ("select", operand, name, test_only)
        if number == 6:
            target, function, args = None, "", []
            for n, v in _fields(_message(value)):
                if n == 1:
                    target = expression(_message(v))
                elif n == 2:
                    function = _text(v)
                elif n == 3:
                    args.append(expression(_message(v)))
            return ("call", target, function, tuple(args))
        if number == 7:
            elements, optional = [], []
            for n, v in _fields(_message(value)):
                if n == 1:
                    elements.append(expression(_message(v)))
                elif n == 2:
                    optional.extend([v] if isinstance(v, int) else _packed(v))
            return ("list", tuple(elements), tuple(optional))
        if number == 8:
            return _struct(_message(value))
        if number == 9:
            return _comprehension(_message(value))
    raise UnreadableProgram("an expression of no kind")


def _packed(data: _Bytes) -> list[int]:
    values, i = [], 0
    while i < len(data):
        value, i = _varint(data, i)
        values.append(value)
    return values


def _struct(data: _Bytes) -> Node:
    message_name, entries = "", []
    for number, value in _fields(data):
        if number == 1:
            message_name = _text(value)
        elif number == 2:
            key: Node | str | None = None
            entry_value, optional = None, False
            for n, v in _fields(_message(value)):
                if n == 2:
                    key = _text(v)
                elif n == 3:
                    key = expression(_message(v))
                elif n == 4:
                    entry_value = expression(_message(v))
                elif n == 5:
                    optional = bool(v)
            if key is None or entry_value is None:
                raise UnreadableProgram("a map entry without its key or value")
            entries.append((key, entry_value, optional))
    return ("struct", message_name, tuple(entries)) if message_name else ("map", tuple(entries))


def _comprehension(data: _Bytes) -> Node:
    names = {1: "", 3: "", 8: ""}
    parts: dict[int, Node] = {}
    for number, value in _fields(data):
        if number in names:
            names[number] = _text(value)
        elif number in (2, 4, 5, 6, 7):
            parts[number] = expression(_message(value))
    if len(parts) != 5:
        raise UnreadableProgram("a comprehension without all its parts")
    return ("comprehension", names[1], names[8], parts[2], names[3], parts[4], parts[5], parts[6], parts[7])


def tree(serialized: bytes) -> Node:
    """The tree of a program as the runtime serializes it (an Any of a CheckedExpr or a ParsedExpr)."""
    type_url = ""
    payload: _Bytes = b""
    for number, value in _fields(memoryview(serialized)):
        if number == 1:
            type_url = _text(value)
        elif number == _ANY_VALUE:
            payload = _message(value)
    wanted = {"type.googleapis.com/cel.expr.CheckedExpr": _CHECKED_EXPR,
              "type.googleapis.com/cel.expr.ParsedExpr": _PARSED_EXPR}.get(type_url)
    if wanted is None:
        raise UnreadableProgram(f"not a serialized CEL program: {type_url or 'no type'}")
    for number, value in _fields(payload):
        if number == wanted:
            return expression(_message(value))
    raise UnreadableProgram("a program without its expression")
