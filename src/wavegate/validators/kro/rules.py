"""The kro rules, declared once: checked by the modules beside this one, one per part of an RGD."""

from __future__ import annotations

from wavegate.rules import declare

_F = "kro"
SCHEMA_PATH = ("spec", "schema")  # where an RGD defines its kind (the checks read it)

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
    _RGD_HEAD + "  resources:\n    - id: service\n      template:\n        spec:\n          selector: ${deployment.spec.selector}", _F)
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
