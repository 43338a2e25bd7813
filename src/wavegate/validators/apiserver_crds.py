"""What the API server checks in a CustomResourceDefinition besides its schema: the name is
`<plural>.<group>`, the group a dotted DNS name, the names DNS-1035 labels, the scope, the
versions (named, unique, exactly one stored, each with a schema). Ported from
ValidateCustomResourceDefinition in k8s.io/apiextensions-apiserver v0.37; messages are the server's.
Problems of the schemas themselves (structure, patterns, CEL rules, defaults) are the schema
check's (schema-crd-invalid).
"""

from __future__ import annotations

from collections.abc import Iterable

from wavegate import apimachinery as am
from wavegate.findings import Finding
from wavegate.kube import CRD_GROUP
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context

CRD_INVALID = declare(
    id="crd-invalid", family="schema", severity="error",
    title="The API server refuses this CustomResourceDefinition",
    rationale="""A CRD's name must be `<spec.names.plural>.<spec.group>`, its group a DNS name with at least one dot,
    its plural, singular, kind and listKind DNS-1035 labels (kinds may have mixed case), its scope
    Namespaced or Cluster; its versions need unique DNS-1035 names, a schema each, and exactly one of
    them `storage: true`. The API server refuses any other CRD, and every custom resource of its kind
    then fails to sync as well.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    for manifest in repo.having(kinds=("CustomResourceDefinition",)):
        if manifest.api_version == f"{CRD_GROUP}/v1":
            yield from crd_findings(manifest)


def _refused(manifest: Manifest, path: tuple, text: str, hint: str, key: bool = False) -> Finding:
    name = manifest.name or manifest.metadata.get("generateName") or ""
    return CRD_INVALID.at(manifest, path, f'CustomResourceDefinition "{name}" is invalid: {text}', hint=hint, key=key)


def crd_findings(manifest: Manifest) -> Iterable[Finding]:
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return
    names = names if isinstance(names := spec.get("names"), dict) else {}
    group = spec.get("group")
    yield from _name(manifest, names, group)
    yield from _group(manifest, group)
    scope = spec.get("scope")
    if isinstance(scope, str) and scope not in ("Cluster", "Namespaced"):
        yield _refused(manifest, ("spec", "scope"), am.not_supported(("spec", "scope"), scope, ("Cluster", "Namespaced")),
                       "Use scope: Namespaced or scope: Cluster.")
    yield from _names(manifest, names)
    yield from _versions(manifest, spec)


def _name(manifest: Manifest, names: dict, group) -> Iterable[Finding]:
    wanted = f"{names.get('plural', '')}.{group or ''}"
    metadata = manifest.metadata
    for field, prefix in (("generateName", True), ("name", False)):
        value = metadata.get(field)
        if not isinstance(value, str) or not value:
            continue
        where = ("metadata", field)
        for message in am.name_errors(am.SUBDOMAIN, value, prefix=prefix):
            yield _refused(manifest, where, am.field_error(where, "Invalid", value, message),
                           f"Name the CRD {wanted}.")
        if value != wanted:
            yield _refused(manifest, where, am.field_error(where, "Invalid", value,
                                                           'must be spec.names.plural+"."+spec.group'),
                           f"Name the CRD {wanted} (spec.names.plural, a dot, spec.group)"
                           + (", or change spec.names.plural or spec.group to match the name." if field == "name"
                              else "; a CRD cannot have a generated name."))


def _group(manifest: Manifest, group) -> Iterable[Finding]:
    if not isinstance(group, str) or not group:
        return  # a missing group is schema-required
    where = ("spec", "group")
    errors = am.is_dns1123_subdomain(group)
    if errors:
        yield _refused(manifest, where, am.field_error(where, "Invalid", group, ",".join(errors)),
                       "Use a lowercase DNS name you own, such as example.com.")
    elif "." not in group:
        yield _refused(manifest, where, am.field_error(where, "Invalid", group, "should be a domain with at least one dot"),
                       f"Use a DNS name with a dot, such as {group}.example.com.")


def _names(manifest: Manifest, names: dict) -> Iterable[Finding]:
    for field in ("plural", "singular", "kind", "listKind"):
        value = names.get(field)
        where: tuple[str | int, ...] = ("spec", "names", field)
        if (value is None or value == "") and field in ("singular", "listKind"):
            continue  # defaulted from kind (SetDefaults_CustomResourceDefinitionSpec)
        if value is None or value == "":
            yield _refused(manifest, where if field in names else ("spec", "names"), am.field_error(where, "Required"),
                           f"Add spec.names.{field}.", key=True)
            continue
        if not isinstance(value, str):
            continue
        mixed = field in ("kind", "listKind")
        errors = am.is_dns1035_label(value.lower() if mixed else value)
        if errors:
            detail = ",".join(errors)
            yield _refused(manifest, where, am.field_error(where, "Invalid", value,
                                                           "may have mixed case, but should otherwise match: " + detail
                                                           if mixed else detail),
                           "Use letters and digits, starting with a letter" + (" (plural and singular in lowercase)"
                                                                               if not mixed else "") + ".")
    kind, list_kind = names.get("kind"), names.get("listKind")
    if isinstance(kind, str) and kind and kind == list_kind:
        where = ("spec", "names", "listKind")
        yield _refused(manifest, where, am.field_error(where, "Invalid", list_kind, "kind and listKind may not be the same"),
                       f"Use listKind: {kind}List.")
    for field in ("shortNames", "categories"):
        for i, value in enumerate(names.get(field) or [] if isinstance(names.get(field), list) else []):
            if isinstance(value, str):
                for message in am.is_dns1035_label(value):
                    where = ("spec", "names", field, i)
                    yield _refused(manifest, where, am.field_error(where, "Invalid", value, message),
                                   "Use lowercase letters and digits, starting with a letter.")


def _versions(manifest: Manifest, spec: dict) -> Iterable[Finding]:
    versions = spec.get("versions")
    if not isinstance(versions, list):
        return
    seen: set[str] = set()
    duplicate = False
    storage = 0
    preserve = spec.get("preserveUnknownFields") is True
    for i, version in enumerate(versions):
        if not isinstance(version, dict):
            continue
        name = version.get("name")
        if isinstance(name, str):
            errors = am.is_dns1035_label(name)
            if errors:
                where: tuple[str | int, ...] = ("spec", "versions", i, "name")
                yield _refused(manifest, where, am.field_error(where, "Invalid", name, ",".join(errors)),
                               "Name versions like v1, v1beta1, v2alpha1.")
            duplicate |= name in seen
            seen.add(name)
        if version.get("storage") is True:
            storage += 1
        schema = version.get("schema")
        if not preserve and not (isinstance(schema, dict) and isinstance(schema.get("openAPIV3Schema"), dict)):
            where = ("spec", "versions", i, "schema", "openAPIV3Schema")
            yield _refused(manifest, ("spec", "versions", i), am.field_error(where, "Required"),
                           "Give the version a schema (schema.openAPIV3Schema); without one every field is pruned.",
                           key=True)
    if duplicate:
        yield _refused(manifest, ("spec", "versions"), am.field_error(("spec", "versions"), "Invalid", "<versions>",
                                                                      "must contain unique version names")
                       .replace('"<versions>"', "[...]"), "Give each version its own name.", key=True)
    if storage != 1:
        yield _refused(manifest, ("spec", "versions"),
                       am.field_error(("spec", "versions"), "Invalid", "<versions>",
                                      "must have exactly one version marked as storage version").replace('"<versions>"',
                                                                                                         "[...]"),
                       "Mark exactly one version `storage: true` (the others `storage: false`).", key=True)
