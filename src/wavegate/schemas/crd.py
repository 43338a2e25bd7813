"""A store entry as a CustomResourceDefinition the API server accepts: for the dry-run to serve
kinds that only wavegate's shipped schemas describe (Argo CD's Application, AppProject and
ApplicationSet), so that the server judges those objects too.

The shipped schemas are written in the CRD dialect; what is left to do is what makes a schema
structural for the API server: `$ref`s inlined (a recursive one becomes an open object), no
`additionalProperties` beside `properties` and never `false` (the server prunes unknown fields
itself, and strict field validation reports them), `metadata` reduced to `type: object`.
"""

from __future__ import annotations

from typing import Any

from wavegate.kro.plural import kind_plural
from wavegate.schemas.store import Entry, SchemaStore, resolved_schema


def crd_for(entry: Entry) -> dict | None:
    schema = resolved_schema(entry)
    if schema is None:
        return None
    schema = structural(schema, root=True)
    plural = kind_plural(entry.kind)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{entry.group}"},
        "spec": {
            "group": entry.group,
            "names": {"kind": entry.kind, "listKind": f"{entry.kind}List", "plural": plural,
                      "singular": entry.kind.lower()},
            "scope": entry.scope or "Namespaced",
            "versions": [{"name": entry.version, "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }


def crds_for_group(store: SchemaStore, group: str) -> list[dict]:
    """The CRDs of every kind the store knows in `group` (the newest version of each)."""
    found = []
    for kind, versions in sorted(store.kinds_in_group(group).items()):
        entry = store.lookup(f"{group}/{sorted(versions)[-1]}", kind)
        crd = crd_for(entry) if entry is not None else None
        if crd is not None:
            found.append(crd)
    return found


_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMAS = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def structural(schema, root: bool = False):
    """`schema` (one schema node) made structural, recursively through its subschemas."""
    if not isinstance(schema, dict):
        return schema
    node: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$ref", "$schema", "$id", "definitions"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            node[key] = {name: structural(sub) for name, sub in value.items()}
        elif key in _SCHEMAS and isinstance(value, dict):
            node[key] = structural(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            node[key] = [structural(sub) for sub in value]
        else:
            node[key] = value
    if node.get("additionalProperties") is False or ("properties" in node and "additionalProperties" in node):
        node.pop("additionalProperties", None)
    if "type" not in node and not any(k in node for k in ("x-kubernetes-int-or-string",
                                                           "x-kubernetes-preserve-unknown-fields")):
        if "properties" in node:
            node["type"] = "object"
        elif "items" in node:
            node["type"] = "array"
        else:
            node["x-kubernetes-preserve-unknown-fields"] = True
    if node.get("type") == "object" and not any(k in node for k in ("properties", "additionalProperties",
                                                                     "x-kubernetes-preserve-unknown-fields")):
        node["x-kubernetes-preserve-unknown-fields"] = True  # an open object (or a cut recursion)
    if root and isinstance(node.get("properties"), dict) and "metadata" in node["properties"]:
        node["properties"]["metadata"] = {"type": "object"}
    return node
