"""SimpleSchema -> OpenAPI v3, as kro v0.9.3/HEAD turns `spec.schema.spec` and `spec.schema.types`
into the instance CRD's `spec` schema (kro `pkg/simpleschema`; the behaviour is specified in
shared/reference/kro-facts.md section 2).

The pieces, in kro's order:

* `parse_type` - the type grammar (`string integer boolean float object []T map[string]T Custom`),
  nesting limited to 16 levels;
* `parse_markers` - the marker tokenizer, a character state machine (quotes, escapes, brackets)
  with kro's error texts;
* custom types - parsed first, ordered by a dependency DAG (cycles and missing types reported the
  way kro reports them), built in topological order and inlined as deep copies; an alias carries
  its `required`;
* `buildSchema` - objects, the automatic `default: {}` rule, sorted `required`.

Every error is a `SimpleSchemaError` that carries the YAML path of the offending key inside the
RGD document (`spec.schema.spec.git.url`), kro's own innermost message, and the message as kro
wraps it (`field git: field url: ...`). Functions here are pure and never touch the network.

Go semantics that matter are reproduced: `strconv.ParseBool/ParseInt/ParseFloat` syntax,
`unicode.IsSpace`, `strings.TrimSpace`, JSON numbers printed the way Go prints float64.
Regular expressions are checked with RE2 (`google-re2`), as Go's regexp is RE2.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from wavegate.record import record
from wavegate.regex import lazy_compile

SPEC_PATH = ("spec", "schema", "spec")
TYPES_PATH = ("spec", "schema", "types")

MAX_TYPE_NESTING = 16
MARKERS = ("required", "default", "description", "minimum", "maximum", "validation", "enum",
           "immutable", "pattern", "uniqueItems", "minLength", "maxLength", "minItems", "maxItems",
           "listType", "listMapKey")
ATOMIC_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "float": "number"}
LIST_TYPES = ("atomic", "set", "map")

# Error categories, so callers can tell a bad type from a bad marker.
TYPE = "type"
MARKER = "marker"
STRUCTURE = "structure"


class SimpleSchemaError(Exception):
    """A SimpleSchema problem kro would reject (or that makes the generated CRD invalid).

    `path` is the tuple of keys of the offending field inside the RGD document, e.g.
    ("spec", "schema", "spec", "git", "url"); `field` is the same path dotted. `message` is the
    innermost error text, as kro words it; `kro_message` is the text as kro wraps it
    ("field git: field url: ..."), without the outer "failed to build ..." prefixes. `category`
    is "type", "marker" or "structure"; `from_kro` is False for the few problems kro lets
    through but the API server then rejects (a default that is not JSON, for example).
    """

    def __init__(self, path: tuple | str, message: str, *, kro_message: str | None = None,
                 category: str = STRUCTURE, from_kro: bool = True):
        self.path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        self.message = message
        self.kro_message = kro_message if kro_message is not None else message
        self.category = category
        self.from_kro = from_kro
        super().__init__(f"{self.field}: {message}" if self.path else message)

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.path)


class _Fail(Exception):
    """Internal: an error on the way up, before the wrapping and the path are known."""

    def __init__(self, message: str, category: str, from_kro: bool = True):
        super().__init__(message)
        self.message = message
        self.category = category
        self.from_kro = from_kro


class _Skip(Exception):
    """Internal: the field uses a custom type that already failed; its error was reported."""


# --------------------------------------------------------------------------------------------
# Go helpers


def go_is_space(c: str) -> bool:
    """unicode.IsSpace."""
    if c in "\t\n\v\f\r \x85\xa0":
        return True
    return ord(c) > 0xFF and c.isspace()


def go_trim_space(s: str) -> str:
    """strings.TrimSpace."""
    start, end = 0, len(s)
    while start < end and go_is_space(s[start]):
        start += 1
    while end > start and go_is_space(s[end - 1]):
        end -= 1
    return s[start:end]


def go_quote(s: str) -> str:
    """strconv.Quote / %q, for the characters that occur in practice."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_INT_RE = lazy_compile(r"[+-]?[0-9]+\Z")
_DIGITS = r"[0-9](?:_?[0-9])*"
_HEXDIGITS = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_FLOAT_RE = lazy_compile(
    rf"[+-]?(?:(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?"
    rf"|0[xX]_?(?:{_HEXDIGITS}(?:\.(?:{_HEXDIGITS})?)?|\.{_HEXDIGITS})[pP][+-]?{_DIGITS})\Z")
_SPECIAL_FLOAT = lazy_compile(r"[+-]?(?:inf|infinity)\Z|nan\Z", re.IGNORECASE)


def parse_bool(text: str) -> bool:
    """strconv.ParseBool; raises ValueError with Go's message."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(text)}: invalid syntax")


def parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64); raises ValueError with Go's message."""
    if not _INT_RE.match(text):
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2 ** 63) <= value < 2 ** 63:
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


def parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 64); raises ValueError with Go's message."""
    if _SPECIAL_FLOAT.match(text):
        return float(text.replace("inity", "").replace("INITY", "").replace("Inity", ""))
    if not _FLOAT_RE.match(text):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax")
    clean = text.replace("_", "")
    body = clean.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        value = float.fromhex(clean)
    else:
        value = float(clean)
    if math.isinf(value):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: value out of range")
    return value


def go_number(value: float) -> int | float:
    """A float64 as Go's encoding/json prints it: `1`, not `1.0`."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return int(value)
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: str) -> Any:
    """Decode raw JSON the way the API server would (strict: no NaN, no Infinity)."""
    return json.loads(raw, parse_constant=_reject_constant)


# --------------------------------------------------------------------------------------------
# Markers


@record(frozen=True)
class Marker:
    key: str
    value: str


class MarkerSyntaxError(ValueError):
    pass


def parse_markers(text: str) -> list[Marker]:
    """kro `ParseMarkers`: the text after the first `|` of a field, as a list of markers.

    Raises MarkerSyntaxError with kro's message: `empty marker key`, `invalid marker key "k":
    unknown marker: k`, `unmatched closing bracket/brace`, `marker key '...' without a value`,
    `unclosed quote`, `unclosed bracket/brace`.
    """
    result: list[Marker] = []
    key: str | None = None
    in_quotes = False
    brackets = 0
    escaped = False
    buffer: list[str] = []
    for char in text:
        if char == "=" and key is None and not in_quotes and brackets == 0:
            name = go_trim_space("".join(buffer))
            if name == "":
                raise MarkerSyntaxError("empty marker key")
            if name not in MARKERS:
                raise MarkerSyntaxError(f"invalid marker key {go_quote(name)}: unknown marker: {name}")
            key = name
            buffer = []
        elif char == '"' and not escaped:
            in_quotes = not in_quotes
            buffer.append(char)
        elif char == "\\" and in_quotes and not escaped:
            escaped = True
            buffer.append(char)
        elif char in "{[" and not in_quotes:
            brackets += 1
            buffer.append(char)
        elif char in "}]" and not in_quotes:
            brackets -= 1
            buffer.append(char)
            if brackets < 0:
                raise MarkerSyntaxError("unmatched closing bracket/brace")
        elif go_is_space(char) and not in_quotes and brackets == 0:
            if key is not None:
                result.append(Marker(key, _process_value("".join(buffer))))
                key = None
                buffer = []
        else:
            if escaped and in_quotes:
                escaped = False
            buffer.append(char)
    if key is not None:
        result.append(Marker(key, _process_value("".join(buffer))))
    else:
        raise MarkerSyntaxError(f"marker key '{''.join(buffer)}' without a value")
    if in_quotes:
        raise MarkerSyntaxError("unclosed quote")
    if brackets > 0:
        raise MarkerSyntaxError("unclosed bracket/brace")
    return result


def _process_value(value: str) -> str:
    if len(value) >= 1 and value.startswith('"') and value.endswith('"'):
        return _unescape(value[1:-1])
    return go_trim_space(value)


def _unescape(s: str) -> str:
    out: list[str] = []
    escaped = False
    for char in s:
        if escaped:
            if char not in '"\\':
                out.append("\\")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Types


@record(frozen=True)
class Atomic:
    name: str  # string integer boolean float


@record(frozen=True)
class Object:
    pass


@record(frozen=True)
class Slice:
    elem: Type


@record(frozen=True)
class Map:
    value: Type


@record(frozen=True)
class Custom:
    name: str


@record(frozen=True)
class Struct:
    fields: tuple[tuple[str, Type], ...]


Type = Atomic | Object | Slice | Map | Custom | Struct


class TypeSyntaxError(ValueError):
    pass


def parse_type(text: str) -> Type:
    """kro `ParseTypeString`: the type part of a field string (before the first `|`)."""
    type_text = go_trim_space(text.split("|", 1)[0])
    if type_text == "":
        raise TypeSyntaxError("empty type")
    return _parse_type(type_text, 0)


def _parse_type(s: str, depth: int) -> Type:
    if depth > MAX_TYPE_NESTING:
        raise TypeSyntaxError(f"type nesting too deep (max {MAX_TYPE_NESTING}): {go_quote(s)}")
    s = go_trim_space(s)
    if s in ATOMIC_TYPES:
        return Atomic(s)
    if s == "object":
        return Object()
    if s.startswith("[]"):
        elem = s[2:]
        if elem == "":
            raise TypeSyntaxError("empty slice element type")
        return Slice(_parse_type(elem, depth + 1))
    if s.startswith("map["):
        if not s.startswith("map[string]"):
            raise TypeSyntaxError("map key must be string")
        rest = go_trim_space(s[len("map[string]"):])
        if rest == "":
            raise TypeSyntaxError("map value type is required")
        return Map(_parse_type(rest, depth + 1))
    return Custom(s)


def type_deps(t: Type) -> list[str]:
    if isinstance(t, Custom):
        return [t.name]
    if isinstance(t, Slice):
        return type_deps(t.elem)
    if isinstance(t, Map):
        return type_deps(t.value)
    if isinstance(t, Struct):
        deps: list[str] = []
        for _name, field_type in t.fields:
            deps.extend(type_deps(field_type))
        return deps
    return []


def go_type_name(value: Any) -> str:
    """What Go's %T prints for a value decoded from JSON into interface{}."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "string"


def _parse_spec(spec: Any) -> Type:
    """kro `parseSpec`: a custom type definition, for its dependencies."""
    if isinstance(spec, str):
        return parse_type(spec)
    if isinstance(spec, dict):
        fields = []
        for key in sorted(spec, key=str):
            name = str(key)
            try:
                fields.append((name, _parse_spec(spec[key])))
            except _Located as located:
                raise _Located((name,) + located.path, f"field {name}: {located.kro}", located.inner,
                               located.category) from None
            except TypeSyntaxError as error:
                raise _Located((name,), f"field {name}: {error}", str(error), TYPE) from None
        return Struct(tuple(fields))
    raise TypeSyntaxError(f"unexpected type: {go_type_name(spec)}")


class _Located(Exception):
    def __init__(self, path: tuple, kro: str, inner: str, category: str):
        self.path, self.kro, self.inner, self.category = path, kro, inner, category


# --------------------------------------------------------------------------------------------
# Schema building


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _atomic_schema(name: str) -> dict:
    return {"type": ATOMIC_TYPES[name]}


class _Builder:
    """kro's transformer. With `errors` it records every independent error instead of raising."""

    def __init__(self, errors: list[SimpleSchemaError] | None, incomplete: list[tuple] | None = None):
        self.errors = errors
        self.incomplete = incomplete if incomplete is not None else []
        self.types: dict[str, tuple[dict, bool]] = {}
        self.bad_types: set[str] = set()

    # -- error plumbing ---------------------------------------------------------------------

    def _report(self, error: SimpleSchemaError) -> None:
        if self.errors is None:
            raise error
        self.errors.append(error)

    # -- custom types -------------------------------------------------------------------------

    def load_types(self, types: dict) -> None:
        types = {str(name): spec for name, spec in types.items()}
        parsed: dict[str, Type] = {}
        for name in sorted(types):
            try:
                parsed[name] = _parse_spec(types[name])
            except _Located as located:
                self.bad_types.add(name)
                self._report(SimpleSchemaError(TYPES_PATH + (name,) + located.path, located.inner,
                                               kro_message=f"parsing type {name}: {located.kro}",
                                               category=located.category))
            except TypeSyntaxError as error:
                self.bad_types.add(name)
                self._report(SimpleSchemaError(TYPES_PATH + (name,), str(error),
                                               kro_message=f"parsing type {name}: {error}", category=TYPE))
        edges: dict[str, set[str]] = {name: set() for name in types}
        for name in sorted(parsed):
            deps = type_deps(parsed[name])
            problem = None
            for dep in deps:
                if dep not in edges:
                    problem = (f"node {dep} does not exist", dep)
                    break
                if dep == name:
                    problem = ("self references are not allowed", dep)
                    break
            if problem:
                self.bad_types.add(name)
                message, dep = problem
                self._report(SimpleSchemaError(TYPES_PATH + (name,) + _field_using(types[name], dep),
                                               message, category=TYPE))
                continue
            edges[name].update(deps)
            cycle = _find_cycle(edges)
            if cycle:
                edges[name].difference_update(deps)
                self.bad_types.update(cycle[:-1])
                text = "graph contains a cycle: " + " -> ".join(cycle)
                self._report(SimpleSchemaError(TYPES_PATH + (name,), text,
                                               kro_message=f"cyclic dependency in type {name}: {text}",
                                               category=TYPE))
        for name in _topological(edges):
            if name in self.bad_types or name not in parsed:
                continue
            if any(dep in self.bad_types for dep in type_deps(parsed[name])):
                self.bad_types.add(name)  # its dependency's error was reported already
                continue
            spec = types[name]
            try:
                if isinstance(spec, str):
                    parent: dict = {}
                    schema = self.field_from_string(name, spec, parent)
                    self.types[name] = (schema, bool(parent.get("required")))
                else:
                    errors_before = len(self.errors) if self.errors is not None else 0
                    schema = self.build_object(spec, TYPES_PATH + (name,), f"building schema for {name}: ")
                    if self.errors is not None and len(self.errors) > errors_before:
                        self.bad_types.add(name)
                        continue
                    self.types[name] = (schema, False)
            except _Fail as fail:
                self.bad_types.add(name)
                self._report(SimpleSchemaError(TYPES_PATH + (name,), fail.message,
                                               kro_message=f"building schema for {name}: {fail.message}",
                                               category=fail.category, from_kro=fail.from_kro))
            except _Skip:
                self.bad_types.add(name)

    def resolve(self, name: str) -> dict:
        if name in self.bad_types:
            raise _Skip()
        if name not in self.types:
            raise _Fail(f"unknown type: {name}", TYPE)
        return _copy(self.types[name][0])

    def schema_of(self, t: Type) -> dict:
        if isinstance(t, Atomic):
            return _atomic_schema(t.name)
        if isinstance(t, Object):
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        if isinstance(t, Slice):
            return {"type": "array", "items": self.schema_of(t.elem)}
        if isinstance(t, Map):
            return {"type": "object", "additionalProperties": self.schema_of(t.value)}
        if isinstance(t, Custom):
            return self.resolve(t.name)
        raise AssertionError(t)  # Struct only appears in custom type definitions

    # -- objects and fields -------------------------------------------------------------------

    def build_object(self, spec: dict, path: tuple, prefix: str = "") -> dict:
        """kro `buildSchema`. `prefix` is the wrapping kro puts before `field x: ...`."""
        schema: dict = {"type": "object", "properties": {}}
        child_has_default = False
        spec = {str(key): value for key, value in spec.items()}  # YAML may have non-string keys
        for name in sorted(spec):
            field_path = path + (name,)
            try:
                field_schema = self.build_field(name, spec[name], schema, field_path, f"{prefix}field {name}: ")
            except _Fail as fail:
                self.incomplete.append(field_path)
                self._report(SimpleSchemaError(field_path, fail.message,
                                               kro_message=f"{prefix}field {name}: {fail.message}",
                                               category=fail.category, from_kro=fail.from_kro))
                continue
            except _Skip:
                self.incomplete.append(field_path)
                continue
            if field_schema is None:
                self.incomplete.append(field_path)
                continue
            schema["properties"][name] = field_schema
            if "default" in field_schema:
                child_has_default = True
        if schema.get("required"):
            schema["required"] = sorted(schema["required"])
        if not schema.get("required") and child_has_default and "default" not in schema:
            schema["default"] = {}
        return schema

    def build_field(self, name: str, spec: Any, parent: dict, path: tuple, prefix: str) -> dict | None:
        if isinstance(spec, str):
            return self.field_from_string(name, spec, parent)
        if isinstance(spec, dict):
            errors_before = len(self.errors) if self.errors is not None else 0
            schema = self.build_object(spec, path, prefix)
            if self.errors is not None and len(self.errors) > errors_before:
                return None
            return schema
        raise _Fail(f"unexpected type: {go_type_name(spec)}", STRUCTURE)

    def field_from_string(self, name: str, text: str, parent: dict) -> dict:
        """kro `buildFieldFromString`: `<type> [| markers]`."""
        try:
            parsed = parse_type(text)
        except TypeSyntaxError as error:
            raise _Fail(str(error), TYPE) from None
        markers: list[Marker] = []
        if "|" in text:
            try:
                markers = parse_markers(text.split("|", 1)[1])
            except MarkerSyntaxError as error:
                raise _Fail(str(error), MARKER) from None
        schema = self.schema_of(parsed)
        if isinstance(parsed, Custom) and self.types[parsed.name][1]:
            parent.setdefault("required", []).append(name)
        apply_markers(schema, markers, name, parent)
        return schema


def _field_using(spec: Any, type_name: str, path: tuple = ()) -> tuple:
    """The path of the first field of a type definition that mentions `type_name`."""
    if isinstance(spec, dict):
        for key in sorted(spec, key=str):
            value = spec[key]
            if isinstance(value, dict):
                found = _field_using(value, type_name, path + (key,))
                if found != path:
                    return found
            elif isinstance(value, str):
                try:
                    if type_name in type_deps(parse_type(value)):
                        return path + (key,)
                except TypeSyntaxError:
                    pass
    return path


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle as kro prints it (`a -> b -> a`), searched in sorted order; None if acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _topological(edges: dict[str, set[str]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    pending = sorted(edges)
    while pending:
        progress = False
        for node in list(pending):
            if all(dep in done or dep not in edges for dep in edges[node]):
                order.append(node)
                done.add(node)
                pending.remove(node)
                progress = True
        if not progress:  # only possible with a cycle that was already reported
            order.extend(pending)
            break
    return order


# --------------------------------------------------------------------------------------------
# Markers -> OpenAPI


def apply_markers(schema: dict, markers: Iterable[Marker], name: str, parent: dict) -> None:
    """kro `applyMarkers`: in the order written; raises _Fail with kro's messages."""
    for marker in markers:
        _apply_marker(schema, marker, name, parent)
    keys = schema.get("x-kubernetes-list-map-keys")
    list_type = schema.get("x-kubernetes-list-type")
    if keys and list_type != "map":
        if list_type is None:
            raise _Fail("listMapKey set while listType is unset, listType must be set to map", MARKER)
        raise _Fail(f"listMapKey set while listType is set to {list_type}, listType must be set to map", MARKER)


def _apply_marker(schema: dict, marker: Marker, name: str, parent: dict) -> None:
    key, value = marker.key, marker.value
    ty = schema.get("type", "")
    if key == "required":
        try:
            required = parse_bool(value)
        except ValueError as error:
            raise _Fail(f"failed to parse required marker value: {error}", MARKER) from None
        if required:
            parent.setdefault("required", []).append(name)
    elif key == "default":
        schema["default"] = _default_value(ty, value)
    elif key == "description":
        schema["description"] = value
    elif key in ("minimum", "maximum"):
        try:
            number = parse_float(value)
        except ValueError as error:
            raise _Fail(f"failed to parse {key} enum value: {error}", MARKER) from None
        if math.isnan(number) or math.isinf(number):
            raise _Fail(f"{key}={value} is not a finite number; Go cannot write it as JSON, "
                        "so the CRD cannot be created", MARKER, from_kro=False)
        schema[key] = go_number(number)
    elif key == "validation":
        if go_trim_space(value) == "":
            raise _Fail("validation failed", MARKER)
        schema.setdefault("x-kubernetes-validations", []).append({"rule": value, "message": "validation failed"})
    elif key == "immutable":
        try:
            immutable = parse_bool(value)
        except ValueError as error:
            raise _Fail(f"failed to parse immutable marker value: {error}", MARKER) from None
        if immutable:
            schema.setdefault("x-kubernetes-validations", []).append(
                {"rule": "self == oldSelf", "message": "field is immutable"})
    elif key == "enum":
        schema["enum"] = _enum_values(ty, value)
    elif key == "pattern":
        if value == "":
            raise _Fail("pattern marker value cannot be empty", MARKER)
        if ty != "string":
            raise _Fail(f"pattern marker is only valid for string types, got type: {ty}", MARKER)
        problem = regex_problem(value)
        if problem:
            raise _Fail(f"invalid pattern regex: {problem}", MARKER)
        schema["pattern"] = value
    elif key in ("minLength", "maxLength"):
        if ty != "string":
            raise _Fail(f"{key} marker is only valid for string types, got type: {ty}", MARKER)
        try:
            schema[key] = parse_int(value)
        except ValueError as error:
            raise _Fail(f"failed to parse {key} value: {error}", MARKER) from None
    elif key in ("minItems", "maxItems"):
        if ty != "array":
            raise _Fail(f"{key} marker is only valid for array types, got type: {ty}", MARKER)
        try:
            schema[key] = parse_int(value)
        except ValueError as error:
            raise _Fail(f"failed to parse {key} value: {error}", MARKER) from None
    elif key == "uniqueItems":
        try:
            unique = parse_bool(value)
        except ValueError as error:
            raise _Fail(f"failed to parse uniqueItems marker value: {error}", MARKER) from None
        if ty != "array":
            raise _Fail(f"uniqueItems marker is only valid for array types, got type: {ty}", MARKER)
        if unique:
            current = schema.get("x-kubernetes-list-type")
            if current is not None and current != "set":
                raise _Fail(f"cannot set unique when listType is set to {current}", MARKER)
            schema["x-kubernetes-list-type"] = "set"
    elif key == "listType":
        if ty != "array":
            raise _Fail(f"listType marker is only valid for array types, got type: {ty}", MARKER)
        if value not in LIST_TYPES:
            raise _Fail(f"unsupported value for listType {value}, needs to be one of atomic, set, or map", MARKER)
        if schema.get("x-kubernetes-list-type") == "set" and value != "set":
            raise _Fail(f"listType attempting to overwrite set type of {value}", MARKER)
        schema["x-kubernetes-list-type"] = value
    elif key == "listMapKey":
        if ty != "array":
            raise _Fail(f"listMapKey marker is only valid for array types, got type: {ty}", MARKER)
        keys = schema.setdefault("x-kubernetes-list-map-keys", [])
        if value in keys:
            raise _Fail(f"duplicate listMapKey marker, value {value}", MARKER)
        keys.append(value)
    else:  # pragma: no cover - parse_markers only lets known keys through
        raise _Fail(f"unknown marker: {key}", MARKER)


def _default_value(ty: str, value: str) -> Any:
    if ty == "string":
        raw = f'"{value}"'
    elif ty == "integer":
        try:
            parse_int(value)
        except ValueError:
            raise _Fail(f"default value must be a valid integer, got: {value}", MARKER) from None
        raw = value
    elif ty == "number":
        try:
            parse_float(value)
        except ValueError:
            raise _Fail(f"default value must be a valid number, got: {value}", MARKER) from None
        raw = value
    elif ty == "boolean":
        try:
            parse_bool(value)
        except ValueError:
            raise _Fail(f"default value must be a valid boolean, got: {value}", MARKER) from None
        raw = value
    else:
        raw = value
    try:
        return parse_json(raw)
    except ValueError:
        raise _Fail(f"default value {raw} is not valid JSON: kro copies it into the CRD as written, "
                    "and the API server rejects the CRD", MARKER, from_kro=False) from None


def _enum_values(ty: str, value: str) -> list:
    values: list = []
    for item in value.split(","):
        item = go_trim_space(item)
        if item == "":
            raise _Fail("empty enum values are not allowed", MARKER)
        if ty == "string":
            values.append(item)
        elif ty == "integer":
            try:
                parse_int(item)
            except ValueError as error:
                raise _Fail(f"failed to parse integer enum value: {error}", MARKER) from None
            try:
                values.append(parse_json(item))
            except ValueError:
                raise _Fail(f"enum value {item} is not valid JSON: kro copies it into the CRD as written, "
                            "and the API server rejects the CRD", MARKER, from_kro=False) from None
        else:
            raise _Fail(f"enum values only supported for string and integer types, got type: {ty}", MARKER)
    return values


def regex_problem(pattern: str) -> str | None:
    """Why Go's regexp (RE2) would not compile `pattern`, or None. Checked with google-re2, and
    worded the way Go words it where the two differ (`missing closing )`)."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return None
    options = re2.Options()
    options.log_errors = False  # RE2 would print every bad pattern on stderr
    try:
        re2.compile(pattern, options)
    except re2.error as error:
        detail = error.args[0] if error.args else str(error)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        code, _, argument = str(detail).partition(": ")
        code = {"missing )": "missing closing )", "missing ]": "missing closing ]",
                "invalid perl operator": "invalid or unsupported Perl syntax",
                "bad repetition operator": "invalid nested repetition operator"}.get(code, code)
        return f"error parsing regexp: {code}: `{argument}`" if argument else f"error parsing regexp: {code}"
    return None


# --------------------------------------------------------------------------------------------
# Public API

# The order Go's encoding/json writes JSONSchemaProps fields in (apiextensions/v1 types.go).
_KEY_ORDER = ("id", "$schema", "$ref", "description", "type", "format", "title", "default", "maximum",
              "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
              "maxItems", "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties",
              "minProperties", "required", "items", "allOf", "oneOf", "anyOf", "not", "properties",
              "additionalProperties", "patternProperties", "dependencies", "additionalItems",
              "definitions", "externalDocs", "example", "nullable", "x-kubernetes-preserve-unknown-fields",
              "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys",
              "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations")
_RANK = {key: i for i, key in enumerate(_KEY_ORDER)}
_RULE_ORDER = ("rule", "message", "messageExpression", "reason", "fieldPath", "optionalOldSelf")


def canonical(schema: dict) -> dict:
    """`schema` with its keys in Go's order, properties sorted, empty containers dropped."""
    out: dict = {}
    for key in sorted(schema, key=lambda k: (_RANK.get(k, len(_RANK)), k)):
        value = schema[key]
        if value is None:
            continue
        if key == "properties":
            if not value:
                continue
            value = {name: canonical(value[name]) for name in sorted(value)}
        elif key in ("items", "not") and isinstance(value, dict):
            value = canonical(value)
        elif key == "additionalProperties" and isinstance(value, dict):
            value = canonical(value)
        elif key in ("required", "enum", "x-kubernetes-list-map-keys", "x-kubernetes-validations") and value == []:
            continue
        elif key == "x-kubernetes-validations":
            value = [{k: rule[k] for k in _RULE_ORDER if k in rule} for rule in value]
        out[key] = value
    return out


def to_openapi(spec: Any, types: Any = None, *, errors: list[SimpleSchemaError] | None = None,
               incomplete: list[tuple] | None = None) -> dict:
    """The OpenAPI schema kro generates for the instance `.spec` (kro `ToOpenAPISpec`).

    `spec` is `spec.schema.spec` of an RGD, `types` is `spec.schema.types`. Raises the first
    SimpleSchemaError, in sorted field order; with `errors` (a list), every independent error
    is appended there instead and the schema is built from the fields that are valid; the YAML
    paths of the fields left out (or built from a type that failed) are appended to `incomplete`.
    """
    builder = _Builder(errors, incomplete)
    if types is not None and not isinstance(types, dict):
        builder._report(SimpleSchemaError(
            TYPES_PATH, f"failed to unmarshal predefined types: types must be a map of type names, "
                        f"got {go_type_name(types)}", category=STRUCTURE))
        types = None
    if types:
        builder.load_types(types)
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        builder._report(SimpleSchemaError(
            SPEC_PATH, f"failed to unmarshal spec schema: spec must be a map of field names, "
                       f"got {go_type_name(spec)}", category=STRUCTURE))
        spec = {}
    return canonical(builder.build_object(spec, SPEC_PATH))


def check(spec: Any, types: Any = None) -> list[SimpleSchemaError]:
    """Every SimpleSchema problem of `spec.schema.spec` and `spec.schema.types`."""
    errors: list[SimpleSchemaError] = []
    to_openapi(spec, types, errors=errors)
    return errors
