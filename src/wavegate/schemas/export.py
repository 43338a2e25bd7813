"""`wavegate schemas export`: a live cluster's schemas as a kubeconform schema directory, so a
platform team can pin the exact schemas of its clusters and validate against them offline
(`wavegate validate --schemas DIR`, or `kubeconform -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'`).

Read: `GET /openapi/v3` (the discovery index of group-versions), then each group-version
document. Every schema there that carries `x-kubernetes-group-version-kind` for that
group-version (built-in kinds and the kinds of every CRD the cluster serves) becomes one file:

* every `$ref` (`#/components/schemas/...`) is inlined, so the file is self-contained; a
  recursive reference (JSONSchemaProps inside a CRD) is cut to an open object;
* a single-element `allOf` (how OpenAPI v3 attaches a default or description to a reference) is
  merged into its parent;
* strict like kubeconform's `-strict` schemas: `additionalProperties: false` on every object
  schema that lists its properties, unless it preserves unknown fields (the same rule as
  kubeconform's openapi2jsonschema); objects without properties (RawExtension, FieldsV1,
  `type: object` in a CRD) stay open, so the export is never stricter than the server;
* then the same conversion as `wavegate schemas bundle` (`bundle._convert`): int-or-string,
  nullable, list-type set, exclusive bounds, defaulted fields not required.

Files are named in the bundle's layouts (kind-suffix by default; two groups that share a first
label make it fail with BundleCollision unless the group layout is chosen). Each file carries
`x-kubernetes-group-version-kind` and `x-wavegate-source` (cluster and document), so the store
reads the directory back exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.schemas import bundle

if TYPE_CHECKING:
    from wavegate.cluster.read import ClusterReader

SKIP_KINDS = frozenset({"WatchEvent", "DeleteOptions"})  # meta types every group-version lists


class ExportError(RuntimeError):
    """The cluster's OpenAPI could not be read."""


def fetch(read: ClusterReader) -> dict[str, object]:
    """Every group-version document of `/openapi/v3`, by its discovery path (`apis/apps/v1`)."""
    index = _get(read, "/openapi/v3")
    paths = index.get("paths") if isinstance(index, dict) else None
    if not isinstance(paths, dict):
        raise ExportError("the server's /openapi/v3 has no `paths`: it does not serve OpenAPI v3 (Kubernetes < 1.24?)")
    documents = {}
    for path, ref in sorted(paths.items()):
        if not (path == "api/v1" or (path.startswith("apis/") and path.count("/") == 2)):
            continue  # version and well-known endpoints, group discovery without a version
        url = ref.get("serverRelativeURL") if isinstance(ref, dict) else None
        documents[path] = _get(read, url or "/openapi/v3/" + path)
    return documents


def _get(read: ClusterReader, path: str) -> object:  # any JSON value
    from wavegate.cluster.base import ClusterError
    from wavegate.cluster.read import ReadError

    try:
        status, data = read.get_raw(path)
    except ReadError as error:
        raise ExportError(f"GET {path}: {error}") from None
    except ClusterError:  # the server cannot be reached: said once, by the cluster door
        raise
    except Exception as error:  # noqa: BLE001 - anything else on the way
        raise ExportError(f"GET {path}: {type(error).__name__}: {error}") from None
    if status != 200:
        raise ExportError(f"GET {path}: HTTP {status}")
    try:
        return json.loads(data)
    except ValueError:
        raise ExportError(f"GET {path}: the answer is not JSON") from None


def group_version(path: str) -> tuple[str, str]:
    """(group, version) of a discovery path: `api/v1` -> ("", "v1"), `apis/apps/v1` -> ("apps", "v1")."""
    parts = path.split("/")
    return ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])


def schemas_of(documents: dict[str, object], source: str = "cluster") -> dict[tuple, dict]:
    """(group, version, kind) -> self-contained strict JSON schema, for every kind served."""
    out: dict[tuple, dict] = {}
    for path, document in documents.items():
        group, version = group_version(path)
        components = ((document.get("components") or {}).get("schemas") or {}) if isinstance(document, dict) else {}
        for name, schema in sorted(components.items()):
            gvks = schema.get("x-kubernetes-group-version-kind") if isinstance(schema, dict) else None
            for gvk in gvks if isinstance(gvks, list) else []:
                if not isinstance(gvk, dict) or gvk.get("kind") in SKIP_KINDS:
                    continue
                if gvk.get("group", "") != group or gvk.get("version") != version or not gvk.get("kind"):
                    continue
                key = (group, version, gvk["kind"])
                if key in out:
                    continue
                converted = convert(schema, components)
                converted["$schema"] = bundle.DRAFT
                converted["x-kubernetes-group-version-kind"] = [{"group": group, "version": version,
                                                                 "kind": gvk["kind"]}]
                converted["x-wavegate-source"] = f"{source} /openapi/v3/{path} {name}"
                out[key] = converted
    return out


def convert(schema: dict, components: dict) -> dict:
    """One OpenAPI v3 schema of the server as kubeconform-strict JSON Schema."""
    inlined = _inline(schema, components, ())
    _strict(inlined)
    return bundle._convert(inlined, "builtin", root=True)


_PREFIX = "#/components/schemas/"


def _inline(schema, components: dict, stack: tuple):
    if isinstance(schema, list):
        return [_inline(x, components, stack) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_PREFIX):
        name = ref[len(_PREFIX):]
        if name in stack or name not in components:
            out = {"type": "object"}  # recursion (JSONSchemaProps) or a dangling reference: open
        else:
            out = _inline(components[name], components, stack + (name,))
    for key, value in schema.items():
        if key == "$ref":
            continue
        out[key] = _inline(value, components, stack)
    all_of = out.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        del out["allOf"]
        out = {**all_of[0], **out}
    return out


def _strict(schema) -> None:
    if isinstance(schema, list):
        for item in schema:
            _strict(item)
        return
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema \
            and schema.get("x-kubernetes-preserve-unknown-fields") is not True:
        schema["additionalProperties"] = False
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for sub in value.values():
                _strict(sub)
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf", "allOf"):
            _strict(value)


def write(schemas: dict[tuple, dict], directory: Path, layout: str = bundle.KIND_SUFFIX) -> list[Path]:
    """Write `schemas` into `directory` in `layout` (BundleCollision when kind-suffix names collide)."""
    if layout == bundle.KIND_SUFFIX:
        clashes = bundle.collisions(schemas)
        if clashes:
            raise bundle.BundleCollision(clashes)
    directory = Path(directory)
    written = []
    for key, schema in sorted(schemas.items()):
        path = directory / bundle.layout_path(layout, *key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True), encoding="utf-8")
        written.append(path)
    return written


def export(cluster, directory: Path, layout: str = bundle.KIND_SUFFIX) -> list[Path]:
    """Export the schemas of a started `wavegate.cluster.Cluster` into `directory`."""
    with cluster.reader() as read:
        documents = fetch(read)
    return write(schemas_of(documents, source=f"cluster {cluster.name}"), directory, layout)


__all__ = ["ExportError", "convert", "export", "fetch", "schemas_of", "write"]
