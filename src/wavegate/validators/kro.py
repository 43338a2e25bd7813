"""Kro ResourceGraphDefinitions: what kro would reject when the RGD is applied, found before merge.

The checks reproduce kro's own build steps that need no cluster (kro-facts section 5): the
SimpleSchema of `spec.schema.spec`/`types` (with kro's error texts), the identity of the kind
(kind, apiVersion, group, scope, and the plural kro derives from the kind), resource ids, the
template/externalRef shape, forEach, readyWhen/includeWhen, `${...}` expressions (syntax,
references to unknown resources, iterators or `schema.spec` fields), status fields, and
dependency cycles. What needs the target kinds' live OpenAPI schemas (CEL type checking,
template fields, resource scope, status types) is not guessed: one info finding per RGD says
what was skipped and why.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from wavegate.findings import Finding
from wavegate.kro import crd as kcrd
from wavegate.kro import graph as kgraph
from wavegate.kro import simpleschema as ss
from wavegate.kro.plural import plural_problem
from wavegate.load import Manifest, Repo
from wavegate.rules import declare

_F = "kro"
_SCHEMA = ("spec", "schema")

_RGD_HEAD = "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata:\n  name: cicdpipeline.kro.run\nspec:\n"

SCHEMA_TYPE = declare(
    "kro-schema-type-invalid", "error", "A SimpleSchema field has a type kro cannot build",
    """kro turns spec.schema.spec and spec.schema.types into the OpenAPI schema of the instance CRD.
    A type it cannot parse or resolve (`number` instead of `float`, `[]` without an element type,
    `map[int]string`, an undefined or cyclic custom type) makes kro reject the whole RGD
    (GraphAccepted=False): no CRD is created, so every instance of the kind fails to sync.""",
    _RGD_HEAD + "  schema:\n    spec:\n      replicas: number | default=1",
    _RGD_HEAD + "  schema:\n    spec:\n      replicas: float | default=1", _F)
SCHEMA_MARKER = declare(
    "kro-schema-marker-invalid", "error", "A SimpleSchema marker is malformed or does not fit its field",
    """Markers after `|` become OpenAPI constraints (required, default, enum, pattern, ...). Since
    kro v0.9.0 an unknown marker, a marker without `=value`, an unclosed quote or a value of the
    wrong type (`default=abc` on an integer, `pattern` on an array) is an error: kro rejects the
    RGD and no instance of its kind can be created. A few values kro lets through (a default
    that is not JSON) make the API server reject the generated CRD instead.""",
    _RGD_HEAD + "  schema:\n    spec:\n      name: string | requird=true",
    _RGD_HEAD + "  schema:\n    spec:\n      name: string | required=true", _F)
KIND = declare(
    "kro-kind-invalid", "error", "spec.schema.kind is missing or not an UpperCamelCase kind",
    """The kind becomes the kind of the generated CRD. kro requires ^[A-Z][a-zA-Z0-9]*$ (at most
    63 characters): no dashes, dots or underscores, starting with a capital letter.""",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: cicd-pipeline",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline", _F)
API_VERSION = declare(
    "kro-api-version-invalid", "error", "spec.schema.apiVersion is missing or not a Kubernetes version",
    """spec.schema.apiVersion is the version name of the generated CRD (instances use
    `<group>/<apiVersion>`). It must look like v1, v1alpha1 or v2beta3; a value such as
    `kro.run/v1alpha1` or `1.0` is rejected by the RGD CRD itself.""",
    _RGD_HEAD + "  schema:\n    apiVersion: kro.run/v1alpha1\n    kind: CICDPipeline",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline", _F)
GROUP = declare(
    "kro-group-invalid", "error", "spec.schema.group is not a valid API group",
    """The group of the generated CRD (kro.run when absent). The API server only accepts a CRD whose
    group is a lowercase DNS subdomain with at least one dot, so kro's CRD for any other group is
    rejected and the kind never exists.""",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline\n    group: Platform",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline\n    group: platform.example.com", _F)
SCOPE = declare(
    "kro-scope-invalid", "error", "spec.schema.scope is neither Namespaced nor Cluster",
    """The scope of the generated CRD. The RGD CRD only accepts Namespaced (the default) or Cluster,
    spelled exactly so; the API server rejects the RGD otherwise.""",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline\n    scope: namespaced",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: CICDPipeline\n    scope: Namespaced", _F)
PLURAL = declare(
    "kro-kind-plural-invalid", "error", "The plural kro derives from the kind is not a valid CRD plural",
    """kro names the CRD after flect.Pluralize(lowercase kind). For kinds that are one of flect's
    acronyms ending in S (DNS, IPS, HTTPS, ...) flect returns a mixed-case word such as
    `dnsDNSes`; the API server requires a lowercase plural and rejects the CRD.""",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: DNS",
    _RGD_HEAD + "  schema:\n    apiVersion: v1alpha1\n    kind: DNSRecord", _F)
ID_INVALID = declare(
    "kro-resource-id-invalid", "error", "A resource id is missing or not lowerCamelCase",
    """Resource ids are CEL identifiers in `${id.status...}`, so kro requires ^[a-z][a-zA-Z0-9]*$.
    `my-config` would read as a subtraction; kro rejects the RGD.""",
    _RGD_HEAD + "  resources:\n    - id: app-config\n      template: {...}",
    _RGD_HEAD + "  resources:\n    - id: appConfig\n      template: {...}", _F)
ID_RESERVED = declare(
    "kro-resource-id-reserved", "error", "A resource id is a word kro reserves",
    """CEL keywords and kro's own names (schema, spec, status, metadata, namespace, each, item,
    self, resources, ...) cannot be resource ids; kro rejects the RGD.""",
    _RGD_HEAD + "  resources:\n    - id: namespace\n      template: {kind: Namespace, ...}",
    _RGD_HEAD + "  resources:\n    - id: appNamespace\n      template: {kind: Namespace, ...}", _F)
ID_DUPLICATE = declare(
    "kro-resource-id-duplicate", "error", "Two resources have the same id",
    """Ids name the nodes of the resource graph; kro rejects an RGD in which two resources share one.""",
    _RGD_HEAD + "  resources:\n    - id: config\n      template: {...}\n    - id: config\n      template: {...}",
    _RGD_HEAD + "  resources:\n    - id: config\n      template: {...}\n    - id: secret\n      template: {...}", _F)
SHAPE = declare(
    "kro-resource-template-or-external-ref", "error", "A resource does not have exactly one of template or externalRef",
    """Each resource either creates an object (template) or reads an existing one (externalRef, with
    apiVersion, kind and exactly one of metadata.name or metadata.selector). Both, neither, or an
    externalRef with forEach is rejected by kro.""",
    _RGD_HEAD + "  resources:\n    - id: config\n      readyWhen: [...]",
    _RGD_HEAD + "  resources:\n    - id: config\n      externalRef:\n        apiVersion: v1\n        kind: ConfigMap\n"
    "        metadata:\n          name: platform-settings", _F)
TEMPLATE = declare(
    "kro-template-invalid", "error", "A resource template is not a Kubernetes object kro accepts",
    """A template must have a string apiVersion, a string kind (a DNS-1035 label when lowercased) and
    a metadata map, and must not set labels or annotations under kro's own kro.run/ prefixes. kro
    rejects the RGD otherwise.""",
    _RGD_HEAD + "  resources:\n    - id: config\n      template:\n        kind: ConfigMap\n        data: {}",
    _RGD_HEAD + "  resources:\n    - id: config\n      template:\n        apiVersion: v1\n        kind: ConfigMap\n"
    "        metadata:\n          name: ${schema.spec.name}", _F)
FOREACH = declare(
    "kro-foreach-invalid", "error", "A forEach is not a list of single `iterator: ${list}` entries",
    """forEach makes a collection: each entry maps one lowerCamelCase iterator name (not reserved,
    not a resource id, unique) to one standalone `${...}` list expression, with at most 10
    dimensions. kro rejects anything else.""",
    _RGD_HEAD + "  resources:\n    - id: buckets\n      forEach:\n        - name: schema.spec.buckets",
    _RGD_HEAD + "  resources:\n    - id: buckets\n      forEach:\n        - bucket: ${schema.spec.buckets}", _F)
UNKNOWN_REF = declare(
    "kro-reference-unknown", "error", "An expression refers to something that is not in the graph",
    """`${...}` may read `schema` (the instance), resource ids of this RGD and, in a collection, its
    forEach iterators. Anything else (a typo'd id, a resource of another RGD, `runtime` outside
    status.conditions) makes kro reject the RGD with "references unknown identifiers".""",
    _RGD_HEAD + "  resources:\n    - id: service\n      template:\n        spec:\n          selector: ${deploymnt.spec.selector}",
    _RGD_HEAD + "  resources:\n    - id: service\n      template:\n        spec:\n"
    "          selector: ${deployment.spec.selector}", _F)
UNKNOWN_FIELD = declare(
    "kro-reference-unknown-field", "error", "An expression reads a schema field that does not exist",
    """`${schema.spec.x}` must name a field declared in spec.schema.spec (kro type-checks it against
    the instance schema it generates), `schema.metadata.x` an ObjectMeta field, and `schema.status`
    cannot be read at all. A misspelt field makes kro reject the RGD; wavegate finds it offline.""",
    _RGD_HEAD + "  schema:\n    spec:\n      name: string\n  resources:\n    - id: config\n"
    "      template:\n        metadata:\n          name: ${schema.spec.nmae}",
    _RGD_HEAD + "  schema:\n    spec:\n      name: string\n  resources:\n    - id: config\n"
    "      template:\n        metadata:\n          name: ${schema.spec.name}", _F)
CYCLE = declare(
    "kro-dependency-cycle", "error", "Resources depend on each other in a circle",
    """kro orders resources by the ids their templates, forEach and includeWhen expressions read.
    When a reads b and b reads a (directly or through others), or a resource reads itself, there
    is no order to create them in: kro rejects the graph ("graph contains a cycle").""",
    _RGD_HEAD + "  resources:\n    - id: a\n      template: {... ${b.metadata.name} ...}\n"
    "    - id: b\n      template: {... ${a.metadata.name} ...}",
    _RGD_HEAD + "  resources:\n    - id: a\n      template: {...}\n    - id: b\n      template: {... ${a.metadata.name} ...}", _F)
CONDITION = declare(
    "kro-condition-not-standalone", "error", "A readyWhen or includeWhen entry is not one standalone `${...}`",
    """readyWhen and includeWhen are lists of boolean CEL expressions, each written as exactly one
    `${...}` and nothing else. Text around it, two expressions in one entry, or a bare expression
    without `${}` is rejected by kro ("only standalone expressions are allowed").""",
    _RGD_HEAD + "  resources:\n    - id: db\n      readyWhen:\n        - db.status.ready == true",
    _RGD_HEAD + "  resources:\n    - id: db\n      readyWhen:\n        - ${db.status.ready == true}", _F)
READY_WHEN = declare(
    "kro-ready-when-foreign-reference", "error", "A readyWhen expression reads something other than its own resource",
    """readyWhen decides when this resource is ready, from this resource's own state: it may only
    read its own id (and `each` in a collection). Reading schema or another resource is rejected
    by kro; use includeWhen, or a readyWhen on the other resource.""",
    _RGD_HEAD + "  resources:\n    - id: db\n      readyWhen:\n        - ${app.status.ready}",
    _RGD_HEAD + "  resources:\n    - id: db\n      readyWhen:\n        - ${db.status.ready}", _F)
EXPRESSION = declare(
    "kro-expression-invalid", "error", "A `${...}` expression cannot be parsed",
    """kro parses every `${...}` as CEL when it accepts the RGD. A syntax error, or a `${` nested
    inside another expression (allowed only inside a string literal), makes it reject the RGD.""",
    _RGD_HEAD + "  resources:\n    - id: config\n      template:\n        data:\n          size: ${schema.spec.size +}",
    _RGD_HEAD + "  resources:\n    - id: config\n      template:\n        data:\n          size: ${string(schema.spec.size)}", _F)
STATUS = declare(
    "kro-status-invalid", "error", "A spec.schema.status field is not an expression kro can use",
    """Every leaf of spec.schema.status must be a `${...}` expression (or a string built from them)
    that reads a resource or schema: kro infers the status schema from those expressions and
    rejects literal values. `conditions` must be a list of standalone `${...}` strings.""",
    _RGD_HEAD + "  schema:\n    status:\n      phase: Ready",
    _RGD_HEAD + "  schema:\n    status:\n      phase: ${deployment.status.phase}", _F)
SKIPPED = declare(
    "kro-check-skipped", "info", "Some of kro's checks of this RGD need a cluster and were not run",
    """kro type-checks every expression of an RGD against the OpenAPI schemas of the kinds its
    resources create, fetched from the cluster, and infers the status schema from them. Offline
    those schemas are unknown, so wavegate does not guess: this finding lists what was skipped.
    The dry-run against a real API server (with the kinds installed) covers the rest.""",
    _RGD_HEAD + "  resources:\n    - id: config\n      template: {apiVersion: v1, kind: ConfigMap, ...}",
    "# the same RGD; the info finding is expected, run the dry-run to cover the rest", _F)

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_RESERVED_PREFIXES = ("kro.run/", "internal.kro.run/")
_MARKER_HINT = ("Write markers as key=value after `|`, separated by spaces, and quote values that contain "
                "spaces (description=\"...\"). Markers: " + ", ".join(ss.MARKERS) + ".")
_TYPE_HINT = ("Use string, integer, boolean, float, object, []T, map[string]T, or a type defined under "
              "spec.schema.types.")


def check(repo: Repo, ctx) -> Iterable[Finding]:
    for manifest in repo.manifests:
        if manifest.kind == "ResourceGraphDefinition" and manifest.group == kcrd.KRO_GROUP:
            yield from check_rgd(manifest)


def check_rgd(manifest: Manifest) -> Iterable[Finding]:
    """Every finding about one ResourceGraphDefinition."""
    data = manifest.data
    spec = given if isinstance(given := data.get("spec"), dict) else {}
    schema = given if isinstance(given := spec.get("schema"), dict) else None
    if schema is None:
        yield KIND.at(manifest, ("spec",), "spec.schema is missing, so this RGD defines no kind",
                      hint="Add spec.schema with apiVersion, kind and spec.")
        schema = {}
    else:
        yield from _identity(manifest, schema)
    spec_schema, incomplete = yield from _simpleschema(manifest, schema)
    scope = given if (given := schema.get("scope")) in kcrd.SCOPES else kcrd.NAMESPACED
    graph = kgraph.build(data)
    yield from _resources(manifest, graph)
    yield from _expressions(manifest, graph, spec_schema, incomplete, scope, schema.get("spec"))
    yield from _status(manifest, schema, graph)
    yield from _cycles(manifest, graph)
    yield from _skipped(manifest, graph, schema, spec_schema)


# --------------------------------------------------------------------------------------------
# identity


def _identity(m: Manifest, schema: dict) -> Iterable[Finding]:
    kind = schema.get("kind")
    valid_kind: str | None = None  # the kind, once it passed
    if not isinstance(kind, str) or not kind:
        yield KIND.at(m, _SCHEMA + ("kind",), "spec.schema.kind is missing",
                      hint="Set an UpperCamelCase kind such as CICDPipeline.")
    elif not kcrd.KIND_RE.match(kind):
        suggestion = _upper_camel(kind)
        yield KIND.at(m, _SCHEMA + ("kind",),
                      f"kind '{kind}' is not a valid KRO kind name: must be UpperCamelCase "
                      "(^[A-Z][a-zA-Z0-9]*$, at most 63 characters)",
                      hint=(f"Rename it, e.g. to {suggestion}." if suggestion
                            else "Use letters and digits, starting with a capital."),
                      key=False)
    else:
        valid_kind = kind
    version = schema.get("apiVersion")
    if not isinstance(version, str) or not version:
        yield API_VERSION.at(m, _SCHEMA + ("apiVersion",), "spec.schema.apiVersion is missing",
                             hint="Set the version of the generated CRD, e.g. v1alpha1.")
    elif not kcrd.API_VERSION_RE.match(version):
        tail = version.rpartition("/")[2]
        hint = (f"Write only the version: apiVersion: {tail} (the group goes in spec.schema.group)."
                if kcrd.API_VERSION_RE.match(tail) else "Use a Kubernetes version such as v1, v1alpha1 or v1beta2.")
        yield API_VERSION.at(m, _SCHEMA + ("apiVersion",),
                             f"apiVersion {version!r} is not a Kubernetes version (^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$)",
                             hint=hint, key=False)
    group = schema.get("group")
    if group is not None and group != "":
        if not isinstance(group, str):
            yield GROUP.at(m, _SCHEMA + ("group",), f"group is a YAML {type(group).__name__}, not a string", key=False)
        else:
            problem = kcrd.group_problem(group)
            if problem:
                yield GROUP.at(m, _SCHEMA + ("group",), problem,
                               hint="Use a lowercase domain you own, such as platform.example.com, or remove "
                                    "the field to get kro.run.", key=False)
    scope = schema.get("scope")
    if scope is not None and scope not in kcrd.SCOPES:
        close = [s for s in kcrd.SCOPES if isinstance(scope, str) and s.lower() == scope.lower()]
        yield SCOPE.at(m, _SCHEMA + ("scope",), f"scope {scope!r} is neither Namespaced nor Cluster",
                       hint=f"Write {close[0]}." if close else "Use Namespaced (the default) or Cluster.", key=False)
    if valid_kind is not None:
        problem = plural_problem(valid_kind)
        if problem:
            yield PLURAL.at(m, _SCHEMA + ("kind",), f"kind {valid_kind}: {problem}",
                            hint="Choose a kind that is not one of flect's acronyms ending in S, e.g. "
                                 f"{valid_kind[:1]}{valid_kind[1:].lower()}Record.", key=False)


def _upper_camel(text: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", text) if w]
    result = "".join(w[:1].upper() + w[1:] for w in words)
    return result if kcrd.KIND_RE.match(result or "-") else ""


def _lower_camel(text: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", text) if w]
    if not words:
        return ""
    result = words[0][:1].lower() + words[0][1:] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return result if kgraph.LOWER_CAMEL.match(result) and result not in kgraph.RESERVED else ""


# --------------------------------------------------------------------------------------------
# SimpleSchema


def _simpleschema(m: Manifest, schema: dict):
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


# --------------------------------------------------------------------------------------------
# resources


def _resources(m: Manifest, graph: kgraph.Graph) -> Iterable[Finding]:
    seen: dict[str, kgraph.Resource] = {}
    ids = set(graph.ids)
    raw = m.get("spec", "resources")
    if raw is not None and not isinstance(raw, list):
        yield SHAPE.at(m, ("spec", "resources"), "spec.resources is not a list", key=False)
    for resource in graph.resources:
        rid = resource.id
        base = resource.path
        if not resource.data:  # (the graph keeps anything but a mapping as {})
            yield SHAPE.at(m, base, f"resource #{resource.index + 1} is not a mapping with id and template")
            continue
        if not isinstance(rid, str) or not rid:
            yield ID_INVALID.at(m, base, f"resource #{resource.index + 1} has no id",
                                hint="Give it a lowerCamelCase id, e.g. appConfig.")
        elif rid in kgraph.RESERVED:
            yield ID_RESERVED.at(m, base + ("id",), f"id {rid} is a reserved keyword in KRO",
                                 hint=f"Rename it, e.g. to {rid}Resource, and update the ${{{rid}...}} references.", key=False)
        elif not kgraph.LOWER_CAMEL.match(rid):
            suggestion = _lower_camel(rid)
            yield ID_INVALID.at(m, base + ("id",), f"id {rid} is not a valid KRO resource id: must be lower camelCase",
                                hint=(f"Rename it to {suggestion}" if suggestion else "Use letters and digits, starting "
                                      "with a lowercase letter") + ", and update the expressions that refer to it.", key=False)
        if isinstance(rid, str) and rid:
            if rid in seen:
                first = seen[rid]
                line = m.position(first.path + ("id",))[0]
                yield ID_DUPLICATE.at(m, base + ("id",),
                                      f"id {rid} is also used by resource #{first.index + 1} (line {line})",
                                      hint="Give each resource its own id.", key=False)
            else:
                seen[rid] = resource
        yield from _shape(m, resource, rid if isinstance(rid, str) else f"#{resource.index + 1}")
        yield from _for_each(m, resource, ids)
        for where in (kgraph.READY_WHEN, kgraph.INCLUDE_WHEN):
            yield from _conditions(m, resource, where)


def _shape(m: Manifest, resource: kgraph.Resource, name: str) -> Iterable[Finding]:
    data = resource.data
    base = resource.path
    template = data.get("template")
    external = data.get("externalRef")
    if template is not None and external is not None:
        yield SHAPE.at(m, base + ("externalRef",), f'resource "{name}": cannot use externalRef with template',
                       hint="Keep template to create the object, or externalRef to read an existing one.")
        return
    if template is None and external is None:
        yield SHAPE.at(m, base, f'resource "{name}": exactly one of template or externalRef must be provided',
                       hint="Add a template (the object to create) or an externalRef (an existing object to read).")
        return
    if external is not None:
        if data.get("forEach"):
            yield SHAPE.at(m, base + ("forEach",), f'resource "{name}": cannot use externalRef with forEach',
                           hint="Use a template for a collection, or remove forEach.")
        yield from _external_ref(m, base + ("externalRef",), external, name)
        return
    yield from _template(m, base + ("template",), template, name)


def _external_ref(m: Manifest, path: tuple, ref: Any, name: str) -> Iterable[Finding]:
    if not isinstance(ref, dict):
        yield SHAPE.at(m, path, f'resource "{name}": externalRef must be a mapping with apiVersion, kind and metadata', key=False)
        return
    for field in ("apiVersion", "kind"):
        if not isinstance(ref.get(field), str) or not ref.get(field):
            yield SHAPE.at(m, path + (field,), f'resource "{name}": externalRef.{field} is required',
                           hint="An externalRef names the kind to read: apiVersion, kind and metadata.name.")
    metadata = ref.get("metadata")
    if not isinstance(metadata, dict):
        yield SHAPE.at(m, path + ("metadata",), f'resource "{name}": externalRef.metadata with name or selector is required')
        return
    has_name, has_selector = bool(metadata.get("name")), metadata.get("selector") is not None
    if has_name == has_selector:
        what = "both metadata.name and metadata.selector" if has_name else "neither metadata.name nor metadata.selector"
        yield SHAPE.at(m, path + ("metadata",), f'resource "{name}": externalRef has {what}; exactly one is required',
                       hint="Name one object with metadata.name, or match several with metadata.selector.")


def _template(m: Manifest, path: tuple, template: Any, name: str) -> Iterable[Finding]:
    prefix = f"resource {name} is not a valid Kubernetes object: "
    if not isinstance(template, dict):
        yield TEMPLATE.at(m, path, f"resource {name}: template is a {ss.go_type_name(template)}, not an object",
                          hint="Write the full manifest: apiVersion, kind, metadata, spec.", key=False)
        return
    for field in ("apiVersion", "kind"):
        if field not in template:
            yield TEMPLATE.at(m, path, prefix + f"{field} field not found", hint=f"Add {field} to the template.")
        elif not isinstance(template[field], str):
            yield TEMPLATE.at(m, path + (field,), prefix + f"{field} field is not a string", key=False)
    if "metadata" not in template:
        yield TEMPLATE.at(m, path, prefix + "metadata field not found",
                          hint="Add metadata with at least a name (usually built from ${schema.metadata.name}).")
    elif not isinstance(template["metadata"], dict):
        yield TEMPLATE.at(m, path + ("metadata",), prefix + "metadata field is not a map", key=False)
    kind = template.get("kind")
    if isinstance(kind, str) and "${" not in kind and (not _DNS1035.match(kind.lower()) or len(kind) > 63):
        yield TEMPLATE.at(m, path + ("kind",), f'invalid kind "{kind}": must be a valid DNS-1035 label when lowercased',
                          key=False)
    version = template.get("apiVersion")
    if isinstance(version, str) and "${" not in version:
        parts = version.split("/")
        if version == "" or len(parts) > 2 or any(p == "" for p in parts):
            yield TEMPLATE.at(m, path + ("apiVersion",), f'invalid apiVersion format "{version}": expected '
                              "version or group/version", key=False)
    metadata = given if isinstance(given := template.get("metadata"), dict) else {}
    for field in ("labels", "annotations"):
        values = metadata.get(field)
        if not isinstance(values, dict):
            continue
        for key in values:
            prefix_hit = next((p for p in _RESERVED_PREFIXES if str(key).startswith(p)), None)
            if prefix_hit:
                singular = field[:-1]
                yield TEMPLATE.at(m, path + ("metadata", field, key),
                                  f'invalid {singular} for resource "{name}". {field} with prefix "{prefix_hit}" '
                                  "are reserved for internal use",
                                  hint=f"Use your own prefix for {key}.")


def _for_each(m: Manifest, resource: kgraph.Resource, ids: set[str]) -> Iterable[Finding]:
    value = resource.data.get("forEach")
    if value is None:
        return
    path = resource.path + ("forEach",)
    name = resource.id if isinstance(resource.id, str) else f"#{resource.index + 1}"
    if not isinstance(value, list):
        yield FOREACH.at(m, path, f'resource "{name}": forEach must be a list of `iterator: ${{list}}` entries', key=False)
        return
    if len(value) > kgraph.MAX_FOREACH_DIMENSIONS:
        yield FOREACH.at(m, path, f'resource "{name}": forEach cannot have more than '
                                  f"{kgraph.MAX_FOREACH_DIMENSIONS} dimensions, got {len(value)}")
    seen: set[str] = set()
    for i, dimension in enumerate(value):
        item_path = path + (i,)
        if not isinstance(dimension, dict) or len(dimension) != 1:
            yield FOREACH.at(m, item_path, f'resource "{name}": forEach entry {i + 1} must map exactly one iterator '
                                           "name to one ${...} expression", hint="Write `- item: ${schema.spec.items}`.")
            continue
        (iterator, expression), = dimension.items()
        iterator = str(iterator)
        problem = None
        if not kgraph.LOWER_CAMEL.match(iterator):
            problem = f'forEach iterator name "{iterator}" is not valid: must be lowerCamelCase'
        elif iterator in kgraph.RESERVED:
            problem = f'forEach iterator name "{iterator}" is a reserved keyword'
        elif iterator in ids:
            problem = f'forEach iterator name "{iterator}" conflicts with resource ID'
        elif iterator in seen:
            problem = f'duplicate forEach iterator name "{iterator}"'
        seen.add(iterator)
        if problem:
            yield FOREACH.at(m, item_path + (iterator,), f'resource "{name}": {problem}')
        if not isinstance(expression, str) or not _standalone(expression):
            yield FOREACH.at(m, item_path + (iterator,), f'resource "{name}": forEach iterator "{iterator}" must be one '
                             f"standalone ${{...}} expression returning a list, got {expression!r}",
                             hint=f"Write `{iterator}: ${{schema.spec.items}}`.", key=False)


def _standalone(text: str) -> bool:
    try:
        return kgraph.is_standalone(text)
    except kgraph.NestedExpressionError:
        return True  # reported by kro-expression-invalid


def _conditions(m: Manifest, resource: kgraph.Resource, where: str) -> Iterable[Finding]:
    value = resource.data.get(where)
    if value is None:
        return
    path = resource.path + (where,)
    if not isinstance(value, list):
        yield CONDITION.at(m, path, f"{where} must be a list of ${{...}} expressions, got a {ss.go_type_name(value)}",
                           hint=f"Write `{where}:` followed by `- ${{...}}` items.", key=False)
        return
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not _standalone(entry):
            shown = entry if isinstance(entry, str) else f"a YAML {type(entry).__name__}"
            bare = isinstance(entry, str) and "${" not in entry
            yield CONDITION.at(m, path + (i,),
                               f"failed to parse {where} expressions: only standalone expressions are allowed "
                               f"({shown!r} is not exactly one ${{...}})" if isinstance(entry, str) else
                               f"failed to parse {where} expressions: {shown} is not a ${{...}} string",
                               hint=(f"Wrap it: - ${{{entry}}}" if bare else
                                     "Make each entry exactly one ${...}; combine conditions inside it with &&."),
                               key=False)


# --------------------------------------------------------------------------------------------
# expressions


def _allowed(expression: kgraph.Expression, graph: kgraph.Graph) -> set[str]:
    allowed = {"schema", *graph.ids}
    if expression.resource is not None:
        resource = graph.resource(expression.resource)
        if resource is not None:
            allowed.update(resource.iterators)
    return allowed


def _expressions(m: Manifest, graph: kgraph.Graph, spec_schema: dict, incomplete: list[tuple],
                 scope: str, raw_spec: Any) -> Iterable[Finding]:
    for problem in graph.problems:
        yield EXPRESSION.at(m, problem.path, f"{problem.message}: {_short(m.get(*problem.path))}",
                            hint='Write one ${...}; to build a string, concatenate inside it: ${"a-" + schema.spec.b}.',
                            key=False)
    ids = graph.ids
    for expression in graph.expressions:
        syntax = kgraph.cel_syntax_error(expression.text)
        if syntax:
            yield EXPRESSION.at(m, expression.path, f"${{{_short(expression.text)}}}: parse error: {syntax}",
                                hint="Fix the CEL expression; kro rejects the RGD while it does not parse.", key=False)
            continue
        if expression.where == kgraph.READY_WHEN:
            yield from _ready_when(m, expression, graph)
            continue
        in_conditions = expression.where == kgraph.STATUS and len(expression.path) > 3 and expression.path[3] == "conditions"
        allowed = _allowed(expression, graph)
        for ref in expression.refs:
            if ref.root in allowed:
                continue
            if ref.root == "runtime":
                if in_conditions:
                    continue
                message = "runtime is only available in status.conditions expressions"
            elif ref.root == "each":
                message = "`each` is only available in the readyWhen of a forEach collection"
            else:
                message = f"references unknown identifiers: [{ref.root}]"
            close = difflib.get_close_matches(ref.root, sorted(allowed), n=1)
            hint = (f"Did you mean {close[0]}? " if close else "") + \
                   f"Expressions may read schema and the resource ids of this RGD ({', '.join(ids) or 'none'})."
            yield UNKNOWN_REF.at(m, expression.path, f"${{{_short(expression.text)}}} {message}", hint=hint, key=False)
        for ref in expression.refs:
            if ref.root == "schema":
                yield from _schema_field(m, expression, ref.fields, spec_schema, incomplete, scope, raw_spec)
            elif ref.root in ids and len(ref.fields) >= 2 and ref.fields[0] == "metadata" \
                    and ref.fields[1] not in kcrd.OBJECT_META_FIELDS:
                close = difflib.get_close_matches(ref.fields[1], sorted(kcrd.OBJECT_META_FIELDS), n=1)
                yield UNKNOWN_FIELD.at(m, expression.path,
                                       f"${{{_short(expression.text)}}} reads {ref.root}.metadata.{ref.fields[1]}, "
                                       "which is not an ObjectMeta field",
                                       hint=f"Did you mean metadata.{close[0]}?" if close else "", key=False)


def _ready_when(m: Manifest, expression: kgraph.Expression, graph: kgraph.Graph) -> Iterable[Finding]:
    rid = expression.resource
    resource = graph.resource(rid) if rid else None
    allowed = {rid} if rid else set()
    if resource is not None and resource.is_collection:
        allowed.add("each")
    foreign = sorted({ref.root for ref in expression.refs} - allowed)
    if foreign:
        yield READY_WHEN.at(m, expression.path,
                            f'resource "{rid}" readyWhen: references unknown identifiers: [{", ".join(foreign)}]; '
                            f"readyWhen may only read {rid}" + (" and each" if "each" in allowed else ""),
                            hint="Move conditions on other resources or on schema to includeWhen, or to the other "
                                 "resource's readyWhen.", key=False)


def _schema_field(m: Manifest, expression: kgraph.Expression, fields: tuple, spec_schema: dict,
                  incomplete: list[tuple], scope: str, raw_spec: Any) -> Iterable[Finding]:
    text = f"${{{_short(expression.text)}}}"
    if not fields or fields[0] in ("apiVersion", "kind"):
        return
    head = fields[0]
    if head == "status":
        yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.status, which expressions cannot use",
                               hint="Read the resource the status comes from instead, e.g. ${deployment.status...}.",
                               key=False)
        return
    if head == "metadata":
        if len(fields) < 2:
            return
        name = fields[1]
        if name not in kcrd.OBJECT_META_FIELDS:
            close = difflib.get_close_matches(name, sorted(kcrd.OBJECT_META_FIELDS), n=1)
            yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.metadata.{name}, which is not an ObjectMeta field",
                                   hint=f"Did you mean schema.metadata.{close[0]}?" if close else "", key=False)
        elif name == "namespace" and scope == kcrd.CLUSTER:
            yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.metadata.namespace, but the kind is "
                                   "Cluster-scoped: its instances have no namespace", key=False)
        return
    if head != "spec":
        yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.{head}; the instance has apiVersion, kind, "
                               "metadata and spec", hint=f"Did you mean schema.spec.{head}?", key=False)
        return
    path = fields[1:]
    if any(path[:len(p)] == p or p[:len(path)] == path for p in incomplete):
        return  # that part of the schema has its own error
    current = spec_schema
    raw = raw_spec  # the SimpleSchema as written, while the path runs through inline objects
    for i, name in enumerate(path):
        if current.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in current:
            return  # a map or a free-form object: any key
        if current.get("type") != "object":
            return  # a list or a scalar: CEL reports misuse; that needs type checking
        properties = current.get("properties") or {}
        written = sorted(str(k) for k in raw) if isinstance(raw, dict) else sorted(properties)
        if name not in properties:
            if name in written:
                return  # declared, but it has an error of its own
            declared = ".".join(("spec",) + path[:i])
            close = difflib.get_close_matches(name, written, n=1)
            known = ", ".join(written) or "no fields"
            yield UNKNOWN_FIELD.at(
                m, expression.path,
                f"{text} reads schema.{declared}.{name}, but spec.schema.{declared} declares {known}",
                hint=(f"Did you mean schema.{declared}.{close[0]}? " if close else "")
                + f"Or declare {name} under spec.schema.{declared}.", key=False)
            return
        current = properties[name]
        raw = raw.get(name) if isinstance(raw, dict) else None


def _short(text: Any, limit: int = 120) -> str:
    text = str(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# status


def _status(m: Manifest, schema: dict, graph: kgraph.Graph) -> Iterable[Finding]:
    status = schema.get("status")
    if status is None:
        return
    base = _SCHEMA + ("status",)
    if not isinstance(status, dict):
        yield STATUS.at(m, base, f"status must be a map of field: ${{...}}, got a {ss.go_type_name(status)}", key=False)
        return
    for key, value in status.items():
        path = base + (key,)
        if key == "conditions":
            yield from _status_conditions(m, path, value)
            continue
        yield from _status_leaves(m, path, value, graph)


def _status_conditions(m: Manifest, path: tuple, value: Any) -> Iterable[Finding]:
    if not isinstance(value, list):
        yield STATUS.at(m, path, f"status.conditions must be a list, got {ss.go_type_name(value)}",
                        hint="List ${runtime.newCondition(...)} expressions, or remove conditions.", key=False)
        return
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not _standalone(entry):
            yield STATUS.at(m, path + (i,), f"status.conditions[{i}] must be a CEL expression string, got "
                            f"{ss.go_type_name(entry) if not isinstance(entry, str) else repr(_short(entry))}",
                            hint="Write each condition as one ${runtime.newCondition(...)}.", key=False)


def _status_leaves(m: Manifest, path: tuple, value: Any, graph: kgraph.Graph) -> Iterable[Finding]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _status_leaves(m, path + (key,), child, graph)
        return
    if isinstance(value, list):
        for i, child in enumerate(value):
            yield from _status_leaves(m, path + (i,), child, graph)
        return
    dotted = ".".join(str(p) for p in path[2:])
    if not isinstance(value, str) or "${" not in value:
        yield STATUS.at(m, path, f"status fields without expressions are not supported: [{dotted}] is {value!r}",
                        hint="Status is computed by kro; write a ${...} expression that reads a resource, or remove the field.",
                        key=False)
        return
    expressions = [e for e in graph.expressions if e.path == path]
    if expressions and not any(e.roots for e in expressions):  # unknown roots have their own finding
        yield STATUS.at(m, path, f"instance status field must refer to a resource or schema: {dotted}",
                        hint="Read a resource of this RGD (or schema) in the expression.", key=False)


# --------------------------------------------------------------------------------------------
# cycles


def _cycles(m: Manifest, graph: kgraph.Graph) -> Iterable[Finding]:
    order = [r.id for r in graph.resources if isinstance(r.id, str)]
    for cycle in kgraph.cycles(graph.dependencies, order):
        resource = graph.resource(cycle[0])
        path = resource.path + ("id",) if resource else ("spec", "resources")
        if len(cycle) == 2 and cycle[0] == cycle[1]:
            yield CYCLE.at(m, path, f'resource "{cycle[0]}" refers to itself: self references are not allowed',
                           hint="A resource cannot read its own fields while it is being created; read schema or "
                                "another resource instead (readyWhen may read the resource itself).", key=False)
            continue
        text = " -> ".join(cycle)
        yield CYCLE.at(m, path, f"failed to build dependency graph: graph contains a cycle: {text}",
                       hint="Remove one of the references so the resources can be created in some order.", key=False)


# --------------------------------------------------------------------------------------------
# what could not be checked


def _skipped(m: Manifest, graph: kgraph.Graph, schema: dict, spec_schema: dict) -> Iterable[Finding]:
    kinds: list[str] = []
    for resource in graph.resources:
        source = resource.data.get("template") if isinstance(resource.data.get("template"), dict) else \
            resource.data.get("externalRef") if isinstance(resource.data.get("externalRef"), dict) else None
        if source is None:
            continue
        kind, version = source.get("kind"), source.get("apiVersion")
        if isinstance(kind, str) and isinstance(version, str):
            label = f"{kind} ({version})"
            if label not in kinds:
                kinds.append(label)
    resource_expressions = [e for e in graph.expressions if e.where != kgraph.STATUS]
    status_expressions = [e for e in graph.expressions if e.where == kgraph.STATUS]
    unknown_status: list[str] = []
    if isinstance(schema.get("status"), dict):
        scope = given if (given := schema.get("scope")) in kcrd.SCOPES else kcrd.NAMESPACED
        unknown_status = kcrd.infer_status(schema["status"], spec_schema, tuple(graph.ids), scope).unknown_status
    skipped = []
    if kinds:
        skipped.append("template fields and values against the schemas of " + ", ".join(kinds)
                       + ", and whether each resource is namespaced or cluster-scoped")
    if resource_expressions:
        skipped.append(f"the CEL types of {len(resource_expressions)} resource expression"
                       f"{'s' if len(resource_expressions) != 1 else ''} (field types, readyWhen/includeWhen "
                       "returning bool, forEach returning a list)")
    if unknown_status:
        skipped.append(f"the types of status field{'s' if len(unknown_status) != 1 else ''} "
                       + ", ".join(unknown_status) + " (the generated CRD accepts any value there)")
    elif status_expressions:
        skipped.append("the CEL types of the status expressions")
    if not skipped:
        return
    path = ("spec", "resources") if m.get("spec", "resources") is not None else ("spec", "schema")
    yield SKIPPED.at(m, path, "not checked offline, because kro reads these from the live OpenAPI schemas of the "
                     "target kinds: " + "; ".join(skipped),
                     hint="The dry-run against a real API server with these kinds installed covers them.")
