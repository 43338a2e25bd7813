"""The store as a kubeconform schema directory: one self-contained JSON schema per kind, named
`<kind><KindSuffix>.json` (`deployment-apps-v1.json`, `configmap-v1.json`, `widget-example-v1.json`)
so that `kubeconform -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'` finds it.

The JSON schema says, in plain JSON Schema, what the built-in engine checks: unknown fields are
rejected (`additionalProperties: false`, kubeconform's -strict), nullable becomes a null type,
int-or-string a type pair, list-type set `uniqueItems`, and a field that has a default is not
required (the API server would have defaulted it). What JSON Schema cannot say (CEL rules,
list-type map keys, defaults feeding later checks) only the built-in engine checks. Each file
carries `x-kubernetes-group-version-kind` and `x-wavegate-source`, so reading the directory back
with --schemas is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

from wavegate.schemas.store import Entry, SchemaStore, resolved_schema

DRAFT = "http://json-schema.org/draft-07/schema#"
_DROP = frozenset({"description", "example", "examples", "x-kubernetes-validations", "x-kubernetes-list-map-keys",
                   "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key", "x-kubernetes-map-type",
                   "x-kubernetes-unions", "x-kubernetes-group-version-kind", "x-kubernetes-embedded-resource",
                   "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-list-type",
                   "nullable", "default", "format", "$schema", "$id", "externalDocs", "title", "readOnly",
                   "deprecated", "x-kubernetes-selectable-field"})


def file_name(group: str, version: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` for this kind."""
    suffix = "-" + group.split(".")[0].lower() if group else ""
    return f"{kind.lower()}{suffix}-{version.lower()}.json"


def json_schema(entry: Entry, store: SchemaStore | None = None) -> dict | None:
    """The entry's schema as self-contained, strict JSON Schema (draft-07)."""
    schema = resolved_schema(entry)
    if schema is None:
        return None
    meta = None
    if entry.dialect != "json" and store is not None and store.k8s is not None:
        from wavegate.schemas.kubernetes import OBJECT_META

        meta_entry = Entry(group="", version="", kind="ObjectMeta", source=store.k8s.source, origin="kubernetes",
                           dialect="builtin", schema={"$ref": "#/$defs/" + OBJECT_META})
        meta = _convert(resolved_schema(meta_entry), "builtin", root=False)
    out = _convert(schema, entry.dialect, root=True, meta=meta)
    out["$schema"] = DRAFT
    out["x-kubernetes-group-version-kind"] = [{"group": entry.group, "version": entry.version, "kind": entry.kind}]
    out["x-wavegate-source"] = entry.source
    return out


def _convert(schema, dialect: str, root: bool = False, meta: dict | None = None):
    if not isinstance(schema, dict):
        return schema
    out: dict = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _convert(sub, dialect) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value, dialect)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [_convert(sub, dialect) for sub in value]
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string") is True:
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if schema.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    for bound in ("Minimum", "Maximum"):  # OpenAPI v3 booleans -> draft-07 numbers
        if out.get("exclusive" + bound) is True and bound.lower() in out:
            out["exclusive" + bound] = out.pop(bound.lower())
        elif out.get("exclusive" + bound) is False:
            out.pop("exclusive" + bound)
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    if "required" in out and properties:
        out["required"] = [r for r in out["required"]
                           if not (isinstance(properties.get(r), dict) and "default" in properties[r])]
        if not out["required"]:
            del out["required"]
    if schema.get("x-kubernetes-embedded-resource") is True:
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind"})
    if dialect == "crd":
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        is_object = schema.get("type") == "object" or "properties" in schema
        if is_object and not preserve and "additionalProperties" not in schema:
            out["additionalProperties"] = False
    if (root or schema.get("x-kubernetes-embedded-resource") is True) and meta is not None \
            and isinstance(out.get("properties"), dict):
        out["properties"]["metadata"] = meta
        out["properties"].setdefault("apiVersion", {"type": "string"})
        out["properties"].setdefault("kind", {"type": "string"})
    return out


def write_bundle(store: SchemaStore, directory: Path, kinds=None) -> list[Path]:
    """Write every kind of `store` (or just `kinds`, (group, version, kind) tuples) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key in kinds if kinds is not None else store.kinds():
        group, version, kind = key
        entry = store.lookup(f"{group}/{version}" if group else version, kind)
        if entry is None:
            continue
        schema = json_schema(entry, store)
        if schema is None:
            continue
        path = directory / file_name(group, version, kind)
        path.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True), encoding="utf-8")
        written.append(path)
    return written
