"""wavegate.record: the same classes as dataclasses.dataclass makes, for less at import."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import field
from pathlib import Path

import pytest

import wavegate
from wavegate.record import record


def _twins(frozen: bool = False):
    """The same class made by @dataclass and by @record."""

    def body():
        class Shape:
            name: str
            size: int = 0
            tags: list = field(default_factory=list, compare=False, repr=False)
            note: str = field(default="", hash=False)

        return Shape

    return dataclasses.dataclass(frozen=frozen)(body()), record(frozen=frozen)(body())


@pytest.mark.parametrize("frozen", [False, True])
def test_repr_eq_and_hash_are_those_of_a_dataclass(frozen):
    made, recorded = _twins(frozen)
    for args in [("a",), ("a", 2, ["x"], "n"), ("b", 2, [], "n"), ("a", 2, ["y"], "m"), ("a", float("nan"))]:
        one, two = made(*args), recorded(*args)
        assert repr(one) == repr(two)
        for other_args in [("a",), ("a", 2, ["z"], "n"), ("a", 2, ["x"], "other")]:
            assert (one == made(*other_args)) == (two == recorded(*other_args))
            assert (one != made(*other_args)) == (two != recorded(*other_args))
        if frozen:
            assert hash(one) == hash(two)
            with pytest.raises(dataclasses.FrozenInstanceError):
                two.size = 3
        else:
            with pytest.raises(TypeError, match="unhashable"):
                hash(two)
    nan = float("nan")  # (the same object: equal in a tuple; two NaNs: not)
    assert (made("a", nan) == made("a", nan)) is (recorded("a", nan) == recorded("a", nan)) is True
    assert (made("a", nan) == made("a", float("nan"))) is (recorded("a", nan) == recorded("a", float("nan"))) is False
    assert recorded("a") != made("a") and recorded("a").__eq__(made("a")) is NotImplemented
    assert [(f.name, f.compare, f.repr, f.hash) for f in dataclasses.fields(recorded)] == \
        [(f.name, f.compare, f.repr, f.hash) for f in dataclasses.fields(made)]
    assert dataclasses.replace(recorded("a", 1), size=5) == recorded("a", 5)
    assert dataclasses.asdict(recorded("a", 1)) == dataclasses.asdict(made("a", 1))


def test_small_classes_slots_subclasses_and_own_methods():
    @record(frozen=True)
    class One:
        value: object

    @record
    class Empty:
        pass

    @record(slots=True)
    class Slotted:
        x: int
        y: int = 1

    @record
    class Base:
        a: int

    @record
    class Derived(Base):
        b: int = 2

    @record
    class Secret:
        token: str

        def __repr__(self) -> str:
            return "Secret(***)"

    assert repr(One(1)) == "test_small_classes_slots_subclasses_and_own_methods.<locals>.One(value=1)"
    assert One(1) == One(1) and hash(One(1)) == hash(One(1)) and One(1) != One(2)
    assert Empty() == Empty() and repr(Empty()).endswith("Empty()")
    assert Slotted(1) == Slotted(1, 1) and not hasattr(Slotted(1), "__dict__")
    assert repr(Derived(1)).endswith("Derived(a=1, b=2)") and Derived(1) != Base(1) and Derived(1, 3) == Derived(1, 3)
    assert repr(Secret("abc")) == "Secret(***)"


def test_a_record_that_holds_itself_prints():
    @record
    class Node:
        children: list

    node = Node([])
    node.children.append(node)
    assert repr(node).endswith("Node(children=[...])")


def test_wavegate_makes_its_dataclasses_with_record():
    """@dataclass compiles its methods per class at import (wavegate.record): one way for every class."""
    found = []
    for path in Path(wavegate.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                    if name == "dataclass":
                        found.append(f"{path.name}:{node.lineno} {node.name}")
    assert found == [], "use wavegate.record.record"
