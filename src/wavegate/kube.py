"""Kubernetes facts that are not schemas: the API groups wavegate knows by name, which kinds are
cluster-scoped, what a label selector is, which namespaces always exist, and which YAML documents
are not Kubernetes objects at all. Each is defined here only.

The built-in scopes were read from Kubernetes' own OpenAPI document (api/openapi-spec/swagger.json
of k8s.io/kubernetes v1.34.4, v1.35.4 and v1.36.3): a kind whose create path has no
`/namespaces/{namespace}/` is cluster-scoped. Kinds that older servers still serve (PodSecurityPolicy,
ComponentStatus, ClusterCIDR, the first DRA ResourceClass) are added by hand, so an old manifest is
judged as its own cluster would judge it. Custom kinds are known from the repository itself: a
CustomResourceDefinition's `spec.scope`, and a kro ResourceGraphDefinition's `spec.schema.scope`
(kro's default is Namespaced).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from wavegate.record import record
from wavegate.regex import lazy_compile

if TYPE_CHECKING:
    from wavegate.load import Manifest, Repo

CLUSTER = "Cluster"
NAMESPACED = "Namespaced"
SCOPES = (NAMESPACED, CLUSTER)  # a CRD's spec.scope, an RGD's spec.schema.scope

# Built-in cluster-scoped kinds by (API group, kind); "" is the core group.
BUILTIN_CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset({
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),  # read-only, still served
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("networking.k8s.io", "ClusterCIDR"),  # alpha in 1.25-1.28
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),  # removed in 1.25
    ("extensions", "PodSecurityPolicy"),  # removed in 1.16
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "DeviceTaintRule"),
    ("resource.k8s.io", "ResourcePoolStatusRequest"),
    ("resource.k8s.io", "ResourceSlice"),
    ("resource.k8s.io", "ResourceClass"),  # classic DRA, removed in 1.31
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    # Not built into Kubernetes, but part of what wavegate checks: kro's own kind.
    ("kro.run", "ResourceGraphDefinition"),
})

# Built-in namespaced kinds: knowing these lets a rule say "this needs a namespace" with certainty.
BUILTIN_NAMESPACED: frozenset[tuple[str, str]] = frozenset({
    ("", "Binding"),
    ("", "ConfigMap"),
    ("", "Endpoints"),
    ("", "Event"),
    ("", "LimitRange"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "ResourceQuota"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("apps", "ControllerRevision"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("certificates.k8s.io", "PodCertificateRequest"),
    ("coordination.k8s.io", "Lease"),
    ("coordination.k8s.io", "LeaseCandidate"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("extensions", "DaemonSet"),
    ("extensions", "Deployment"),
    ("extensions", "Ingress"),
    ("extensions", "NetworkPolicy"),
    ("extensions", "ReplicaSet"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    ("resource.k8s.io", "PodSchedulingContext"),  # classic DRA, removed in 1.32
    ("scheduling.k8s.io", "PodGroup"),
    ("scheduling.k8s.io", "Workload"),
    ("storage.k8s.io", "CSIStorageCapacity"),
    # Argo CD's kinds are namespaced: they live in the namespaces Argo CD watches (normally argocd).
    ("argoproj.io", "Application"),
    ("argoproj.io", "ApplicationSet"),
    ("argoproj.io", "AppProject"),
})

# Created by every API server and never deletable (kube-apiserver's system namespaces controller).
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

KRO_GROUP = "kro.run"
CRD_GROUP = "apiextensions.k8s.io"
ARGOCD_GROUP = "argoproj.io"
BACKSTAGE_GROUP = "backstage.io"

GroupKind = tuple[str, str]


def group_kind(manifest_or_group_kind: Manifest | GroupKind) -> GroupKind:
    if isinstance(manifest_or_group_kind, tuple):
        return manifest_or_group_kind
    return manifest_or_group_kind.group, manifest_or_group_kind.kind


def is_crd(manifest: Manifest) -> bool:
    return manifest.kind == "CustomResourceDefinition" and manifest.group == CRD_GROUP


def is_rgd(manifest: Manifest) -> bool:
    """A kro ResourceGraphDefinition (which defines a kind, as a CRD does)."""
    return manifest.kind == "ResourceGraphDefinition" and manifest.group == KRO_GROUP


_BACKSTAGE_MARK, _BACKSTAGE_SUFFIX = BACKSTAGE_GROUP + "/", "." + BACKSTAGE_GROUP


def is_backstage_entity(manifest: Manifest) -> bool:
    """Whether the document is a Backstage catalog entity (or scaffolder template), never a
    Kubernetes object: `backstage.io/v1alpha1`, `backstage.io/v1beta1`, or any `*.backstage.io` group
    such as `scaffolder.backstage.io/v1beta3`."""
    if _BACKSTAGE_MARK not in manifest.api_version:  # (held by the manifest: "" when not text)
        return False  # the fast answer for every Kubernetes object
    group = manifest.group
    return group == BACKSTAGE_GROUP or group.endswith(_BACKSTAGE_SUFFIX)


def is_kubernetes_object(manifest: Manifest) -> bool:
    """A document that some API server is meant to receive (today: everything but Backstage entities)."""
    return _BACKSTAGE_MARK not in manifest.api_version or not is_backstage_entity(manifest)  # (the first: most)


# Per-repository scopes of custom kinds, computed once per loaded repository.
_REPO_SCOPES: dict[int, tuple[weakref.ref[Repo], int, dict[GroupKind, str]]] = {}


def repo_scopes(repo: Repo | None) -> dict[GroupKind, str]:
    """(group, kind) -> CLUSTER or NAMESPACED for every kind a CRD or RGD in `repo` defines."""
    if repo is None:
        return {}
    cached = _REPO_SCOPES.get(id(repo))
    if cached is not None and cached[1] == len(repo.manifests) and cached[0]() is repo:
        return cached[2]
    scopes: dict[GroupKind, str] = {}
    crds, rgds = repo.by_kind("CustomResourceDefinition", CRD_GROUP), repo.by_kind("ResourceGraphDefinition", KRO_GROUP)
    # (When both define kinds, the later definition in the repository wins: walk them in its order.)
    for manifest in (repo.manifests if crds and rgds else crds + rgds):
        if manifest.kind == "CustomResourceDefinition" and manifest.group == CRD_GROUP:
            group, kind = manifest.get("spec", "group"), manifest.get("spec", "names", "kind")
            scope = manifest.get("spec", "scope")
            if isinstance(group, str) and isinstance(kind, str) and scope in (CLUSTER, NAMESPACED):
                scopes[(group, kind)] = scope
        elif manifest.kind == "ResourceGraphDefinition" and manifest.group == KRO_GROUP:
            kind = manifest.get("spec", "schema", "kind")
            group = manifest.get("spec", "schema", "group") or KRO_GROUP
            scope = manifest.get("spec", "schema", "scope") or NAMESPACED
            if isinstance(kind, str) and isinstance(group, str) and scope in (CLUSTER, NAMESPACED):
                scopes[(group, kind)] = scope
    _REPO_SCOPES[id(repo)] = (weakref.ref(repo), len(repo.manifests), scopes)
    return scopes


def scope(manifest_or_group_kind: Manifest | GroupKind, repo: Repo | None = None) -> str | None:
    """CLUSTER, NAMESPACED, or None when neither Kubernetes nor the repository says."""
    key = group_kind(manifest_or_group_kind)
    if key in BUILTIN_CLUSTER_SCOPED:
        return CLUSTER
    if key in BUILTIN_NAMESPACED:
        return NAMESPACED
    return repo_scopes(repo).get(key)


def cluster_scoped(manifest_or_group_kind: Manifest | GroupKind, repo: Repo | None = None) -> bool:
    """True only when the kind is known to be cluster-scoped (built in, or by a CRD/RGD in `repo`)."""
    return scope(manifest_or_group_kind, repo) == CLUSTER


def namespaced(manifest_or_group_kind: Manifest | GroupKind, repo: Repo | None = None) -> bool:
    """True only when the kind is known to be namespaced; unknown custom kinds are neither."""
    return scope(manifest_or_group_kind, repo) == NAMESPACED


# ---------------------------------------------------------------------------------------------
# Label selectors (k8s.io/apimachinery/pkg/labels.Parse): `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
# `a notin (x,y)`, `a`, `!a`, joined by commas. Keys are qualified names, values label values.

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY = lazy_compile(rf"(?:(?P<prefix>{_DNS_SUBDOMAIN})/)?(?P<name>{_NAME})")
_VALUE = lazy_compile(rf"(?:{_NAME})?")
_SET_OP = lazy_compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ_OP = lazy_compile(r"^(?P<key>[^\s=!]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s=!,()]*)$")
_EXISTS = lazy_compile(r"^(?P<not>!)?\s*(?P<key>[^\s=!(),]+)$")


class SelectorError(ValueError):
    """A label selector Kubernetes would refuse to parse; the message says what is wrong."""


@record(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        value = value if isinstance(value, str) else (None if value is None else str(value))
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


def _check_key(key: str) -> None:
    match = _KEY.fullmatch(key)
    if not match or (match["prefix"] and len(match["prefix"]) > 253):
        raise SelectorError(f"{key!r} is not a valid label key (an optional DNS prefix and '/', then up to 63 "
                            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit)")


def _check_value(value: str) -> None:
    if not _VALUE.fullmatch(value):
        raise SelectorError(f"{value!r} is not a valid label value (up to 63 letters, digits, '-', '_' or '.', "
                            "starting and ending with a letter or digit)")


def _split_top_level(text: str) -> list[str]:
    if "(" not in text and ")" not in text:  # (most selectors: nothing nested to keep together)
        return text.split(",")
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError("')' without a matching '('")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise SelectorError("'(' without a matching ')'")
    parts.append(current)
    return parts


def parse_selector(text) -> list[Requirement]:
    """The requirements of a label selector string, or SelectorError saying why it does not parse."""
    if not isinstance(text, str):
        raise SelectorError(f"a label selector is a string, not a YAML {type(text).__name__}")
    if not text.strip():
        raise SelectorError("the selector is empty (it would select everything)")
    requirements = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise SelectorError(f"empty requirement in {text!r} (two commas, or a trailing comma)")
        if match := _SET_OP.match(part):
            key, op = match["key"], match["op"]
            values = tuple(v.strip() for v in match["values"].split(","))
            _check_key(key)
            if values == ("",):
                raise SelectorError(f"{part!r}: '{op}' needs at least one value in the parentheses")
            for value in values:
                _check_value(value)
            requirements.append(Requirement(key, op, values))
        elif match := _EQ_OP.match(part):
            key, op, value = match["key"], match["op"], match["value"]
            _check_key(key)
            _check_value(value)
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
        elif match := _EXISTS.match(part):
            _check_key(match["key"])
            requirements.append(Requirement(match["key"], "!" if match["not"] else "exists"))
        else:
            raise SelectorError(f"{part!r} is not a requirement: write key=value, key!=value, key in (a,b), "
                                "key notin (a,b), key or !key")
    return requirements


def selector_matches(requirements: list[Requirement], labels: dict) -> bool:
    return all(r.matches(labels) for r in requirements)
