"""`@record`: a dataclass whose comparison and printing are shared functions, not compiled per class.

Python 3.11's dataclasses write each class's `__init__`, `__repr__` and `__eq__` (and, for a frozen
class, `__hash__`, `__setattr__` and `__delattr__`) as source text and compile it when the class is
defined: for the 70 classes a `validate` run imports, 32-36 ms of every run (round 15). `@record`
(and `@record(frozen=True)`, `@record(slots=True)`) is `dataclasses.dataclass` with the same
`__init__`, fields and frozenness, and with `__repr__`, `__eq__` and `__hash__` that read the
class's fields through one `operator.attrgetter` made when the class is defined: the same results
as the generated ones (field options `repr`, `compare` and `hash` included), for 22-23 ms at
import. (Python 3.13 compiles a dataclass's methods together; when wavegate needs it, `@record`
can become `@dataclass` again.)
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)


def _values(names: list[str]) -> Callable[[Any], tuple]:
    """The named attributes of an object, as a tuple (as the generated methods compare them)."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


@reprlib.recursive_repr()
def _repr(self) -> str:
    cls = type(self)
    shown = ", ".join(f"{name}={value!r}" for name, value in zip(cls._record_shown, cls._record_repr(self), strict=True))
    return f"{cls.__qualname__}({shown})"


def _eq(self, other):
    if other.__class__ is self.__class__:
        return self._record_compared(self) == other._record_compared(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(self._record_hashed(self))


def _finish(cls: type, frozen: bool, own: dict) -> type:
    fields = dataclasses.fields(cls)
    if "__repr__" not in own:
        shown = [f.name for f in fields if f.repr]
        cls._record_shown = tuple(shown)  # type: ignore[attr-defined]
        cls._record_repr = staticmethod(_values(shown))  # type: ignore[attr-defined]
        cls.__repr__ = _repr  # type: ignore[assignment]
    if "__eq__" not in own:
        cls._record_compared = staticmethod(_values([f.name for f in fields if f.compare]))  # type: ignore[attr-defined]
        cls.__eq__ = _eq  # type: ignore[assignment,method-assign]
        if "__hash__" not in own:  # (as dataclass: a frozen record hashes its fields, a mutable one is unhashable)
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            cls._record_hashed = staticmethod(_values(hashed))  # type: ignore[attr-defined]
            cls.__hash__ = _hash if frozen else None  # type: ignore[assignment,method-assign]
    return cls


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls=None, /, *, frozen: bool = False, slots: bool = False):
    """dataclasses.dataclass(cls, frozen=frozen, slots=slots), with shared __repr__, __eq__ and __hash__."""

    def wrap(cls: T) -> T:
        own = dict(cls.__dict__)
        made: type = dataclasses.dataclass(cls, repr=False, eq=False, frozen=frozen, slots=slots)
        return _finish(made, frozen, own)  # type: ignore[return-value]

    return wrap if cls is None else wrap(cls)
