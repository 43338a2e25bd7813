"""The kro rules, declared once: checked by the modules beside this one, one per part of an RGD."""

from __future__ import annotations

from wavegate.rules import declare

_F = "kro"
SCHEMA_PATH = ("spec", "schema")  # where an RGD defines its kind (the checks read it)

SCHEMA_TYPE = declare(
    id="kro-schema-type-invalid", family=_F, severity="error",
    title="A SimpleSchema field has a type kro cannot build",
    rationale="""kro turns spec.schema.spec and spec.schema.types into the OpenAPI schema of the instance CRD.
    A type it cannot parse or resolve (`number` instead of `float`, `[]` without an element type,
    `map[int]string`, an undefined or cyclic custom type) makes kro reject the whole RGD
    (GraphAccepted=False): no CRD is created, so every instance of the kind fails to sync.""")
SCHEMA_MARKER = declare(
    id="kro-schema-marker-invalid", family=_F, severity="error",
    title="A SimpleSchema marker is malformed or does not fit its field",
    rationale="""Markers after `|` become OpenAPI constraints (required, default, enum, pattern, ...). Since
    kro v0.9.0 an unknown marker, a marker without `=value`, an unclosed quote or a value of the
    wrong type (`default=abc` on an integer, `pattern` on an array) is an error: kro rejects the
    RGD and no instance of its kind can be created. A few values kro lets through (a default
    that is not JSON) make the API server reject the generated CRD instead.""")
KIND = declare(
    id="kro-kind-invalid", family=_F, severity="error",
    title="spec.schema.kind is missing or not an UpperCamelCase kind",
    rationale="""The kind becomes the kind of the generated CRD. kro requires ^[A-Z][a-zA-Z0-9]*$ (at most
    63 characters): no dashes, dots or underscores, starting with a capital letter.""")
API_VERSION = declare(
    id="kro-api-version-invalid", family=_F, severity="error",
    title="spec.schema.apiVersion is missing or not a Kubernetes version",
    rationale="""spec.schema.apiVersion is the version name of the generated CRD (instances use
    `<group>/<apiVersion>`). It must look like v1, v1alpha1 or v2beta3; a value such as
    `kro.run/v1alpha1` or `1.0` is rejected by the RGD CRD itself.""")
GROUP = declare(
    id="kro-group-invalid", family=_F, severity="error",
    title="spec.schema.group is not a valid API group",
    rationale="""The group of the generated CRD (kro.run when absent). The API server only accepts a CRD whose
    group is a lowercase DNS subdomain with at least one dot, so kro's CRD for any other group is
    rejected and the kind never exists.""")
SCOPE = declare(
    id="kro-scope-invalid", family=_F, severity="error",
    title="spec.schema.scope is neither Namespaced nor Cluster",
    rationale="""The scope of the generated CRD. The RGD CRD only accepts Namespaced (the default) or Cluster,
    spelled exactly so; the API server rejects the RGD otherwise.""")
PLURAL = declare(
    id="kro-kind-plural-invalid", family=_F, severity="error",
    title="The plural kro derives from the kind is not a valid CRD plural",
    rationale="""kro names the CRD after flect.Pluralize(lowercase kind). For kinds that are one of flect's
    acronyms ending in S (DNS, IPS, HTTPS, ...) flect returns a mixed-case word such as
    `dnsDNSes`; the API server requires a lowercase plural and rejects the CRD.""")
ID_INVALID = declare(
    id="kro-resource-id-invalid", family=_F, severity="error",
    title="A resource id is missing or not lowerCamelCase",
    rationale="""Resource ids are CEL identifiers in `${id.status...}`, so kro requires ^[a-z][a-zA-Z0-9]*$.
    `my-config` would read as a subtraction; kro rejects the RGD.""")
ID_RESERVED = declare(
    id="kro-resource-id-reserved", family=_F, severity="error",
    title="A resource id is a word kro reserves",
    rationale="""CEL keywords and kro's own names (schema, spec, status, metadata, namespace, each, item,
    self, resources, ...) cannot be resource ids; kro rejects the RGD.""")
ID_DUPLICATE = declare(
    id="kro-resource-id-duplicate", family=_F, severity="error",
    title="Two resources have the same id",
    rationale="""Ids name the nodes of the resource graph; kro rejects an RGD in which two resources share one.""")
SHAPE = declare(
    id="kro-resource-template-or-external-ref", family=_F, severity="error",
    title="A resource does not have exactly one of template or externalRef",
    rationale="""Each resource either creates an object (template) or reads an existing one (externalRef, with
    apiVersion, kind and exactly one of metadata.name or metadata.selector). Both, neither, or an
    externalRef with forEach is rejected by kro.""")
TEMPLATE = declare(
    id="kro-template-invalid", family=_F, severity="error",
    title="A resource template is not a Kubernetes object kro accepts",
    rationale="""A template must have a string apiVersion, a string kind (a DNS-1035 label when lowercased) and
    a metadata map, and must not set labels or annotations under kro's own kro.run/ prefixes. kro
    rejects the RGD otherwise.""")
FOREACH = declare(
    id="kro-foreach-invalid", family=_F, severity="error",
    title="A forEach is not a list of single `iterator: ${list}` entries",
    rationale="""forEach makes a collection: each entry maps one lowerCamelCase iterator name (not reserved,
    not a resource id, unique) to one standalone `${...}` list expression, with at most 10
    dimensions. kro rejects anything else.""")
UNKNOWN_REF = declare(
    id="kro-reference-unknown", family=_F, severity="error",
    title="An expression refers to something that is not in the graph",
    rationale="""`${...}` may read `schema` (the instance), resource ids of this RGD and, in a collection, its
    forEach iterators. Anything else (a typo'd id, a resource of another RGD, `runtime` outside
    status.conditions) makes kro reject the RGD with "references unknown identifiers".""")
UNKNOWN_FIELD = declare(
    id="kro-reference-unknown-field", family=_F, severity="error",
    title="An expression reads a schema field that does not exist",
    rationale="""`${schema.spec.x}` must name a field declared in spec.schema.spec (kro type-checks it against
    the instance schema it generates), `schema.metadata.x` an ObjectMeta field, and `schema.status`
    cannot be read at all. A misspelt field makes kro reject the RGD; wavegate finds it offline.""")
CYCLE = declare(
    id="kro-dependency-cycle", family=_F, severity="error",
    title="Resources depend on each other in a circle",
    rationale="""kro orders resources by the ids their templates, forEach and includeWhen expressions read.
    When a reads b and b reads a (directly or through others), or a resource reads itself, there
    is no order to create them in: kro rejects the graph ("graph contains a cycle").""")
CONDITION = declare(
    id="kro-condition-not-standalone", family=_F, severity="error",
    title="A readyWhen or includeWhen entry is not one standalone `${...}`",
    rationale="""readyWhen and includeWhen are lists of boolean CEL expressions, each written as exactly one
    `${...}` and nothing else. Text around it, two expressions in one entry, or a bare expression
    without `${}` is rejected by kro ("only standalone expressions are allowed").""")
READY_WHEN = declare(
    id="kro-ready-when-foreign-reference", family=_F, severity="error",
    title="A readyWhen expression reads something other than its own resource",
    rationale="""readyWhen decides when this resource is ready, from this resource's own state: it may only
    read its own id (and `each` in a collection). Reading schema or another resource is rejected
    by kro; use includeWhen, or a readyWhen on the other resource.""")
EXPRESSION = declare(
    id="kro-expression-invalid", family=_F, severity="error",
    title="A `${...}` expression cannot be parsed",
    rationale="""kro parses every `${...}` as CEL when it accepts the RGD. A syntax error, or a `${` nested
    inside another expression (allowed only inside a string literal), makes it reject the RGD.""")
STATUS = declare(
    id="kro-status-invalid", family=_F, severity="error",
    title="A spec.schema.status field is not an expression kro can use",
    rationale="""Every leaf of spec.schema.status must be a `${...}` expression (or a string built from them)
    that reads a resource or schema: kro infers the status schema from those expressions and
    rejects literal values. `conditions` must be a list of standalone `${...}` strings.""")
SKIPPED = declare(
    id="kro-check-skipped", family=_F, severity="info",
    title="Some of kro's checks of this RGD need a cluster and were not run",
    rationale="""kro type-checks every expression of an RGD against the OpenAPI schemas of the kinds its
    resources create, fetched from the cluster, and infers the status schema from them. Offline
    those schemas are unknown, so wavegate does not guess: this finding lists what was skipped.
    The dry-run against a real API server (with the kinds installed) covers the rest.""")
