"""wavegate.cel_syntax reads the tree the CEL runtime evaluates out of its serialized programs."""

from __future__ import annotations

import pytest

from wavegate import cel, cel_syntax


def _tree(expression: str, variables=("object",)):
    return cel.syntax_tree(cel.environment(tuple(variables)).compile(expression))


def test_selections_calls_and_constants():
    assert _tree("object.spec.replicas == 1") == (
        "call", None, "_==_", (("select", ("select", ("ident", "object"), "spec", False), "replicas", False),
                               ("const", 1)))
    assert _tree("has(object.spec)") == ("select", ("ident", "object"), "spec", True)
    assert _tree("object.name.startsWith('a')") == (
        "call", ("select", ("ident", "object"), "name", False), "startsWith", (("const", "a"),))


@pytest.mark.parametrize("text, value", [
    ("-7", -7), ("9223372036854775807", 9223372036854775807), ("-9223372036854775808", -9223372036854775808),
    ("7u", 7), ("1.5", 1.5), ("'é'", "é"), ("b'\\x00\\xff'", b"\x00\xff"), ("true", True), ("false", False),
    ("null", None),
])
def test_constants(text, value):
    node = _tree(f"[{text}]")
    assert node[0] == "list"
    assert node[1][0] == ("const", value)
    assert type(node[1][0][1]) is type(value)


def test_literals_optionals_and_macros():
    assert _tree("{'a': object.x, object.k: 1}") == (
        "map", ((("const", "a"), ("select", ("ident", "object"), "x", False), False),
                (("select", ("ident", "object"), "k", False), ("const", 1), False)))
    optional = _tree("object.?spec.orValue(1)")
    assert optional == ("call", ("call", None, "_?._", (("ident", "object"), ("const", "spec"))), "orValue",
                        (("const", 1),))
    assert _tree("[?object.?x]")[2] == (0,)
    macro = _tree("object.items.all(i, i > 0)")
    assert macro[0] == "comprehension" and macro[1] == "i"
    assert macro[3] == ("select", ("ident", "object"), "items", False)
    bound = _tree("cel.bind(v, object.a, v + 1)")
    assert bound[0] == "comprehension" and bound[4] == "v" and bound[5] == ("select", ("ident", "object"), "a", False)


def test_what_is_not_a_program_is_refused():
    with pytest.raises(cel_syntax.UnreadableProgram):
        cel_syntax.tree(b"\x0a\x03abc")
    with pytest.raises(cel_syntax.UnreadableProgram):
        cel_syntax.tree(b"\x0a\x28type.googleapis.com/cel.expr.CheckedExpr\x12\x05\x22\x03\x10\x01\xff")
    with pytest.raises(cel_syntax.UnreadableProgram):
        cel_syntax.tree(b"\xff")
