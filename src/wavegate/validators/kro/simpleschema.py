"""The SimpleSchema of spec.schema.spec and spec.schema.types: types and markers, with kro's error texts."""

from __future__ import annotations

import difflib
import re

from wavegate.findings import Finding
from wavegate.kro import simpleschema as ss
from wavegate.load import Manifest
from wavegate.validators.kro.rules import SCHEMA_MARKER, SCHEMA_TYPE

_MARKER_HINT = ("Write markers as key=value after `|`, separated by spaces, and quote values that contain "
                "spaces (description=\"...\"). Markers: " + ", ".join(ss.MARKERS) + ".")
_TYPE_HINT = ("Use string, integer, boolean, float, object, []T, map[string]T, or a type defined under "
              "spec.schema.types.")



def check_simpleschema(m: Manifest, schema: dict):
    errors: list[ss.SimpleSchemaError] = []
    incomplete: list[tuple] = []
    spec_schema = ss.to_openapi(schema.get("spec"), schema.get("types"), errors=errors, incomplete=incomplete)
    for error in errors:
        rule = SCHEMA_MARKER if error.category == ss.MARKER else SCHEMA_TYPE
        value = m.get(*error.path)
        where = error.field[len("spec.schema."):] if error.field.startswith("spec.schema.") else error.field
        shown = f"{where} {value!r}" if isinstance(value, str) else where
        if error.from_kro:
            message = f"{shown}: {error.kro_message} (kro rejects the RGD)"
        else:
            message = f"{shown}: {error.message}"
        yield _finding(m, rule, error.path, message, _schema_hint(error, schema))
    return spec_schema, [p[len(ss.SPEC_PATH):] for p in incomplete if p[:len(ss.SPEC_PATH)] == ss.SPEC_PATH]


def _finding(m: Manifest, rule, path: tuple, message: str, hint: str = "", key: bool = True) -> Finding:
    return rule.at(m, path, message, hint=hint, key=key)


def _schema_hint(error: ss.SimpleSchemaError, schema: dict) -> str:
    message = error.message
    found = re.search(r'unknown marker: (\S+)', message)
    if found:
        close = difflib.get_close_matches(found.group(1), ss.MARKERS, n=1)
        return (f"Did you mean {close[0]}? " if close else "") + _MARKER_HINT
    found = re.search(r"unknown type: (\S+)", message)
    if found:
        name = found.group(1)
        if name == "number":
            return "SimpleSchema spells a floating-point number `float`. " + _TYPE_HINT
        known = list(ATOMICS) + list((schema.get("types") or {}) if isinstance(schema.get("types"), dict) else [])
        close = difflib.get_close_matches(name, known, n=1)
        return (f"Did you mean {close[0]}? " if close else "") + _TYPE_HINT
    if error.category == ss.MARKER:
        if "without a value" in message:
            return "Every marker needs `=value`; remove a trailing `|` or trailing spaces inside quotes. " + _MARKER_HINT
        return _MARKER_HINT
    if "cycle" in message or "self references" in message:
        return "Break the cycle: a custom type cannot contain itself, directly or through other types."
    return _TYPE_HINT


ATOMICS = ("string", "integer", "boolean", "float", "object")
