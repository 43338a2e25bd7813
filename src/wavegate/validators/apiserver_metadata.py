"""What the API server checks in every object's metadata beyond the OpenAPI schema: the name (and
generateName) in the form its kind requires, the namespace name, label keys and values, annotation
keys and their total size, finalizer names. Ported from k8s.io/apimachinery's ObjectMeta
validation and the per-kind name functions of k8s.io/kubernetes pkg/apis/*/validation (v1.37);
messages are the server's own (`ConfigMap "Web_Settings" is invalid: metadata.name: ...`).

The same checks apply to the metadata of pod templates and job templates, and label rules to
the selectors the server validates (workload selectors, a Service's selector).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from wavegate import apimachinery as am
from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context, per_object

_K = "kubernetes"

NAME_INVALID = declare(
    id="object-name-invalid", family=_K, severity="error",
    title="The object's name is not one the API server accepts for its kind",
    rationale="""The API server checks names per kind: most must be DNS-1123 subdomains (lowercase letters, digits,
    '-' and '.', at most 253), Namespaces, StatefulSets and Services DNS-1123 labels (no '.', at most
    63; Services before Kubernetes 1.36 also had to start with a letter), custom resources DNS-1123
    subdomains, and RBAC objects only path segments (anything without '/' or '%', so
    `system:openshift:scc:anyuid` is fine). A name a template rendered from user input ("My App")
    is refused at sync time and the whole wave fails. generateName is checked the same way.""")
LABEL_INVALID = declare(
    id="label-invalid", family=_K, severity="error",
    title="A label key or value is not one the API server accepts",
    rationale="""Label keys are an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_'
    or '.' starting and ending with a letter or digit; values are empty or the same, at most 63. The
    API server refuses an object with any other label, in its metadata, in a pod template or in a
    selector. Quote a value that YAML would read as a number or boolean.""")
ANNOTATION_INVALID = declare(
    id="annotation-invalid", family=_K, severity="error",
    title="An annotation key is invalid, or the annotations are too large",
    rationale="""Annotation keys follow the label key rules (case does not matter); values may be anything, but
    all keys and values of one object together may not exceed 256 KiB. The API server refuses the
    object otherwise (a large last-applied-configuration or an embedded file is the usual cause).""")

# Name forms by (group, kind), from the name functions each kind's validation passes to
# ValidateObjectMeta in k8s.io/kubernetes v1.37 pkg/apis/*/validation. Built-in kinds not listed
# get only the generic check every create gets (rest.BeforeCreate: a path segment).
_SUBDOMAIN_KINDS = {
    "": ("Pod", "PodTemplate", "Node", "LimitRange", "ResourceQuota", "Secret", "ServiceAccount", "Endpoints",
         "ConfigMap", "PersistentVolume", "PersistentVolumeClaim", "ReplicationController", "Event"),
    "apps": ("ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet"),
    "batch": ("Job", "CronJob"),
    "autoscaling": ("HorizontalPodAutoscaler",),
    "networking.k8s.io": ("NetworkPolicy", "Ingress", "IngressClass", "ServiceCIDR"),
    "discovery.k8s.io": ("EndpointSlice",),
    "storage.k8s.io": ("StorageClass", "VolumeAttachment", "CSINode", "CSIDriver", "CSIStorageCapacity",
                       "VolumeAttributesClass"),
    "scheduling.k8s.io": ("PriorityClass",),
    "node.k8s.io": ("RuntimeClass",),
    "coordination.k8s.io": ("Lease",),
    "events.k8s.io": ("Event",),
    "flowcontrol.apiserver.k8s.io": ("FlowSchema", "PriorityLevelConfiguration"),
    "admissionregistration.k8s.io": ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                                     "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                                     "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"),
    "apiextensions.k8s.io": ("CustomResourceDefinition",),
    "certificates.k8s.io": ("CertificateSigningRequest",),
}
NAME_FORMS: dict[tuple[str, str], str] = {
    **{(group, kind): am.SUBDOMAIN for group, kinds in _SUBDOMAIN_KINDS.items() for kind in kinds},
    ("", "Namespace"): am.LABEL,
    ("", "Service"): am.LABEL,  # DNS-1035 before 1.36 (RelaxedServiceNameValidation); see name_form
    ("apps", "StatefulSet"): am.LABEL,
    **{("rbac.authorization.k8s.io", kind): am.PATH_SEGMENT
       for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
}
CRONJOB_NAME_MAX = 52  # the Jobs it creates append 11 characters, and must stay DNS labels
GENERATED_SUFFIX = 5  # the random characters generateName gets (apiserver's names.SimpleNameGenerator)


def name_form(group: str, kind: str, custom: bool, kubernetes_version: str) -> str:
    """How the API server checks names of this kind: am.SUBDOMAIN, LABEL, LABEL_1035 or PATH_SEGMENT."""
    if custom:
        return am.SUBDOMAIN  # apiextensions: every custom resource
    if (group, kind) == ("", "Service") and _minor(kubernetes_version) < 36:
        return am.LABEL_1035
    return NAME_FORMS.get((group, kind), am.PATH_SEGMENT)


def _minor(version: str) -> int:
    try:
        return int(str(version).split(".")[1])
    except (IndexError, ValueError):
        return 99


_FORM_HINT = {
    am.SUBDOMAIN: "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253",
    am.LABEL: "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63",
    am.LABEL_1035: "lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, "
                   "at most 63",
    am.PATH_SEGMENT: "anything but '/' and '%', and not '.' or '..'",
}


def templated(value) -> bool:
    """A value a template engine fills in before anything reaches the API server (a Backstage
    skeleton's `${{ values.name }}`, a Helm or Go template's `{{ .Values.name }}`): not judged."""
    return isinstance(value, str) and "{{" in value


def kubernetes_version(ctx) -> str:
    store = getattr(ctx, "schemas", None)
    if store is not None:
        return store.kubernetes_version
    from wavegate.schemas import kubernetes

    try:
        return kubernetes.resolve_version(getattr(ctx.config, "kubernetes_version", None))
    except kubernetes.VersionError:
        return "1.99"


def is_custom(manifest: Manifest, ctx) -> bool | None:
    """True for a custom resource, False for a built-in kind, None when no schema says which."""
    from wavegate.schemas.store import store_for

    store = store_for(ctx)
    entry = store.lookup(manifest.api_version, manifest.kind)
    if entry is None or entry.dialect == "json":
        return None
    if entry.origin == "kubernetes":
        return False
    return (manifest.group, manifest.kind) not in _builtin_kinds(store.kubernetes_version)


@lru_cache(maxsize=4)
def _builtin_kinds(version: str) -> frozenset[tuple[str, str]]:
    from wavegate.schemas import kubernetes

    try:
        return frozenset((g, k) for g, _, k in kubernetes.schemas_for(version).kinds)
    except (OSError, KeyError):
        return frozenset()


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    from wavegate.schemas.store import store_for

    version = kubernetes_version(ctx)
    forms: dict[tuple, str | None] = {}  # (apiVersion, kind) -> name form (None: a CRD): a few kinds, many objects

    def judge(manifest: Manifest) -> Iterable[Finding]:
        metadata = manifest.data.get("metadata")
        if not isinstance(metadata, dict) or not kube.is_kubernetes_object(manifest):
            return ()
        kind = (manifest.api_version, manifest.kind)
        form = forms[kind] if kind in forms else forms.setdefault(kind, _form_of(manifest, ctx, version))
        found: list[Finding] = []
        if form is not None and not _plain_name_holds(metadata, form, manifest.kind):
            found.extend(_name(manifest, form))
        found.extend(metadata_findings(manifest, ("metadata",), metadata))
        for path, template in template_metadata(manifest):
            found.extend(metadata_findings(manifest, path, template))
        return found

    # (whether an object is a custom resource is the schema store's answer)
    yield from per_object(ctx, "apiserver_metadata", repo.manifests, judge, version, store_for(ctx).fingerprint())


def _form_of(manifest: Manifest, ctx, version: str) -> str | None:
    """The form the names of `manifest`'s kind take; None for a CRD, whose name apiserver_crds
    checks with the plural.group rule."""
    if kube.is_crd(manifest):
        return None
    custom = is_custom(manifest, ctx)
    return am.PATH_SEGMENT if custom is None else name_form(manifest.group, manifest.kind, custom, version)


def _plain_name_holds(metadata: dict, form: str, kind: str) -> bool:
    """Whether the usual metadata has nothing for _name to report: a valid name of `form`, no
    generateName, no namespace or a valid one."""
    name = metadata.get("name")
    if type(name) is not str or "generateName" in metadata or not am.name_errors.holds(form, name) \
            or (kind == "CronJob" and len(name) > CRONJOB_NAME_MAX):
        return False
    namespace = metadata.get("namespace")
    return namespace is None or (type(namespace) is str and am.name_errors.holds(am.LABEL, namespace))


def _invalid(manifest: Manifest, rule, path: tuple, text: str, hint: str, key: bool = False) -> Finding:
    name = manifest.name or manifest.metadata.get("generateName") or ""
    return rule.at(manifest, path, f'{manifest.kind} "{name}" is invalid: {text}', hint=hint, key=key)


def _name(manifest: Manifest, form: str) -> Iterable[Finding]:
    metadata = manifest.metadata
    generated = metadata.get("generateName")
    name = metadata.get("name")
    checks = [("generateName", generated, True), ("name", name, False)]
    if isinstance(generated, str) and generated and not name:
        # The server appends five random characters and checks that name too (its length).
        checks.append(("generateName", generated + "x" * GENERATED_SUFFIX, False))
    for field, value, prefix in checks:
        if not isinstance(value, str) or not value or templated(value):
            continue
        errors = am.name_errors(form, value, prefix=prefix)
        if (not errors and not prefix and (manifest.group, manifest.kind) == ("batch", "CronJob")
                and len(value) > CRONJOB_NAME_MAX):
            errors = [f"must be no more than {CRONJOB_NAME_MAX} characters"]
        if field == "generateName" and not prefix and isinstance(generated, str):
            errors = [f"{e} (with the {GENERATED_SUFFIX} characters the server appends)" for e in errors
                      if not am.name_errors(form, generated, prefix=True)]
        for message in errors:
            suggestion = suggest_name(value, form)
            hint = f"A {manifest.kind} name must be a {form}: {_FORM_HINT[form]}."
            if suggestion and suggestion != value and prefix is False and field == "name":
                hint += f" For example: {field}: {suggestion}"
            yield _invalid(manifest, NAME_INVALID, ("metadata", field),
                           am.field_error(("metadata", field), "Invalid", metadata[field], message), hint)
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and namespace and not templated(namespace):
        for message in am.name_errors(am.LABEL, namespace):
            yield _invalid(manifest, NAME_INVALID, ("metadata", "namespace"),
                           am.field_error(("metadata", "namespace"), "Invalid", namespace, message),
                           f"A namespace name must be a DNS-1123 label: {_FORM_HINT[am.LABEL]}.")


def suggest_name(name: str, form: str) -> str:
    """A name of `form` close to `name` (lowercase, other characters as '-'), or ''."""
    import re

    if form == am.PATH_SEGMENT:
        return name.replace("/", "-").replace("%", "-") if name not in (".", "..") else ""
    allowed = "a-z0-9." if form == am.SUBDOMAIN else "a-z0-9"
    text = re.sub(rf"[^{allowed}-]+", "-", name.lower()).strip("-.")
    text = re.sub(r"-{2,}", "-", text)
    limit = am.DNS1123_SUBDOMAIN_MAX if form == am.SUBDOMAIN else am.DNS1123_LABEL_MAX
    text = text[:limit].rstrip("-.")
    if form == am.LABEL_1035 and text and not text[0].isalpha():
        text = ("x-" + text)[:limit].rstrip("-")
    return text if text and not am.name_errors(form, text) else ""


def template_metadata(manifest: Manifest) -> list[tuple[tuple, dict]]:
    """The metadata of a workload's pod or job template (validated like an object's), with where
    each sits."""
    group, kind = manifest.group, manifest.kind
    spec = manifest.data.get("spec")
    if not isinstance(spec, dict):
        return []
    paths: list[tuple] = []
    if (group, kind) in WORKLOADS or (group, kind) == ("", "ReplicationController"):
        paths.append(("spec", "template", "metadata"))
    elif (group, kind) == ("", "PodTemplate"):
        paths = [("template", "metadata")]
    elif (group, kind) == ("batch", "CronJob"):
        paths = [("spec", "jobTemplate", "metadata"), ("spec", "jobTemplate", "spec", "template", "metadata")]
    return [(p, found) for p in paths if isinstance(found := manifest.get(*p), dict)]


WORKLOADS = frozenset({("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                       ("apps", "DaemonSet"), ("batch", "Job")})


def metadata_findings(manifest: Manifest, path: tuple, metadata: dict) -> Iterable[Finding]:
    """Labels and annotations of `metadata`, an object's or a template's, found at `path`."""
    labels = metadata.get("labels")
    if isinstance(labels, dict):
        yield from label_findings(manifest, path + ("labels",), labels)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        yield from _annotations(manifest, path + ("annotations",), annotations)


def label_findings(manifest: Manifest, path: tuple, labels: dict) -> Iterable[Finding]:
    """ValidateLabels: every key a qualified name, every value a label value (reported at the
    map, as the server does, and pointed at the offending entry)."""
    for key, value in labels.items():
        if type(key) is str and type(value) is str and am.is_qualified_name.holds(key) and \
                am.is_label_value.holds(value):
            continue  # (the usual answer, for the same few labels on every object)
        where = am.field_path(path)
        key_text = str(key)
        if templated(key_text) or templated(value):
            continue
        for message in am.is_qualified_name(key_text):
            yield _invalid(manifest, LABEL_INVALID, path + (key,), am.field_error(where, "Invalid", key_text, message),
                           "Use a key of letters, digits, '-', '_' and '.', at most 63, starting and ending with a "
                           "letter or digit, optionally prefixed by a DNS subdomain and '/' (example.com/team).",
                           key=True)
        if not isinstance(value, str):
            continue  # a non-string value is the schema's finding (schema-invalid-type)
        for message in am.is_label_value(value):
            suggestion = suggest_label_value(value)
            hint = "Use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit."
            if suggestion and suggestion != value:
                hint += f" For example: {key_text}: {suggestion}"
            yield _invalid(manifest, LABEL_INVALID, path + (key,), am.field_error(where, "Invalid", value, message),
                           hint)


def suggest_label_value(value: str) -> str:
    import re

    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-_.")[:am.LABEL_VALUE_MAX].rstrip("-_.")
    return text if not am.is_label_value(text) else ""


def _annotations(manifest: Manifest, path: tuple, annotations: dict) -> Iterable[Finding]:
    characters = 0  # (a bound of their size: a character is at most 4 bytes of UTF-8)
    for key, value in annotations.items():
        key_text = str(key)
        characters += len(key_text) + (len(value) if isinstance(value, str) else 0)
        if am.is_qualified_name.holds(key_text.lower()) or templated(key_text):
            continue  # (the usual answer)
        where = am.field_path(path)
        for message in am.is_qualified_name(key_text.lower()):
            yield _invalid(manifest, ANNOTATION_INVALID, path + (key,),
                           am.field_error(where, "Invalid", key_text, message),
                           "Use a key of letters, digits, '-', '_' and '.', optionally prefixed by a DNS subdomain "
                           "and '/' (example.com/owner-team).", key=True)
    if characters * 4 <= am.TOTAL_ANNOTATION_SIZE_LIMIT:
        return
    size = am.annotations_size(annotations)
    if size > am.TOTAL_ANNOTATION_SIZE_LIMIT:
        detail = f"may not be more than {am.TOTAL_ANNOTATION_SIZE_LIMIT} bytes"
        yield _invalid(manifest, ANNOTATION_INVALID, path,
                       am.field_error(am.field_path(path), "Too long", detail=detail) + f" (they hold {size} bytes)",
                       "Move large values out of annotations (into a ConfigMap, or drop a copied "
                       "kubectl.kubernetes.io/last-applied-configuration).", key=True)
