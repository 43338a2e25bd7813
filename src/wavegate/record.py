"""`@record`: wavegate's data classes, made without the `dataclasses` module.

A record is what `@dataclasses.dataclass` makes for the options wavegate uses: fields declared by
annotations, in order and inherited from base records; `field(default=..., default_factory=...,
init=..., repr=..., compare=..., hash=...)`; `@record(frozen=True)` and `@record(slots=True)`; the
same `__init__` parameters, `__repr__`, `__eq__` and `__hash__`. `fields`, `replace` and `asdict`
are those of dataclasses. tests/unit/test_record.py compares records with dataclasses.

Why not dataclasses itself: a `validate` run imports about 75 of these classes, and Python 3.11's
dataclasses compiles every one's methods from source text when the class is defined (32-36 ms of
every run at round 15), and importing it imports `inspect` (and with it `ast`, `dis`, `tokenize`:
15 ms). Here `__repr__`, `__eq__`, `__hash__`, and a frozen class's `__setattr__` and
`__delattr__`, are shared functions, reading the fields through one `operator.attrgetter` made when
the class is defined; `__init__`, the one method that must be compiled to be fast, is compiled
when the class makes its first object, and many of the classes a run imports never make one.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)
V = TypeVar("V")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen record."""


class Field:
    """One field of a record (what `field()` declares, and `fields()` gives)."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare", "hash")

    def __init__(self, default=MISSING, default_factory=MISSING, init: bool = True, repr: bool = True,
                 compare: bool = True, hash: bool | None = None) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.compare, self.hash = init, repr, compare, hash

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r}, "
                f"init={self.init}, repr={self.repr}, compare={self.compare}, hash={self.hash})")


@overload
def field(*, default: V, init: bool = True, repr: bool = True, compare: bool = True,
          hash: bool | None = None) -> V: ...


@overload
def field(*, default_factory: Callable[[], V], init: bool = True, repr: bool = True, compare: bool = True,
          hash: bool | None = None) -> V: ...


@overload
def field(*, init: bool = True, repr: bool = True, compare: bool = True, hash: bool | None = None) -> Any: ...


def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, compare=True, hash=None):
    """A field's options, as dataclasses.field."""
    return Field(default, default_factory, init, repr, compare, hash)


def fields(record_or_class) -> tuple[Field, ...]:
    """The fields of a record (or record class), in order."""
    try:
        return record_or_class._record_fields
    except AttributeError:
        raise TypeError("fields() takes a record or a record class") from None


def replace(obj: V, /, **changes) -> V:
    """A copy of the record `obj` with `changes`, made by its class (as dataclasses.replace)."""
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def asdict(obj) -> dict:
    """A record as a dict, the records, lists, tuples and dicts in it as well (as dataclasses.asdict)."""
    import copy

    def plain(value):
        if hasattr(type(value), "_record_fields"):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(plain(v) for v in value)
        if isinstance(value, dict):
            return type(value)((plain(k), plain(v)) for k, v in value.items())
        return copy.deepcopy(value)

    if not hasattr(type(obj), "_record_fields"):
        raise TypeError("asdict() takes a record")
    return plain(obj)


def _values(names: list[str]) -> Callable[[Any], tuple]:
    """The named attributes of an object, as a tuple (as dataclasses' generated methods compare them)."""
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
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _first_init(self, *args, **kwargs) -> None:
    """A record's `__init__` until its first object: compiles the real one, puts it in its place."""
    owner = next(c for c in type(self).__mro__ if c.__dict__.get("__init__") is _first_init)
    owner.__init__ = _compiled_init(owner)  # type: ignore[misc]
    owner.__init__(self, *args, **kwargs)  # type: ignore[misc]


def _compiled_init(cls: type) -> Callable[..., None]:
    """The `__init__` dataclasses writes for `cls`: the init fields as parameters, in order, with
    their defaults; a default factory called for each object; fields with init=False set from
    their factory (or, with slots, their default), else left to the class attribute."""
    frozen, slots = cls._record_frozen, "__slots__" in cls.__dict__  # type: ignore[attr-defined]
    names: dict[str, object] = {"_MISSING": MISSING, "_setattr": object.__setattr__}
    parameters, body = ["self"], []
    for f in fields(cls):
        if f.default_factory is not MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            if f.init:
                parameters.append(f"{f.name}=_MISSING")
                value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
            else:
                value = f"_factory_{f.name}()"
        elif f.init:
            if f.default is not MISSING:
                names[f"_default_{f.name}"] = f.default
                parameters.append(f"{f.name}=_default_{f.name}")
            else:
                parameters.append(f.name)
            value = f.name
        elif slots and f.default is not MISSING:
            names[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        else:
            continue
        body.append(f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    text = f"def __init__({', '.join(parameters)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    exec(compile(text, f"<record {cls.__qualname__}.__init__>", "exec"), names)  # (text made above, from fields)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    return init  # type: ignore[return-value]


def _is_class_var(annotation) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return text.replace("typing.", "").startswith("ClassVar")


def _declared(cls: type) -> tuple[Field, ...]:
    """The fields of `cls`: its base records' (in method resolution order), then its own
    annotations'; a field's default replaces its Field as the class attribute."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("_record_fields", ()):
            found[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_class_var(annotation):
            continue
        default = cls.__dict__.get(name, MISSING)
        f = default if isinstance(default, Field) else Field(default)
        f.name = name
        if isinstance(default, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        found[name] = f
    declared = tuple(found.values())
    defaulted = None
    for f in declared:
        if not f.init:
            continue
        if f.default is MISSING and f.default_factory is MISSING:
            if defaulted is not None:
                raise TypeError(f"non-default argument {f.name!r} follows default argument {defaulted!r}")
        else:
            defaulted = f.name
    return declared


def _with_slots(cls: type, declared: tuple[Field, ...]) -> type:
    """`cls` made again with a slot for each of its own fields (a class's slots are fixed when it
    is made), as dataclasses does."""
    inherited = {name for base in cls.__mro__[1:] for name in base.__dict__.get("__slots__", ())}
    body = dict(cls.__dict__)
    own = tuple(f.name for f in declared if f.name not in inherited)
    for name in own:
        body.pop(name, None)  # (a default stays in the Field: a class attribute would shadow the slot)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = own
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def _finish(cls: type, frozen: bool, slots: bool) -> type:
    own = dict(cls.__dict__)
    declared = _declared(cls)
    if slots:
        if frozen:  # (pickling one would need a __setstate__ of its own)
            raise TypeError(f"{cls.__name__}: a record is frozen or has slots, not both")
        cls = _with_slots(cls, declared)
    cls._record_fields = declared  # type: ignore[attr-defined]
    cls._record_frozen = frozen  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(f.name for f in declared if f.init)  # type: ignore[attr-defined,misc]
    if "__init__" not in own:
        cls.__init__ = _first_init  # type: ignore[misc]
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"Cannot overwrite attribute __setattr__ or __delattr__ in class {cls.__name__}")
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment,method-assign]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment,method-assign]
    if "__repr__" not in own:
        shown = [f.name for f in declared if f.repr]
        cls._record_shown = tuple(shown)  # type: ignore[attr-defined]
        cls._record_repr = staticmethod(_values(shown))  # type: ignore[attr-defined]
        cls.__repr__ = _repr  # type: ignore[assignment]
    if "__eq__" not in own:
        cls._record_compared = staticmethod(_values([f.name for f in declared if f.compare]))  # type: ignore[attr-defined]
        cls.__eq__ = _eq  # type: ignore[assignment,method-assign]
        if "__hash__" not in own:  # (as dataclass: a frozen record hashes its fields, a mutable one is unhashable)
            hashed = [f.name for f in declared if (f.compare if f.hash is None else f.hash)]
            cls._record_hashed = staticmethod(_values(hashed))  # type: ignore[attr-defined]
            cls.__hash__ = _hash if frozen else None  # type: ignore[assignment,method-assign]
    return cls


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(field, Field))
def record(cls=None, /, *, frozen: bool = False, slots: bool = False):
    """`cls` as a record (dataclasses.dataclass(cls, frozen=frozen, slots=slots), see above)."""

    def wrap(cls: T) -> T:
        return _finish(cls, frozen, slots)  # type: ignore[return-value]

    return wrap if cls is None else wrap(cls)
