"""Which objects a ValidatingAdmissionPolicy (and its binding) applies to, as the API server decides.

Every manifest is treated as a CREATE request (Argo CD creates what does not exist yet; an
UPDATE-only rule never matches offline). The resource of a kind is its plural: from a CRD in the
repository or the policy directory, a built-in table, or Kubernetes' own guess for anything else
(lowercase kind, `s` -> `ses`, `y` -> `ies`, else `+s`; kro names the resources of an RGD's kind
the same way).
"""

from __future__ import annotations

from wavegate import kube
from wavegate.record import record

# Built-in kinds whose plural is not Kubernetes' guess (or worth stating), by kind.
BUILTIN_PLURALS: dict[str, str] = {
    "Endpoints": "endpoints",
    "Ingress": "ingresses",
    "IngressClass": "ingressclasses",
    "NetworkPolicy": "networkpolicies",
    "PodSecurityPolicy": "podsecuritypolicies",
    "StorageClass": "storageclasses",
    "PriorityClass": "priorityclasses",
    "RuntimeClass": "runtimeclasses",
    "DeviceClass": "deviceclasses",
    "ResourceClass": "resourceclasses",
    "VolumeAttributesClass": "volumeattributesclasses",
    "ComponentStatus": "componentstatuses",
    "ServiceCIDR": "servicecidrs",
    "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
    "MutatingAdmissionPolicy": "mutatingadmissionpolicies",
    "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    "MutatingAdmissionPolicyBinding": "mutatingadmissionpolicybindings",
    "CustomResourceDefinition": "customresourcedefinitions",
    "Application": "applications",
    "ApplicationSet": "applicationsets",
    "AppProject": "appprojects",
    "ResourceGraphDefinition": "resourcegraphdefinitions",
}

CREATE = "CREATE"


def guess_plural(kind: str) -> str:
    """k8s.io/apimachinery meta.UnsafeGuessKindToResource."""
    if kind in BUILTIN_PLURALS:
        return BUILTIN_PLURALS[kind]
    singular = kind.lower()
    if not singular:
        return ""
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def crd_plurals(manifests) -> dict[tuple[str, str], str]:
    """(group, kind) -> plural from every CustomResourceDefinition among `manifests`."""
    found = {}
    for manifest in manifests:
        if kube.is_crd(manifest):
            group, kind = manifest.get("spec", "group"), manifest.get("spec", "names", "kind")
            plural = manifest.get("spec", "names", "plural")
            if isinstance(group, str) and isinstance(kind, str) and isinstance(plural, str):
                found[(group, kind)] = plural
    return found


@record(slots=True)
class Request:
    """The admission attributes of one manifest, as a CREATE (made once per manifest, never changed)."""

    group: str
    version: str
    kind: str
    resource: str
    namespace: str | None
    name: str | None
    scope: str | None  # kube.CLUSTER, kube.NAMESPACED or None (unknown)
    labels: dict
    namespace_labels: dict | None  # None: cluster-scoped (never filtered by namespaceSelector)

    def as_cel(self) -> dict:
        gvk = {"group": self.group, "version": self.version, "kind": self.kind}
        gvr = {"group": self.group, "version": self.version, "resource": self.resource}
        return {
            "uid": "", "kind": gvk, "resource": gvr, "subResource": "",
            "requestKind": gvk, "requestResource": gvr, "requestSubResource": "",
            "name": self.name or "", "namespace": self.namespace or "", "operation": CREATE,
            "userInfo": {}, "dryRun": False, "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        }


class SelectorError(ValueError):
    pass


def selector_matches(selector, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels, matchExpressions) against `labels`; null/{} matches all."""
    if selector is None:
        return True
    if not isinstance(selector, dict):
        raise SelectorError("a label selector is a mapping with matchLabels and matchExpressions")
    labels = {k: (v if isinstance(v, str) else str(v)) for k, v in (labels or {}).items()}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != (value if isinstance(value, str) else str(value)):
            return False
    for expression in selector.get("matchExpressions") or []:
        key = expression.get("key")
        operator = expression.get("operator")
        values = [v if isinstance(v, str) else str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In":
            ok = present and labels[key] in values
        elif operator == "NotIn":
            ok = not present or labels[key] not in values
        elif operator == "Exists":
            ok = present
        elif operator == "DoesNotExist":
            ok = not present
        else:
            raise SelectorError(f"unknown selector operator {operator!r}; use In, NotIn, Exists or DoesNotExist")
        if not ok:
            return False
    return True


def _listed(values, value: str) -> bool:
    values = values or []
    return "*" in values or value in values


def rule_matches(rule: dict, request: Request) -> bool:
    """One NamedRuleWithOperations against a CREATE of the main resource (no subresource)."""
    if not isinstance(rule, dict):
        return False
    if not _listed(rule.get("operations"), CREATE):
        return False
    if not _listed(rule.get("apiGroups"), request.group):
        return False
    if not _listed(rule.get("apiVersions"), request.version):
        return False
    resources = rule.get("resources") or []
    if not any(r in ("*", "*/*") or r == request.resource for r in resources):
        return False
    scope = rule.get("scope") or "*"
    if scope != "*":
        actual = request.scope or (kube.NAMESPACED if request.namespace else kube.CLUSTER)
        if actual != scope:
            return False
    names = rule.get("resourceNames") or []
    if names and request.name not in names:
        return False
    return True


def resources_match(match: dict | None, request: Request, require_rules: bool) -> bool:
    """MatchResources: namespaceSelector, objectSelector, resourceRules, excludeResourceRules.

    With require_rules=False (a binding's matchResources), absent resourceRules do not constrain.
    """
    match = match or {}
    rules = match.get("resourceRules")
    if rules or require_rules:
        if not any(rule_matches(rule, request) for rule in rules or []):
            return False
    if any(rule_matches(rule, request) for rule in match.get("excludeResourceRules") or []):
        return False
    if not selector_matches(match.get("objectSelector"), request.labels):
        return False
    namespace_selector = match.get("namespaceSelector")
    if request.kind == "Namespace" and request.group == "":
        return selector_matches(namespace_selector, request.labels)
    if request.namespace_labels is None:  # cluster-scoped: never skipped by the namespace selector
        return True
    return selector_matches(namespace_selector, request.namespace_labels)
