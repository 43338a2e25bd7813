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

Two more costs of `@dataclass` are gone too (round 19): a frozen class's `__setattr__` and
`__delattr__` are shared functions, and a class's `__init__` is compiled when the class is first
instantiated, not when it is defined: of the 70-odd classes a run imports, many never make an
object. The `__init__` is the one dataclasses writes: the same parameters, defaults and default
factories, and fields with `init=False` set the same way.
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


def _frozen_setattr(self, name: str, value) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _first_init(self, *args, **kwargs) -> None:
    """A record's `__init__` until its first object: compiles the real one, puts it in its place."""
    owner = next(c for c in type(self).__mro__ if c.__dict__.get("__init__") is _first_init)
    owner.__init__ = _compiled_init(owner)  # type: ignore[misc]
    owner.__init__(self, *args, **kwargs)  # type: ignore[misc]


def _compiled_init(cls: type) -> Callable[..., None]:
    """The `__init__` dataclasses writes for `cls` (Python 3.11's dataclasses._init_fn, for the
    field options wavegate uses: defaults, default factories, init=False)."""
    frozen, slots = cls._record_frozen, "__slots__" in cls.__dict__  # type: ignore[attr-defined]
    names: dict[str, object] = {"_MISSING": _MISSING, "_setattr": object.__setattr__}
    parameters, body = ["self"], []
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            if f.init:
                parameters.append(f"{f.name}=_MISSING")
                value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
            else:
                value = f"_factory_{f.name}()"
        elif f.init:
            if f.default is not dataclasses.MISSING:
                names[f"_default_{f.name}"] = f.default
                parameters.append(f"{f.name}=_default_{f.name}")
            else:
                parameters.append(f.name)
            value = f.name
        elif slots and f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        else:
            continue  # (read from the class attribute that holds the default)
        body.append(f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    text = f"def __init__({', '.join(parameters)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    exec(compile(text, f"<record {cls.__qualname__}.__init__>", "exec"), names)  # (text made above, from fields)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    return init  # type: ignore[return-value]


_MISSING = object()


def _finish(cls: type, frozen: bool, own: dict) -> type:
    fields = dataclasses.fields(cls)
    cls._record_frozen = frozen  # type: ignore[attr-defined]
    if "__init__" not in own:
        cls.__init__ = _first_init  # type: ignore[misc]
    if frozen:
        if "__slots__" in cls.__dict__:  # (pickling one needs dataclasses' own __setstate__)
            raise TypeError(f"{cls.__name__}: a record is frozen or has slots, not both")
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"Cannot overwrite attribute __setattr__ or __delattr__ in class {cls.__name__}")
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment,method-assign]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment,method-assign]
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
        if not cls.__doc__:  # (else dataclasses writes one with inspect.signature, at import)
            cls.__doc__ = cls.__name__
        made: type = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots)
        return _finish(made, frozen, own)  # type: ignore[return-value]

    return wrap if cls is None else wrap(cls)
