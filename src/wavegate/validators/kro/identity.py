"""The kind an RGD defines: kind, apiVersion, group, scope, and the plural kro derives from the kind."""

from __future__ import annotations

import re
from collections.abc import Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.kro import crd as kcrd
from wavegate.kro.plural import plural_problem
from wavegate.load import Manifest
from wavegate.validators.kro.rules import API_VERSION, GROUP, KIND, PLURAL, SCHEMA_PATH, SCOPE


def check_identity(m: Manifest, schema: dict) -> Iterable[Finding]:
    kind = schema.get("kind")
    valid_kind: str | None = None  # the kind, once it passed
    if not isinstance(kind, str) or not kind:
        yield KIND.at(m, SCHEMA_PATH + ("kind",), "spec.schema.kind is missing",
                      hint="Set an UpperCamelCase kind such as CICDPipeline.")
    elif not kcrd.KIND_RE.match(kind):
        suggestion = _upper_camel(kind)
        yield KIND.at(m, SCHEMA_PATH + ("kind",),
                      f"kind '{kind}' is not a valid KRO kind name: must be UpperCamelCase "
                      "(^[A-Z][a-zA-Z0-9]*$, at most 63 characters)",
                      hint=f"Rename it, e.g. to {suggestion}." if suggestion
                      else "Use letters and digits, starting with a capital.",
                      key=False)
    else:
        valid_kind = kind
    version = schema.get("apiVersion")
    if not isinstance(version, str) or not version:
        yield API_VERSION.at(m, SCHEMA_PATH + ("apiVersion",), "spec.schema.apiVersion is missing",
                             hint="Set the version of the generated CRD, e.g. v1alpha1.")
    elif not kcrd.API_VERSION_RE.match(version):
        tail = version.rpartition("/")[2]
        hint = (f"Write only the version: apiVersion: {tail} (the group goes in spec.schema.group)."
                if kcrd.API_VERSION_RE.match(tail) else "Use a Kubernetes version such as v1, v1alpha1 or v1beta2.")
        yield API_VERSION.at(m, SCHEMA_PATH + ("apiVersion",),
                             f"apiVersion {version!r} is not a Kubernetes version (^v[0-9]+(alpha[0-9]+|beta[0-9]+)?$)",
                             hint=hint, key=False)
    group = schema.get("group")
    if group is not None and group != "":
        if not isinstance(group, str):
            yield GROUP.at(m, SCHEMA_PATH + ("group",), f"group is a YAML {type(group).__name__}, not a string", key=False)
        else:
            problem = kcrd.group_problem(group)
            if problem:
                yield GROUP.at(m, SCHEMA_PATH + ("group",), problem,
                               hint="Use a lowercase domain you own, such as platform.example.com, or remove "
                                    "the field to get kro.run.", key=False)
    scope = schema.get("scope")
    if scope is not None and scope not in kube.SCOPES:
        close = [s for s in kube.SCOPES if isinstance(scope, str) and s.lower() == scope.lower()]
        yield SCOPE.at(m, SCHEMA_PATH + ("scope",), f"scope {scope!r} is neither Namespaced nor Cluster",
                       hint=f"Write {close[0]}." if close else "Use Namespaced (the default) or Cluster.", key=False)
    if valid_kind is not None:
        problem = plural_problem(valid_kind)
        if problem:
            yield PLURAL.at(m, SCHEMA_PATH + ("kind",), f"kind {valid_kind}: {problem}",
                            hint="Choose a kind that is not one of flect's acronyms ending in S, e.g. "
                                 f"{valid_kind[:1]}{valid_kind[1:].lower()}Record.", key=False)


def _upper_camel(text: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", text) if w]
    result = "".join(w[:1].upper() + w[1:] for w in words)
    return result if kcrd.KIND_RE.match(result or "-") else ""
