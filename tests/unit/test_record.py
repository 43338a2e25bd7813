"""wavegate.record: the same classes as dataclasses.dataclass makes, for less at import."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import wavegate
from wavegate import record as records
from wavegate.record import record


def _twins(frozen: bool = False):
    """The same class made by @dataclass and by @record."""

    def body(field):
        class Shape:
            name: str
            size: int = 0
            tags: list = field(default_factory=list, compare=False, repr=False)
            note: str = field(default="", hash=False)

        return Shape

    return dataclasses.dataclass(frozen=frozen)(body(dataclasses.field)), record(frozen=frozen)(body(records.field))


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
            with pytest.raises(records.FrozenInstanceError):
                two.size = 3
        else:
            with pytest.raises(TypeError, match="unhashable"):
                hash(two)
    nan = float("nan")  # (the same object: equal in a tuple; two NaNs: not)
    assert (made("a", nan) == made("a", nan)) is (recorded("a", nan) == recorded("a", nan)) is True
    assert (made("a", nan) == made("a", float("nan"))) is (recorded("a", nan) == recorded("a", float("nan"))) is False
    assert recorded("a") != made("a") and recorded("a").__eq__(made("a")) is NotImplemented
    assert [(f.name, f.compare, f.repr, f.hash) for f in records.fields(recorded)] == \
        [(f.name, f.compare, f.repr, f.hash) for f in dataclasses.fields(made)]
    assert records.replace(recorded("a", 1), size=5) == recorded("a", 5)
    assert records.asdict(recorded("a", 1)) == dataclasses.asdict(made("a", 1))


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
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if "dataclasses" in names:
                    found.append(f"{path.name}:{node.lineno} imports dataclasses")
    assert found == [], "use wavegate.record (record, field, fields, replace, asdict)"


def _calls(cls, calls, fields):
    """What each call of `cls` gives: its fields, or the type of the error it raises."""
    results = []
    for args, kwargs in calls:
        try:
            made = cls(*args, **kwargs)
        except TypeError as error:
            results.append(("TypeError", "missing" in str(error), "unexpected" in str(error)))
            continue
        results.append(tuple(getattr(made, f.name, "<unset>") for f in fields(cls)))
    return results


@pytest.mark.parametrize("frozen", [False, True])
def test_the_first_object_makes_the_init_dataclasses_would(frozen):
    def body(field):
        class Options:
            name: str
            count: int = 3
            items: list = field(default_factory=list)
            seen: set = field(default_factory=set, init=False)
            note: str = field(default="none", init=False)
            unset: int = field(init=False)

        return Options

    made = dataclasses.dataclass(frozen=frozen)(body(dataclasses.field))
    recorded = record(frozen=frozen)(body(records.field))
    calls = [(("a",), {}), (("a", 5), {}), (("a",), {"items": [1]}), ((), {"name": "b", "count": 0}),
             ((), {}), (("a", 1, [2], 3), {}), (("a",), {"note": "x"}), (("a",), {"other": 1})]
    assert _calls(recorded, calls, records.fields) == _calls(made, calls, dataclasses.fields)
    assert recorded.__match_args__ == made.__match_args__
    first, second = recorded("a"), recorded("b")
    assert first.items == [] and first.items is not second.items and first.seen is not second.seen
    assert records.replace(first, count=9).count == 9 and records.replace(first, count=9).note == "none"
    with pytest.raises(ValueError, match="init=False"):
        records.replace(first, note="x")
    if frozen:
        with pytest.raises(records.FrozenInstanceError):
            del first.name
        with pytest.raises(records.FrozenInstanceError):
            first.other = 1


def test_declarations_dataclasses_refuses_are_refused():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument 'a'"):
        @record
        class Order:
            a: int = 1
            b: int

    with pytest.raises(ValueError, match="mutable default"):
        @record
        class Shared:
            items: list = []  # (the mistake under test)

    class Plain:
        pass

    with pytest.raises(TypeError):
        records.fields(Plain())
    with pytest.raises(TypeError):
        records.asdict(Plain())


def test_asdict_goes_into_records_lists_and_dicts():
    @record
    class Leaf:
        value: int

    @record
    class Tree:
        leaves: list
        named: dict
        top: Leaf | None = None

    tree = Tree([Leaf(1), Leaf(2)], {"a": Leaf(3)}, Leaf(4))
    assert records.asdict(tree) == {"leaves": [{"value": 1}, {"value": 2}], "named": {"a": {"value": 3}},
                                    "top": {"value": 4}}


def test_importing_wavegate_does_not_import_dataclasses():
    """dataclasses imports inspect (and ast, dis, tokenize): 15 ms of every run that wavegate's
    records do not need."""
    code = "import sys, wavegate.cli, wavegate.pipeline, wavegate.validators; wavegate.validators.checks(); " \
           "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_subclass_and_its_base_each_get_their_own_init():
    @record
    class Base:
        a: int

    @record
    class Derived(Base):
        b: int = 2

    class Plain(Derived):  # (not a record: it uses Derived's)
        pass

    assert (Plain(1).a, Plain(1).b) == (1, 2)
    assert (Derived(1, 3).a, Derived(1, 3).b) == (1, 3) and Base(4).a == 4
    with pytest.raises(TypeError):
        Base(1, 2)


def test_frozen_with_slots_is_refused():
    with pytest.raises(TypeError, match="not both"):
        @record(frozen=True, slots=True)
        class Both:
            x: int
