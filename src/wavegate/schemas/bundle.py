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

Layouts. kubeconform's `{{ .KindSuffix }}` keeps only the first label of the group, so
`Widget` in example.com/v1 and in example.org/v1 would both be `widget-example-v1.json` and one
would silently be checked against the other's schema. In that layout (`kind-suffix`, the
default) such a collision is an error that names both kinds (`BundleCollision`). The `group`
layout, `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` (`example.com/widget_v1.json`;
core kinds under `v1/`, since kubeconform's .Group is the apiVersion for them), cannot collide;
the kubeconform engine switches to it by itself when the kinds it needs collide.
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


KIND_SUFFIX = "kind-suffix"
GROUP_DIRS = "group"
# The -schema-location template (after DIR/) under which kubeconform finds each layout's files.
LAYOUTS = {
    KIND_SUFFIX: "{{ .ResourceKind }}{{ .KindSuffix }}.json",
    GROUP_DIRS: "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
}


class BundleCollision(ValueError):
    """Two kinds that kubeconform's kind-suffix naming cannot tell apart."""

    def __init__(self, clashes: dict[str, list[tuple[str, str, str]]]):
        self.clashes = clashes
        parts = []
        for name, keys in sorted(clashes.items()):
            kinds = " and ".join(f"{k} {g + '/' if g else ''}{v}" for g, v, k in keys)
            parts.append(f"{kinds} would both be {name}")
        super().__init__(
            "; ".join(parts) + ": kubeconform's {{ .KindSuffix }} keeps only the first label of the group, so one "
            "kind would be checked against the other's schema. Use the group layout (--layout group, "
            "-schema-location 'DIR/" + LAYOUTS[GROUP_DIRS] + "').")


def layout_path(layout: str, group: str, version: str, kind: str) -> str:
    """Where `layout` puts a kind's file, relative to the bundle directory."""
    if layout == GROUP_DIRS:
        return f"{group or version}/{kind.lower()}_{version}.json"
    return file_name(group, version, kind)


def collisions(keys) -> dict[str, list[tuple[str, str, str]]]:
    """Kind-suffix file names that more than one of `keys` would get."""
    by_name: dict[str, list] = {}
    for key in keys:
        by_name.setdefault(file_name(*key), []).append(tuple(key))
    return {name: sorted(found) for name, found in by_name.items() if len(found) > 1}


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
    properties = properties if isinstance(properties := schema.get("properties"), dict) else {}
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


def write_bundle(store: SchemaStore, directory: Path, kinds=None, layout: str = KIND_SUFFIX) -> list[Path]:
    """Write every kind of `store` (or just `kinds`, (group, version, kind) tuples) into `directory`,
    named as `layout` says. Raises BundleCollision when kind-suffix names would collide."""
    directory = Path(directory)
    keys = [tuple(k) for k in (kinds if kinds is not None else store.kinds())]
    if layout not in LAYOUTS:
        raise ValueError(f"unknown bundle layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    if layout == KIND_SUFFIX:
        clashes = collisions(keys)
        if clashes:
            raise BundleCollision(clashes)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key in keys:
        group, version, kind = key
        entry = store.lookup(f"{group}/{version}" if group else version, kind)
        if entry is None:
            continue
        schema = json_schema(entry, store)
        if schema is None:
            continue
        path = directory / layout_path(layout, group, version, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True), encoding="utf-8")
        written.append(path)
    return written
