"""RGD -> the CustomResourceDefinition kro generates for its instances (kro `pkg/graph/crd`,
kro-facts section 3 and the worked example in section 8.2).

`crd_for_rgd(rgd)` returns the CRD as the API server returns it after kro created it: key names
and key order as Go writes them, no None values, float64 numbers that are whole printed as ints.
It is pure and fast (no I/O, no cluster); the schema store calls it for every RGD it sees.

What cannot be known offline: kro infers each `schema.status` field's type by type-checking its
CEL expression against the live OpenAPI schemas of the resources it reads. Offline, a status
field is typed when its expression makes that possible without those schemas:

* a string template (`"prefix-${...}"`) is a string (kro requires every part to be a string);
* `schema.spec.<path>` takes the type of that SimpleSchema field (types only, as kro's round trip
  through a CEL type keeps no defaults, patterns or descriptions);
* `schema.metadata.<f>` and `<id>.metadata.<f>` take the ObjectMeta type (name: string, labels:
  map of strings, generation: integer, ...); `<x>.apiVersion` and `<x>.kind` are strings;
* any other expression is type-checked with CEL (cel-expr-python) with `schema` and every
  resource id declared `dyn`: when the result is still a scalar (`a.x == "y"` is bool,
  `size(a.x)` is int, `string(...)` is string), that is the type kro infers as well.

Everything else gets `{x-kubernetes-preserve-unknown-fields: true}`, which is what kro itself
emits for a `dyn` CEL type: it accepts any value, so it never rejects what the real CRD would
accept. `synthesize` returns, beside the CRD, the status paths typed this way.

Not included, because the controller adds them after synthesis: ownerReferences to the RGD and
any labels kro puts on the CRDs it owns. Open points for the fidelity test against a real kro
(see also kro-facts [UNSURE]): required listed twice when a required alias is also marked
required; `{type: object}` for an empty spec; how optional (`.?`), timestamp and list-valued
status expressions are typed; the wording of the few marker errors kro-facts does not quote.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from wavegate.kro import graph as kgraph
from wavegate.kro.plural import kind_plural, plural_problem
from wavegate.kro.simpleschema import STRUCTURE, SimpleSchemaError, canonical, go_type_name, to_openapi
from wavegate.kube import CLUSTER as CLUSTER
from wavegate.kube import KRO_GROUP as KRO_GROUP
from wavegate.kube import NAMESPACED as NAMESPACED
from wavegate.kube import SCOPES as SCOPES
from wavegate.record import field, record
from wavegate.regex import lazy_compile

# RGD CRD (helm/crds/kro.run_resourcegraphdefinitions.yaml) and kro pkg/graph/validation.go
API_VERSION_RE = lazy_compile(r"^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$")
KIND_RE = lazy_compile(r"^[A-Z][a-zA-Z0-9]{0,62}$")
DNS1123_SUBDOMAIN = lazy_compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

SCHEMA_PATH = ("spec", "schema")

DEFAULT_PRINTER_COLUMNS = (
    {"name": "State", "type": "string", "description": "The state of a ResourceGraphDefinition instance",
     "jsonPath": ".status.state"},
    {"name": "Ready", "type": "string", "description": "Whether a ResourceGraphDefinition instance is ready",
     "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Age", "type": "date", "description": "Age of the resource", "jsonPath": ".metadata.creationTimestamp"},
)
STATE_SCHEMA = {"type": "string"}
CONDITIONS_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "properties": {
        "lastTransitionTime": {"type": "string"},
        "message": {"type": "string"},
        "observedGeneration": {"type": "integer"},
        "reason": {"type": "string"},
        "status": {"type": "string"},
        "type": {"type": "string"},
    }},
}
UNKNOWN = {"x-kubernetes-preserve-unknown-fields": True}

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# ObjectMeta fields as a CEL round trip types them. Timestamps, ownerReferences and managedFields
# are left unknown: their converted shape is not certain offline.
OBJECT_META = {
    "name": {"type": "string"}, "namespace": {"type": "string"}, "uid": {"type": "string"},
    "generateName": {"type": "string"}, "resourceVersion": {"type": "string"}, "selfLink": {"type": "string"},
    "generation": {"type": "integer"}, "deletionGracePeriodSeconds": {"type": "integer"},
    "labels": _STRING_MAP, "annotations": _STRING_MAP,
    "finalizers": {"type": "array", "items": {"type": "string"}},
}
OBJECT_META_FIELDS = frozenset(OBJECT_META) | {"creationTimestamp", "deletionTimestamp", "ownerReferences",
                                               "managedFields"}

_PRINTER_COLUMN_KEYS = ("name", "type", "format", "description", "priority", "jsonPath")


@record
class Synthesis:
    """The generated CRD and what was approximated to make it offline."""

    crd: dict
    spec_schema: dict
    status_schema: dict
    unknown_status: list[str] = field(default_factory=list)   # status paths typed as "anything"
    status_problems: list[tuple[tuple, str]] = field(default_factory=list)  # fields kro would reject


def _schema_of(rgd: Any) -> dict:
    if not isinstance(rgd, dict):
        raise SimpleSchemaError((), "the ResourceGraphDefinition is not a mapping", category=STRUCTURE)
    spec = rgd.get("spec")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise SimpleSchemaError(SCHEMA_PATH, "spec.schema is required and must be a mapping", category=STRUCTURE)
    return schema


def rgd_group_kind(rgd: dict) -> tuple[str, str, str]:
    """(group, version, kind) of the kind an RGD defines; group defaults to kro.run.

    Raises SimpleSchemaError when kind or apiVersion is missing or not what kro accepts.
    """
    schema = _schema_of(rgd)
    kind = schema.get("kind")
    if not isinstance(kind, str) or not kind:
        raise SimpleSchemaError(SCHEMA_PATH + ("kind",), "spec.schema.kind is required", category=STRUCTURE)
    if not KIND_RE.match(kind):
        raise SimpleSchemaError(SCHEMA_PATH + ("kind",),
                                f"kind '{kind}' is not a valid KRO kind name: must be UpperCamelCase "
                                "(^[A-Z][a-zA-Z0-9]{0,62}$)", category=STRUCTURE)
    version = schema.get("apiVersion")
    if not isinstance(version, str) or not version:
        raise SimpleSchemaError(SCHEMA_PATH + ("apiVersion",), "spec.schema.apiVersion is required",
                                category=STRUCTURE)
    if not API_VERSION_RE.match(version):
        raise SimpleSchemaError(SCHEMA_PATH + ("apiVersion",),
                                f"apiVersion {version!r} does not match ^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$",
                                category=STRUCTURE)
    group = schema.get("group")
    if group is None or group == "":
        group = KRO_GROUP
    if not isinstance(group, str):
        raise SimpleSchemaError(SCHEMA_PATH + ("group",), f"group must be a string, got {go_type_name(group)}",
                                category=STRUCTURE)
    return group, version, kind


def group_problem(group: str) -> str | None:
    """Why the API server would not accept `group` as a CRD group, or None."""
    if len(group) > 253 or not DNS1123_SUBDOMAIN.match(group):
        return f"group {group!r} is not a lowercase DNS subdomain"
    if "." not in group:
        return f"group {group!r} has no dot; a CRD group must be a domain such as example.com"
    return None


def synthesize(rgd: dict, *, server_defaults: bool = False) -> Synthesis:
    """The CRD kro generates for `rgd` (the RGD document as a dict), with what was approximated.

    Raises SimpleSchemaError when kro or the API server would not create a CRD at all: a bad
    kind, apiVersion, group, scope or plural, or a SimpleSchema error (the first, in sorted order).
    With `server_defaults`, the fields the API server adds when it stores a CRD are included
    (`spec.conversion: {strategy: None}`).
    """
    group, version, kind = rgd_group_kind(rgd)
    schema = _schema_of(rgd)
    problem = group_problem(group)
    if problem:
        raise SimpleSchemaError(SCHEMA_PATH + ("group",), problem, category=STRUCTURE, from_kro=False)
    problem = plural_problem(kind)
    if problem:
        raise SimpleSchemaError(SCHEMA_PATH + ("kind",), problem, category=STRUCTURE, from_kro=False)
    scope = schema.get("scope")
    if scope is None:
        scope = NAMESPACED
    if scope not in SCOPES:
        raise SimpleSchemaError(SCHEMA_PATH + ("scope",), f"scope must be Namespaced or Cluster, got {scope!r}",
                                category=STRUCTURE)

    spec_schema = to_openapi(schema.get("spec"), schema.get("types"))
    synthesis = Synthesis(crd={}, spec_schema=spec_schema, status_schema={})
    ids = _resource_ids(rgd)
    status = _status_schema(schema.get("status"), spec_schema, ids, scope, synthesis)
    synthesis.status_schema = status

    plural = kind_plural(kind)
    singular = kind.lower()
    names: dict = {"plural": plural, "singular": singular}
    short_names = _string_list(schema.get("shortNames"))
    if short_names:
        names["shortNames"] = short_names
    names["kind"] = kind
    names["listKind"] = kind + "List"
    categories = _string_list(schema.get("categories"))
    if categories:
        names["categories"] = categories

    version_entry: dict = {
        "name": version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec_schema,
                "status": status,
            },
        }},
        "subresources": {"status": {}},
        "additionalPrinterColumns": _printer_columns(schema.get("additionalPrinterColumns")),
    }
    metadata: dict = {"name": f"{plural}.{group}"}
    extra = extra if isinstance(extra := schema.get("metadata"), dict) else {}
    for key in ("labels", "annotations"):
        values = extra.get(key)
        if isinstance(values, dict) and values:
            metadata[key] = {str(k): values[k] for k in sorted(values, key=str)}
    crd_spec: dict = {"group": group, "names": names, "scope": scope, "versions": [version_entry]}
    if server_defaults:
        crd_spec["conversion"] = {"strategy": "None"}
    synthesis.crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": crd_spec,
    }
    return synthesis


def crd_for_rgd(rgd: dict, *, server_defaults: bool = False) -> dict:
    """The CustomResourceDefinition kro generates for `rgd`. See `synthesize`."""
    return synthesize(rgd, server_defaults=server_defaults).crd


# --------------------------------------------------------------------------------------------


def infer_status(status: Any, spec_schema: dict, ids: tuple[str, ...] = (), scope: str = NAMESPACED) -> Synthesis:
    """The status schema kro would infer for `spec.schema.status`, as far as it can be known offline.

    Returns a Synthesis whose `status_schema`, `unknown_status` and `status_problems` are set.
    """
    synthesis = Synthesis(crd={}, spec_schema=spec_schema, status_schema={})
    synthesis.status_schema = _status_schema(status, spec_schema, tuple(ids), scope, synthesis)
    return synthesis


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _printer_columns(value: Any) -> list[dict]:
    if not isinstance(value, list) or not value:
        return [dict(column) for column in DEFAULT_PRINTER_COLUMNS]
    columns = []
    for column in value:
        if not isinstance(column, dict):
            continue
        out = {}
        for key in _PRINTER_COLUMN_KEYS:
            item = column.get(key)
            if item is None or item == "" or (key == "priority" and item == 0):
                continue
            out[key] = item
        columns.append(out)
    return columns


def _resource_ids(rgd: dict) -> tuple[str, ...]:
    spec = spec if isinstance(spec := rgd.get("spec"), dict) else {}
    resources = resources if isinstance(resources := spec.get("resources"), list) else []
    return tuple(r["id"] for r in resources if isinstance(r, dict) and isinstance(r.get("id"), str))


def _status_schema(status: Any, spec_schema: dict, ids: tuple[str, ...], scope: str,
                   synthesis: Synthesis) -> dict:
    root: dict = {"type": "object", "properties": {}}
    if isinstance(status, dict):
        for key, value in status.items():
            if key == "conditions":
                # author-defined conditions: the standard conditions schema is used
                if not isinstance(value, list):
                    synthesis.status_problems.append(
                        (SCHEMA_PATH + ("status", "conditions"), f"status.conditions must be a list, got {go_type_name(value)}"))
                continue
            child = _status_field(value, SCHEMA_PATH + ("status", key), spec_schema, ids, scope, synthesis)
            if child is not None:
                root["properties"][key] = child
    elif status is not None:
        synthesis.status_problems.append((SCHEMA_PATH + ("status",), f"status must be a map, got {go_type_name(status)}"))
    root["properties"].setdefault("state", dict(STATE_SCHEMA))
    root["properties"].setdefault("conditions", _copy(CONDITIONS_SCHEMA))
    return canonical(root)


def _status_field(value: Any, path: tuple, spec_schema: dict, ids: tuple[str, ...], scope: str,
                  synthesis: Synthesis) -> dict | None:
    if isinstance(value, dict):
        node: dict = {"type": "object", "properties": {}}
        for key, child in value.items():
            child_schema = _status_field(child, path + (key,), spec_schema, ids, scope, synthesis)
            if child_schema is not None:
                node["properties"][key] = child_schema
        return node
    if isinstance(value, list):
        items = None
        for i, child in enumerate(value):
            child_schema = _status_field(child, path + (i,), spec_schema, ids, scope, synthesis)
            if items is None and child_schema is not None:
                items = child_schema
        return {"type": "array", "items": items if items is not None else dict(UNKNOWN)}
    if not isinstance(value, str):
        synthesis.status_problems.append((path, "status fields without expressions are not supported"))
        return None
    try:
        expressions = kgraph.extract_expressions(value)
    except kgraph.NestedExpressionError as error:
        synthesis.status_problems.append((path, str(error)))
        synthesis.unknown_status.append(_dotted(path))
        return dict(UNKNOWN)
    if not expressions:
        synthesis.status_problems.append((path, "status fields without expressions are not supported"))
        return None
    if value != "${" + expressions[0] + "}" or len(expressions) != 1:
        return {"type": "string"}  # a string template: every part must be a string
    inferred = infer_type(expressions[0], spec_schema, ids, scope)
    if inferred is None:
        synthesis.unknown_status.append(_dotted(path))
        return dict(UNKNOWN)
    return inferred


def _dotted(path: tuple) -> str:
    text = ""
    for part in path[len(SCHEMA_PATH):]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_PATH_EXPR = lazy_compile(r"^\s*[_a-zA-Z][_a-zA-Z0-9]*(\s*\.\s*[_a-zA-Z][_a-zA-Z0-9]*)*\s*$")


def infer_type(expression: str, spec_schema: dict, ids: tuple[str, ...] = (), scope: str = NAMESPACED) -> dict | None:
    """The OpenAPI schema kro infers for a standalone status expression, or None when the type
    depends on a live schema (see the module docstring)."""
    if _PATH_EXPR.match(expression):
        parts = [p.strip() for p in expression.split(".")]
        root, fields = parts[0], parts[1:]
        if root == "schema":
            if fields[:1] == ["spec"]:
                return _cel_round_trip(_spec_field(spec_schema, fields[1:]))
            if fields in (["apiVersion"], ["kind"]):
                return {"type": "string"}
            if len(fields) == 2 and fields[0] == "metadata":
                if scope == CLUSTER and fields[1] == "namespace":
                    return None
                return _copy(OBJECT_META.get(fields[1])) if fields[1] in OBJECT_META else None
            return None
        if root in ids:
            if fields in (["apiVersion"], ["kind"]):
                return {"type": "string"}
            if len(fields) == 2 and fields[0] == "metadata" and fields[1] in OBJECT_META:
                return _copy(OBJECT_META[fields[1]])
            return None
    return _cel_scalar_type(expression, ids)


def _spec_field(spec_schema: dict, fields: list[str]) -> dict | None:
    current = spec_schema
    for name in fields:
        properties = current.get("properties")
        if not isinstance(properties, dict) or name not in properties:
            return None
        current = properties[name]
    return current


def _cel_round_trip(schema: dict | None) -> dict | None:
    """What survives kro's conversion OpenAPI -> CEL type -> OpenAPI: types and structure only."""
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return None
    kind = schema.get("type")
    if kind in ("string", "integer", "number", "boolean"):
        return {"type": kind}
    if kind == "array":
        items = _cel_round_trip(schema.get("items"))
        return None if items is None else {"type": "array", "items": items}
    if kind == "object":
        if "additionalProperties" in schema:
            value = schema["additionalProperties"]
            inner = _cel_round_trip(value) if isinstance(value, dict) else None
            return None if inner is None else {"type": "object", "additionalProperties": inner}
        properties = {}
        for name, child in (schema.get("properties") or {}).items():
            converted = _cel_round_trip(child)
            if converted is None:
                return None
            properties[name] = converted
        out: dict = {"type": "object"}
        if properties:
            out["properties"] = properties
        return out
    return None


_CEL_SCALARS = {"BOOL": "boolean", "INT": "integer", "UINT": "integer", "DOUBLE": "number", "STRING": "string"}


@lru_cache(maxsize=256)
def _cel_env(names: tuple[str, ...]):
    try:
        from wavegate import cel  # imported here: loading the CEL runtime costs start-up time
    except ImportError:  # pragma: no cover - cel-expr-python is a dependency
        return None
    # Only the optional extension: kro's own functions and the Kubernetes libraries are unknown here.
    return cel.Environment(names, libraries=False)


@lru_cache(maxsize=4096)
def _cel_scalar_type_cached(expression: str, names: tuple[str, ...]) -> tuple | None:
    env = _cel_env(names)
    if env is None:
        return None
    try:
        result = env.return_type(expression)
    except Exception:  # noqa: BLE001 - unknown functions (kro and Kubernetes libraries), optional syntax, ...
        return None
    if result == "BYTES":
        return (("type", "string"), ("format", "byte"))
    if result in _CEL_SCALARS:
        return (("type", _CEL_SCALARS[result]),)
    return None


def _cel_scalar_type(expression: str, ids: tuple[str, ...]) -> dict | None:
    names = tuple(sorted({"schema", *ids}))
    found = _cel_scalar_type_cached(expression, names)
    return dict(found) if found else None
