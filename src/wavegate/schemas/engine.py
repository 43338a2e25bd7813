"""The built-in schema engine: schemas compiled once into node graphs, instances checked as the API
server checks them.

Three dialects share one traversal:

* ``crd``: a CustomResourceDefinition's structural schema (also the CRD kro generates from an RGD).
  Unknown fields are what the API server prunes silently (unless
  ``x-kubernetes-preserve-unknown-fields``); nulls of non-nullable fields are dropped; defaults are
  applied depth-first before validation; ``x-kubernetes-*`` extensions and CEL rules apply.
* ``builtin``: the JSON schemas of Kubernetes' own kinds (kubernetes-validate's strict set). An
  object with ``additionalProperties: false`` rejects unknown fields, as the API server does under
  strict field validation; ``type: [T, "null"]`` allows null.
* ``json``: plain JSON Schema (Backstage entities): no pruning, no defaulting; null is a type of its
  own; ``additionalProperties: false`` rejects unknown properties.

The traversal is hand-written for the Kubernetes structural subset: it is several times faster than
a generic JSON Schema validator in Python, knows the path of every value for free (so every problem
points at a line), and reproduces the API server's order: prune, default, validate, then CEL.
Instances are never mutated: a subtree that gains defaults or loses pruned fields is copied.
"""

from __future__ import annotations

import base64
import copy
import datetime
import difflib
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import re2

from wavegate.record import field, record
from wavegate.regex import lazy_compile

CRD = "crd"
BUILTIN = "builtin"
JSON = "json"

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True

_VALIDATING_KEYS = frozenset((
    "type", "properties", "required", "enum", "const", "default", "x-kubernetes-validations", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
    "maxItems", "minProperties", "maxProperties", "items", "additionalProperties", "nullable", "anyOf",
    "oneOf", "allOf", "not", "format", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"))
_JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_MISSING = object()


def json_type(value) -> str:
    """The JSON type name of a YAML-loaded value (an integral float counts as an integer)."""
    kind = type(value)
    if kind is str:
        return "string"
    if kind is dict:
        return "object"
    if kind is list:
        return "array"
    if kind is bool:
        return "boolean"
    if kind is int:
        return "integer"
    if kind is float:
        return "integer" if value.is_integer() else "number"
    if value is None:
        return "null"
    return "string"  # dates and other scalars arrive as text from the loader


_TYPE_NAMES = {str: "string", dict: "object", list: "array", bool: "boolean", int: "integer", type(None): "null"}


def _type_ok(types: frozenset, value) -> bool:
    actual = _TYPE_NAMES.get(type(value)) or json_type(value)  # (json_type's answer for the usual types)
    if actual in types:
        return True
    return actual == "integer" and "number" in types


def compile_regex(pattern: str):
    """`pattern` compiled with Go RE2 semantics, or ValueError with RE2's own reason."""
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else str(error)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(str(reason)) from None


class _Pattern:
    """A schema's `pattern`, answered once per distinct string: a repository repeats the same
    names, labels and images thousands of times, and each RE2 search through its Python binding
    costs more than looking the answer up."""

    __slots__ = ("regex", "answers")
    MAX_ANSWERS = 4096  # (then forgotten and learnt again: a bound on memory, never on correctness)

    def __init__(self, regex):
        self.regex = regex
        self.answers: dict[str, bool] = {}

    def matches(self, value: str) -> bool:
        answer = self.answers.get(value)
        if answer is None:
            if len(self.answers) >= self.MAX_ANSWERS:
                self.answers.clear()
            answer = self.answers[value] = self.regex.search(value) is not None
        return answer


@record
class SchemaProblem:
    """Something wrong with a schema itself (a pattern RE2 rejects, a CEL rule that does not
    compile, a default that breaks its own schema). `spath` is the path inside the schema document."""

    spath: tuple
    message: str
    hint: str = ""
    severity: str = "error"  # "info" for rules wavegate cannot evaluate


class Node:
    """One compiled schema. Nodes form a graph (shared and recursive through `$ref`)."""

    __slots__ = (
        "types", "nullable", "props", "required", "additional", "unknown", "items", "enum", "enum_text",
        "pattern", "pattern_src", "lo", "lo_excl", "hi", "hi_excl", "multiple_of", "min_len", "max_len",
        "min_items", "max_items", "min_props", "max_props", "unique_items", "list_type", "map_keys",
        "int_or_string", "preserve", "embedded", "rules", "has_default", "default", "defaults",
        "any_of", "one_of", "all_of", "not_", "const", "has_const", "format", "spath", "meta",
        "plain", "dialect",
    )

    def __init__(self, spath: tuple = (), dialect: str = CRD):
        self.types: frozenset[str] | None = None
        self.nullable = False
        self.props: dict[str, Node] | None = None
        self.required: tuple[str, ...] = ()
        self.additional: Node | bool | None = None
        self.unknown = False
        self.items: Node | None = None
        self.enum: tuple | None = None
        self.enum_text = ""
        self.pattern: _Pattern | None = None
        self.pattern_src: str | None = None
        self.lo: int | float | None = None
        self.hi: int | float | None = None
        self.lo_excl = self.hi_excl = False
        self.multiple_of: int | float | None = None
        self.min_len: int | float | None = None
        self.max_len: int | float | None = None
        self.min_items: int | float | None = None
        self.max_items: int | float | None = None
        self.min_props: int | float | None = None
        self.max_props: int | float | None = None
        self.unique_items = False
        self.list_type: str | None = None
        self.map_keys: tuple[str, ...] = ()
        self.int_or_string = False
        self.preserve = False
        self.embedded = False
        self.rules: list | None = None
        self.has_default = False
        self.default: Any = None
        self.defaults: tuple[tuple[str, Node], ...] = ()
        self.any_of: tuple[Node, ...] = ()
        self.one_of: tuple[Node, ...] = ()
        self.all_of: tuple[Node, ...] = ()
        self.not_: Node | None = None
        self.const: Any = None
        self.has_const = False
        self.format: str | None = None
        self.spath = spath
        self.meta = False  # an ObjectMeta node (metadata of a resource root or embedded resource)
        self.plain = False  # only a type check applies: no children, no constraints
        self.dialect = dialect

    def property_names(self) -> list[str]:
        return sorted(self.props) if self.props else []


# ---------------------------------------------------------------------------------------------
# Compiling


Resolver = Callable[[str], "tuple[str, dict] | None"]


class Compiler:
    """Compiles schema documents of one dialect into nodes, once per `$ref` target.

    `resolve(ref)` returns (a stable key, the schema dict) for a `$ref`, or None when it cannot be
    resolved. `cel` compiles x-kubernetes-validations (see wavegate.schemas.cel); `object_meta`
    supplies the node used for `metadata` of resource roots and embedded resources.
    """

    def __init__(self, dialect: str, resolve: Resolver | None = None, cel=None,
                 object_meta: Callable[[], Node | None] | None = None):
        self.dialect = dialect
        self.resolve = resolve
        self.cel = cel
        self.object_meta = object_meta
        self.memo: dict[str, Node] = {}
        self.problems: list[SchemaProblem] = []
        self._defaults_to_check: list[Node] = []

    # A resource root (a CRD version's openAPIV3Schema, a built-in kind) gets ObjectMeta for metadata.
    def compile_root(self, schema: dict, spath: tuple = ()) -> Node:
        node = self.compile(schema, spath)
        node = self._with_meta(node, schema, spath)
        self.check_defaults()
        return node

    def compile(self, schema, spath: tuple = ()) -> Node:
        if not isinstance(schema, dict):
            node = Node(spath, self.dialect)
            if schema is False:
                node.not_ = Node(spath, self.dialect)  # nothing is valid
            return node
        ref = schema.get("$ref")
        if isinstance(ref, str):
            resolved = self.resolve(ref) if self.resolve else None
            if resolved is None:
                self.problems.append(SchemaProblem(spath + ("$ref",), f"$ref {ref!r} cannot be resolved"))
                return Node(spath, self.dialect)
            key, target = resolved
            if key in self.memo:
                node = self.memo[key]
            else:
                node = self.memo[key] = Node(spath, self.dialect)
                self._fill(node, target, spath)
            siblings = {k: v for k, v in schema.items() if k in _VALIDATING_KEYS}
            if siblings:
                wrapper = self.compile(siblings, spath)
                wrapper.unknown = False
                wrapper.all_of = wrapper.all_of + (node,)
                wrapper.plain = False
                return wrapper
            return node
        node = Node(spath, self.dialect)
        self._fill(node, schema, spath)
        return node

    def _fill(self, node: Node, s: dict, spath: tuple) -> None:
        dialect = self.dialect
        t = s.get("type")
        if isinstance(t, str):
            node.types = frozenset((t,))
        elif isinstance(t, list) and t:
            node.types = frozenset(x for x in t if isinstance(x, str))
        if node.types is not None:
            unknown_types = [x for x in node.types if x not in _JSON_TYPES]
            if unknown_types:
                self.problems.append(SchemaProblem(spath + ("type",), f"type {unknown_types[0]!r} is not an OpenAPI type",
                                                   "Use one of object, array, string, integer, number or boolean."))
                node.types = None
            elif "null" in node.types and dialect != JSON:
                node.nullable = True
                node.types = node.types - {"null"} or None
        if s.get("nullable") is True:
            node.nullable = True
        node.int_or_string = s.get("x-kubernetes-int-or-string") is True
        node.preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
        node.embedded = s.get("x-kubernetes-embedded-resource") is True
        if node.int_or_string:
            node.types = None
        fmt = s.get("format")
        if isinstance(fmt, str) and (dialect != BUILTIN or fmt in ("date-time", "date")):
            node.format = fmt

        props = s.get("properties")
        if isinstance(props, dict):
            node.props = {name: self.compile(sub, spath + ("properties", name)) for name, sub in props.items()}
        req = s.get("required")
        if isinstance(req, list):
            node.required = tuple(r for r in req if isinstance(r, str))
        add = s.get("additionalProperties")
        if add is True or add is False:
            node.additional = add
        elif isinstance(add, dict):
            node.additional = self.compile(add, spath + ("additionalProperties",))
        items = s.get("items")
        if isinstance(items, dict):
            node.items = self.compile(items, spath + ("items",))
        for key, attr in (("anyOf", "any_of"), ("oneOf", "one_of"), ("allOf", "all_of")):
            subs = s.get(key)
            if isinstance(subs, list):
                setattr(node, attr, tuple(self.compile(sub, spath + (key, i)) for i, sub in enumerate(subs)))
        if isinstance(s.get("not"), dict):
            node.not_ = self.compile(s["not"], spath + ("not",))

        if isinstance(s.get("enum"), list):
            node.enum = tuple(s["enum"])
            node.enum_text = ", ".join(_show(v) for v in node.enum)
        if "const" in s:
            node.has_const, node.const = True, s["const"]
        pattern = s.get("pattern")
        if isinstance(pattern, str):
            try:
                node.pattern = _Pattern(compile_regex(pattern))
                node.pattern_src = pattern
            except ValueError as error:
                self.problems.append(SchemaProblem(
                    spath + ("pattern",),
                    f"pattern {pattern!r} is not a valid Go (RE2) regular expression: {error}",
                    "Kubernetes compiles patterns with Go's regexp (RE2): no lookaround, no backreferences, "
                    "no \\Z (write \\z or $)."))
        for key, attr in (("minLength", "min_len"), ("maxLength", "max_len"), ("minItems", "min_items"),
                          ("maxItems", "max_items"), ("minProperties", "min_props"), ("maxProperties", "max_props")):
            value = s.get(key)
            if _is_number(value):
                setattr(node, attr, value)
        for key, attr in (("minimum", "lo"), ("maximum", "hi"), ("multipleOf", "multiple_of")):
            value = s.get(key)
            if _is_number(value):
                setattr(node, attr, value)
        # exclusiveMinimum: a boolean beside minimum (OpenAPI v3 / draft 4), or a number (draft 6+).
        for key, bound, excl in (("exclusiveMinimum", "lo", "lo_excl"), ("exclusiveMaximum", "hi", "hi_excl")):
            value = s.get(key)
            if value is True:
                setattr(node, excl, True)
            elif _is_number(value):
                current = getattr(node, bound)
                if current is None or (bound == "lo" and value >= current) or (bound == "hi" and value <= current):
                    setattr(node, bound, value)
                    setattr(node, excl, True)
        node.unique_items = s.get("uniqueItems") is True
        list_type = s.get("x-kubernetes-list-type")
        # Built-in kinds are validated by Go code, not by their OpenAPI list types (duplicate env
        # names are a warning there, not an error), so list types apply to CRDs only.
        if list_type in ("set", "map", "atomic") and dialect != BUILTIN:
            node.list_type = list_type
        keys = s.get("x-kubernetes-list-map-keys")
        if isinstance(keys, list):
            node.map_keys = tuple(k for k in keys if isinstance(k, str))
        if node.list_type == "map" and node.map_keys and node.items is not None:
            self._check_map_keys(node.map_keys, node.items, spath)
        elif node.list_type == "map" and not node.map_keys:
            self.problems.append(SchemaProblem(spath + ("x-kubernetes-list-map-keys",),
                                               "x-kubernetes-list-map-keys: Required value: must not be empty if "
                                               "x-kubernetes-list-type is map",
                                               "List the keys that identify an item (x-kubernetes-list-map-keys: [name])."))

        if "default" in s and dialect != JSON:
            node.has_default = True
            node.default = s["default"]
            self._defaults_to_check.append(node)
        rules = s.get("x-kubernetes-validations")
        if isinstance(rules, list) and rules and dialect != JSON:
            node.rules = self._compile_rules(rules, spath + ("x-kubernetes-validations",), s, root=spath == ())

        if dialect == CRD:
            # Structural schemas: anything not listed is pruned unless preserved or a map.
            node.unknown = not node.preserve and node.additional is None and (
                node.props is not None or node.types == frozenset(("object",)))
            if node.types is None and not (node.int_or_string or node.preserve) \
                    and not any(k in ("anyOf", "oneOf", "allOf", "not") for k in spath if isinstance(k, str)):
                where = ("at the root" if not spath else "for specified array items" if spath[-1] == "items"
                         else "for specified object fields")
                self.problems.append(SchemaProblem(
                    spath, f"type: Required value: must not be empty {where} (the CRD is not structural)",
                    "Give every field a type, or mark it x-kubernetes-int-or-string / "
                    "x-kubernetes-preserve-unknown-fields."))
        else:
            node.unknown = node.additional is False
        if node.props:
            node.defaults = tuple((name, sub) for name, sub in node.props.items() if sub.has_default)
        node.plain = (node.props is None and node.additional is None and node.items is None and node.enum is None
                      and node.pattern is None and node.lo is None and node.hi is None and node.multiple_of is None
                      and node.min_len is None and node.max_len is None and node.rules is None
                      and not node.any_of and not node.one_of and not node.all_of and node.not_ is None
                      and not node.has_const and not node.embedded and not node.int_or_string
                      and node.min_props is None and node.max_props is None and node.min_items is None
                      and node.max_items is None and not node.unique_items and node.list_type is None
                      and not node.unknown and node.format is None)

    def _check_map_keys(self, keys: tuple[str, ...], item: Node, spath: tuple) -> None:
        for key in keys:
            sub = (item.props or {}).get(key)
            if sub is None:
                self.problems.append(SchemaProblem(spath + ("x-kubernetes-list-map-keys",),
                                                   f"list-map key {key!r} is not a property of the items"))
            elif key not in item.required and not sub.has_default:
                self.problems.append(SchemaProblem(
                    spath + ("items", "properties", key, "default"),
                    f"list-map key {key!r}: Required value: this property is in x-kubernetes-list-map-keys, so it "
                    "must have a default or be a required property",
                    f"Add {key!r} to the items' required list, or give it a default."))

    def _compile_rules(self, rules: list, spath: tuple, schema: dict | None = None, root: bool = False):
        if self.cel is None:
            return None
        compiled = []
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
                self.problems.append(SchemaProblem(spath + (i,), "a validation rule needs a `rule` string"))
                continue
            result = self.cel.compile_rule(rule, spath + (i,), schema=schema if self.dialect == CRD else None,
                                           resource_root=root)
            if isinstance(result, SchemaProblem):
                self.problems.append(result)
            else:
                compiled.append(result)
        return tuple(compiled) or None

    def _with_meta(self, node: Node, schema: dict, spath: tuple) -> Node:
        """Resource roots and embedded resources: `metadata` is ObjectMeta (what the API server
        keeps of it), narrowed by whatever the schema itself says about it."""
        meta = self.object_meta() if self.object_meta else None
        if meta is None or node.props is None and not node.preserve:
            return node
        own = (node.props or {}).get("metadata")
        if own is meta:
            return node
        if own is None or own.plain or own.props is None:
            merged = meta
        else:
            narrowed = copy.copy(own)
            narrowed.unknown = False
            merged = copy.copy(meta)
            merged.all_of = meta.all_of + (narrowed,)
            merged.plain = False
        props = dict(node.props or {})
        props["metadata"] = merged
        node.props = props
        for name in ("apiVersion", "kind"):
            if name not in props:
                props[name] = _string_node(spath + ("properties", name), node.dialect)
        node.unknown = not node.preserve and node.additional is None if node.dialect == CRD else node.unknown
        node.plain = False
        return node

    def check_defaults(self) -> None:
        """A default must itself be valid: the API server rejects a CRD whose default breaks its
        schema (the instance would be invalid the moment the default applies)."""
        pending, self._defaults_to_check = self._defaults_to_check, []
        for node in pending:
            probe = Validation(dialect=node.dialect, cel=False)
            probe.walk(node, copy.deepcopy(node.default), [], _MISSING, defaulted=False)
            for problem in probe.problems:
                where = f" (at {'.'.join(str(p) for p in problem.path)})" if problem.path else ""
                self.problems.append(SchemaProblem(
                    node.spath + ("default",),
                    f"default {_show(node.default)} is not valid for its own schema: {problem.detail()}{where}",
                    "The API server rejects a CRD whose defaults do not validate; fix the default or the constraint."))

    def embed_meta(self, node: Node) -> None:
        """Give every embedded-resource node in the graph ObjectMeta for metadata."""
        seen: set[int] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if current.embedded:
                self._with_meta(current, {}, current.spath)
            for child in _children(current):
                stack.append(child)


def _children(node: Node) -> Iterable[Node]:
    if node.props:
        yield from node.props.values()
    if isinstance(node.additional, Node):
        yield node.additional
    if node.items is not None:
        yield node.items
    yield from node.any_of
    yield from node.one_of
    yield from node.all_of
    if node.not_ is not None:
        yield node.not_


def _string_node(spath: tuple, dialect: str) -> Node:
    node = Node(spath, dialect)
    node.types = frozenset(("string",))
    node.plain = True
    return node


def _is_number(value) -> bool:
    return type(value) in (int, float)


# ---------------------------------------------------------------------------------------------
# Validating


# Problem codes, one per way a value can be wrong; the schema check maps them to rule ids.
UNKNOWN_FIELD = "unknown-field"
TYPE = "type"
REQUIRED = "required"
VALUE = "value"
DUPLICATE = "duplicate"
CEL_RULE = "cel"
CEL_SKIPPED = "cel-skipped"


@record
class Problem:
    """One way an instance breaks its schema. `path` is a tuple of keys and list indexes."""

    code: str
    path: tuple
    reason: str  # the API server's field.Error reason: "Invalid value", "Required value", ...
    text: str = ""  # the detail after the value
    value: Any = _MISSING
    hint: str = ""
    defaulted: bool = False
    suggestions: list = field(default_factory=list)

    def detail(self) -> str:
        parts = [self.reason]
        if self.value is not _MISSING:
            parts.append(_show_value(self.value))
        if self.text:
            parts.append(self.text)
        return ": ".join(parts)

    def message(self) -> str:
        from wavegate.rules import format_path

        where = format_path(self.path) or "<root>"
        text = f"{where}: {self.detail()}"
        if self.defaulted:
            text += " (the value comes from the schema's default)"
        return text


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _show_value(value) -> str:
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    text = _show(value)
    return text if len(text) <= 80 else text[:77] + '..."'


class Validation:
    """One instance checked against one compiled schema; problems collect in `problems`."""

    __slots__ = ("dialect", "problems", "cel", "pending", "type_errors", "old", "unknown_hint")

    def __init__(self, dialect: str = CRD, cel=True, old=None):
        self.dialect = dialect
        self.problems: list[Problem] = []
        self.cel = cel
        self.pending: list = []
        self.type_errors = 0
        self.old = old

    def run(self, node: Node, data: dict):
        """Check `data` (never mutated); returns the object as the API server would store it."""
        old = self.old if self.old is not None else _MISSING
        result = self.walk(node, data, [], old, False)
        if self.pending and self.cel:
            if self.type_errors:
                self.problems.append(Problem(
                    CEL_SKIPPED, (), "Invalid value", text="some validation rules were not checked because the "
                    "object was invalid; correct the existing errors to complete validation", value="object"))
            else:
                for rules, value, path, old_value, defaulted in self.pending:
                    for rule in rules:
                        problem = rule.evaluate(value, old_value, path)
                        if problem is not None:
                            problem.defaulted = defaulted
                            self.problems.append(problem)
        return result

    # The traversal. `path` is a shared list (a tuple is made only for a problem); `old` is the
    # same place in the old object (or _MISSING); the (possibly copied) value is returned.
    def walk(self, node: Node, value, path: list, old, defaulted: bool):
        if node.plain:
            if node.types is not None and not _type_ok(node.types, value) and not (value is None and node.nullable):
                self._type_error(node, value, path, defaulted)
            return value
        if value is None and node.dialect != JSON:
            if not (node.nullable or node.types is None):
                self._type_error(node, value, path, defaulted)
            return value
        if node.int_or_string:
            t = json_type(value)
            if t not in ("integer", "string"):
                self._problem(TYPE, path, "Invalid value", value, "must be an integer or a string", defaulted)
                self.type_errors += 1
                return value
        elif node.types is not None and not _type_ok(node.types, value):
            self._type_error(node, value, path, defaulted)
            return value
        kind = type(value)
        if kind is dict:
            value = self._object(node, value, path, old, defaulted)
        elif kind is list:
            value = self._array(node, value, path, old, defaulted)
        elif kind is str:
            self._string(node, value, path, defaulted)
        elif kind is int or kind is float:
            self._number(node, value, path, defaulted)
        if node.enum is not None and not _in_enum(value, node.enum):
            self._problem(VALUE, path, "Unsupported value", value, f"supported values: {node.enum_text}", defaulted)
        if node.has_const and not _json_equal(value, node.const):
            self._problem(VALUE, path, "Invalid value", value, f"must be {_show(node.const)}", defaulted)
        if node.all_of:
            for sub in node.all_of:
                value = self.walk(sub, value, path, old, defaulted)
        if node.any_of or node.one_of or node.not_ is not None:
            self._combinators(node, value, path, defaulted)
        if node.rules is not None and self.cel:
            self.pending.append((node.rules, value, tuple(path), old, defaulted))
        return value

    def _type_error(self, node: Node, value, path: list, defaulted: bool) -> None:
        self.type_errors += 1
        expected = " or ".join(sorted(node.types)) if node.types else "a value"
        self._problem(TYPE, path, "Invalid value", value, f"must be of type {expected}", defaulted)

    def _problem(self, code, path, reason, value=_MISSING, text="", defaulted=False, hint="", suggestions=None):
        self.problems.append(Problem(code, tuple(path), reason, text, value, hint, defaulted, suggestions or []))

    def _object(self, node: Node, value: dict, path: list, old, defaulted: bool) -> dict:
        props = node.props
        additional = node.additional
        out = None
        old_is_dict = type(old) is dict
        crd = node.dialect == CRD
        for key, child in value.items():
            sub = props.get(key) if props is not None else None
            if sub is None:
                if isinstance(additional, Node):
                    sub = additional
                elif node.unknown:
                    path.append(key)
                    self.problems.append(Problem(UNKNOWN_FIELD, tuple(path), "unknown field", defaulted=defaulted,
                                                 suggestions=_closest(key, props)))
                    path.pop()
                    if crd:  # pruned: later checks (and CEL) see the object without it
                        if out is None:
                            out = dict(value)
                        del out[key]
                    continue
                else:
                    continue
            if child is None and crd and not sub.nullable:
                # Non-nullable nulls are pruned before defaulting (the default, if any, applies).
                if out is None:
                    out = dict(value)
                del out[key]
                continue
            if sub.plain:  # (walk's first case, without the call: most of an object's fields)
                if sub.types is not None and not _type_ok(sub.types, child) and not (child is None and sub.nullable):
                    path.append(key)
                    self._type_error(sub, child, path, defaulted)
                    path.pop()
                continue
            path.append(key)
            new = self.walk(sub, child, path, old.get(key, _MISSING) if old_is_dict else _MISSING, defaulted)
            path.pop()
            if new is not child:
                if out is None:
                    out = dict(value)
                out[key] = new
        if node.defaults:
            current = value if out is None else out
            for name, sub in node.defaults:
                if name not in current:
                    if out is None:
                        out = dict(value)
                        current = out
                    path.append(name)
                    out[name] = self.walk(sub, copy.deepcopy(sub.default), path,
                                          old.get(name, _MISSING) if old_is_dict else _MISSING, True)
                    path.pop()
        result = value if out is None else out
        if node.required:
            for name in node.required:
                if name not in result:
                    path.append(name)
                    self.problems.append(Problem(REQUIRED, tuple(path), "Required value", defaulted=defaulted))
                    path.pop()
        if node.min_props is not None and len(result) < node.min_props:
            self._problem(VALUE, path, "Invalid value", len(result),
                          f"should have at least {node.min_props} properties", defaulted)
        if node.max_props is not None and len(result) > node.max_props:
            self._problem(VALUE, path, "Too many", len(result), f"must have at most {node.max_props} items", defaulted)
        if node.embedded:
            self._embedded(result, path, defaulted)
        return result

    def _embedded(self, value: dict, path: list, defaulted: bool) -> None:
        for name in ("apiVersion", "kind"):
            path.append(name)
            item = value.get(name)
            if name not in value:
                self._problem(REQUIRED, path, "Required value", text="must not be empty", defaulted=defaulted)
            elif not isinstance(item, str):
                self._problem(TYPE, path, "Invalid value", item, "must be a string", defaulted)
            elif not item:
                self._problem(VALUE, path, "Invalid value", item, "must not be empty", defaulted)
            path.pop()

    def _array(self, node: Node, value: list, path: list, old, defaulted: bool) -> list:
        items = node.items
        out = None
        n = len(value)
        if node.min_items is not None and n < node.min_items:
            self._problem(VALUE, path, "Invalid value", n, f"should have at least {node.min_items} items", defaulted)
        if node.max_items is not None and n > node.max_items:
            self._problem(VALUE, path, "Too many", n, f"must have at most {node.max_items} items", defaulted)
        if items is not None:
            old_items = self._old_items(node, old) if old is not _MISSING else None
            for i, child in enumerate(value):
                path.append(i)
                old_child = _MISSING
                if old_items is not None and type(child) is dict:
                    old_child = old_items.get(_map_key(child, node.map_keys), _MISSING)
                new = self.walk(items, child, path, old_child, defaulted)
                path.pop()
                if new is not child:
                    if out is None:
                        out = list(value)
                    out[i] = new
        result = value if out is None else out
        if node.list_type == "set" or node.unique_items:
            seen = []
            hashed: set = set()
            for i, child in enumerate(result):
                key = _freeze(child)
                if key in hashed:
                    path.append(i)
                    self._problem(DUPLICATE, path, "Duplicate value", child, defaulted=defaulted)
                    path.pop()
                else:
                    hashed.add(key)
                    seen.append(child)
        elif node.list_type == "map" and node.map_keys:
            keys: set = set()
            for i, child in enumerate(result):
                if type(child) is not dict:
                    continue
                key = _map_key(child, node.map_keys)
                if key in keys:
                    path.append(i)
                    shown = {k: child.get(k) for k in node.map_keys if k in child}
                    self.problems.append(Problem(DUPLICATE, tuple(path), "Duplicate value", value=_MISSING,
                                                 text=", ".join(f"{k}={_show(v)}" for k, v in shown.items()),
                                                 defaulted=defaulted))
                    path.pop()
                else:
                    keys.add(key)
        return result

    @staticmethod
    def _old_items(node: Node, old) -> dict | None:
        if node.list_type != "map" or not node.map_keys or type(old) is not list:
            return None
        return {_map_key(item, node.map_keys): item for item in old if type(item) is dict}

    def _string(self, node: Node, value: str, path: list, defaulted: bool) -> None:
        if node.min_len is not None or node.max_len is not None:
            n = len(value)  # Unicode code points, as Kubernetes counts them
            if node.min_len is not None and n < node.min_len:
                self._problem(VALUE, path, "Invalid value", value, f"should be at least {node.min_len} chars long", defaulted)
            if node.max_len is not None and n > node.max_len:
                self._problem(VALUE, path, "Too long", text=f"may not be longer than {node.max_len}", defaulted=defaulted)
        if node.pattern is not None and not node.pattern.matches(value):
            self._problem(VALUE, path, "Invalid value", value, f"should match '{node.pattern_src}'", defaulted)
        if node.format is not None:
            message = _format_message(node.format, value, node.dialect)
            if message:
                self._problem(VALUE, path, "Invalid value", value, message, defaulted)

    def _number(self, node: Node, value, path: list, defaulted: bool) -> None:
        if node.lo is not None:
            if node.lo_excl and value <= node.lo:
                self._problem(VALUE, path, "Invalid value", value, f"should be greater than {_num(node.lo)}", defaulted)
            elif value < node.lo:
                self._problem(VALUE, path, "Invalid value", value,
                              f"should be greater than or equal to {_num(node.lo)}", defaulted)
        if node.hi is not None:
            if node.hi_excl and value >= node.hi:
                self._problem(VALUE, path, "Invalid value", value, f"should be less than {_num(node.hi)}", defaulted)
            elif value > node.hi:
                self._problem(VALUE, path, "Invalid value", value,
                              f"should be less than or equal to {_num(node.hi)}", defaulted)
        if node.multiple_of:
            quotient = value / node.multiple_of
            if not math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9):
                self._problem(VALUE, path, "Invalid value", value, f"should be a multiple of {_num(node.multiple_of)}",
                              defaulted)

    def _combinators(self, node: Node, value, path: list, defaulted: bool) -> None:
        def passes(sub: Node) -> bool:
            probe = Validation(self.dialect, cel=False)
            probe.walk(sub, value, list(path), _MISSING, defaulted)
            return not any(p.code != UNKNOWN_FIELD for p in probe.problems)

        if node.any_of and not any(passes(sub) for sub in node.any_of):
            self._problem(VALUE, path, "Invalid value", value, _branch_text(node.any_of, "any of"), defaulted)
        if node.one_of:
            count = sum(1 for sub in node.one_of if passes(sub))
            if count != 1:
                text = _branch_text(node.one_of, "exactly one of") if count == 0 else \
                    f"matches {count} of the schemas it must match exactly one of"
                self._problem(VALUE, path, "Invalid value", value, text, defaulted)
        if node.not_ is not None and passes(node.not_):
            self._problem(VALUE, path, "Invalid value", value, "must not validate the schema (not)", defaulted)


def _branch_text(branches: tuple, how: str) -> str:
    required = [b.required for b in branches if b.required]
    if required and len(required) == len(branches):
        options = " | ".join(", ".join(r) for r in required)
        return f"must set {how}: {options}"
    types = [b.types for b in branches if b.types]
    if types and len(types) == len(branches):
        return f"must be {how} the types " + ", ".join(sorted(t for ts in types for t in ts))
    return f"must match {how} the allowed schemas"


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _in_enum(value, enum: tuple) -> bool:
    for candidate in enum:
        if _json_equal(value, candidate):
            return True
    return False


def _json_equal(a, b) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


def _freeze(value):
    if isinstance(value, dict):
        return ("{", tuple(sorted((k, _freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[", tuple(_freeze(v) for v in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _map_key(item: dict, keys: tuple):
    return tuple(_freeze(item.get(k)) for k in keys)


def _closest(key: str, props: dict | None) -> list[str]:
    if not props:
        return []
    names = list(props)
    found = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if not found:
        lowered = {n.lower(): n for n in names}
        if key.lower() in lowered:
            found = [lowered[key.lower()]]
        else:
            singular = key[:-1] if key.endswith("s") else key + "s"
            if singular in props:
                found = [singular]
    return found


# ---------------------------------------------------------------------------------------------
# Formats the API server checks on custom resources (k8s.io/kube-openapi strfmt, the subset
# apiextensions validates). Built-in kinds' formats (int32, byte, date-time) are Go types there,
# checked by decoding; only the integer ranges are checked for them.

_DATE_TIME = lazy_compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)
_DATE = compile_regex(r"^\d{4}-\d{2}-\d{2}$")
# strfmt.ParseDuration: Go's time.ParseDuration first; failing that, every "<digits> <unit>" found
# anywhere in the text, where a unit is one of these names (any case) or starts with the last one.
_GO_DURATION = lazy_compile(r"[-+]?(?:0|(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)\Z", re.ASCII)
_DURATION_PART = lazy_compile(r"([0-9]+)\s*([A-Za-z\u00b5]+)")
_DURATION_UNITS = (("ns", "nano"), ("us", "\u00b5s", "micro"), ("ms", "milli"), ("s", "sec"), ("m", "min"),
                   ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))

# strfmt's hostname: one label, or labels ending in a top-level name of 2 to 63 letters (no digits,
# no trailing dot); letters and symbols of any script count as characters. Compiled on first use:
# RE2 takes about 0.1 s to build it (its Unicode classes under bounded repeats), too much for every run.
_HOSTNAME_PATTERN = (r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}]"
                     r"(([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$")


@functools.cache
def _hostname():
    return compile_regex(_HOSTNAME_PATTERN)


_EMAIL = compile_regex(r"^[^@\s]+@[^@\s]+$")
# strfmt's UUID patterns (k8s.io/kube-openapi): 32 hex digits in groups of 8-4-4-4-12, each dash
# optional, any case; the numbered ones also fix the version digit (and, for 4 and 5, the variant).
_UUIDS = {
    "uuid": compile_regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid3": compile_regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
    "uuid4": compile_regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
    "uuid5": compile_regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$"),
}


def _is_duration(value: str) -> bool:
    """Whether strfmt.ParseDuration reads `value` (see _GO_DURATION)."""
    if _GO_DURATION.match(value):
        return True
    for _, unit in _DURATION_PART.findall(value):
        unit = unit.lower()
        if any(unit == name or (name == names[-1] and unit.startswith(name))
               for names in _DURATION_UNITS for name in names):
            return True
    return False


def _ip(value: str):
    """The address as the API server parses it (netutils.ParseIPSloppy: IPv4 parts may have
    leading zeros, read as decimal; no IPv6 zone), or ValueError."""
    if "%" in value:
        raise ValueError("an IP address has no zone")
    if ":" not in value:
        parts = value.split(".")
        if len(parts) != 4 or not all(part.isascii() and part.isdigit() and int(part) <= 255 for part in parts):
            raise ValueError("not an IPv4 address")
        return ipaddress.IPv4Address(".".join(str(int(part)) for part in parts))
    return ipaddress.IPv6Address(value)


@functools.lru_cache(maxsize=4096)
def _format_message(fmt: str, value: str, dialect: str) -> str:
    """check_format, once per distinct (format, value, dialect)."""
    return check_format(fmt, value, dialect)


def check_format(fmt: str, value: str, dialect: str) -> str:
    """Why `value` is not a valid `fmt`, or "" when it is (or the format is not checked)."""
    try:
        if fmt == "date-time" or fmt == "datetime":
            found = _DATE_TIME.match(value)
            if not found:
                return "must be an RFC 3339 date-time (2006-01-02T15:04:05Z)"
            year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
            datetime.datetime(year, month, day, hour, minute, second)  # (a moment that exists)
            return ""
        if fmt == "date":
            if not _DATE.search(value):
                return "must be a full date (2006-01-02)"
            datetime.date.fromisoformat(value)  # (a month and day that exist)
            return ""
        if dialect == BUILTIN:
            return ""
        if fmt == "duration":
            return "" if _is_duration(value) else "must be a duration such as 30s, 5m or 1h30m"
        if fmt == "byte":
            base64.b64decode(value, validate=True)
            return "" if value else "must be base64-encoded data (it is empty)"
        if fmt == "ipv4":
            return "" if "." in value and _ip(value) else f"must be a valid {fmt}"
        if fmt == "ipv6":
            return "" if ":" in value and _ip(value) else f"must be a valid {fmt}"
        if fmt == "cidr":
            address, slash, prefix = value.partition("/")
            ip = _ip(address)
            bits = 32 if ip.version == 4 else 128
            if not slash or not prefix.isascii() or not prefix.isdigit() or int(prefix) > bits:
                return f"must be a valid {fmt}"
            return ""
        if fmt in _UUIDS:
            return "" if _UUIDS[fmt].search(value) else f"must be a valid {fmt}"
        if fmt == "hostname":
            return "" if len(value) <= 255 and _hostname().search(value) else "must be a valid hostname"
        if fmt == "email":
            return "" if _EMAIL.search(value) else "must be an email address"
    except (ValueError, TypeError):
        return f"must be a valid {fmt}"
    return ""
