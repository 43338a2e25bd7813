"""Schemas: every manifest checked against the one schema store, as the API server would check it.

Kubernetes objects (built-in kinds, CRD-defined kinds, kro instances, Argo CD's kinds) and Backstage
entities all go through `wavegate.schemas`. A kind no source knows is reported, never passed.

This check judges every object but those of Kubernetes' own kinds, which schema_kubernetes judges
the same way: the policy check reads this one's results (the custom resources as admission sees
them, defaulted), so the two run in one process, and the built-in kinds, whose results nobody
else reads, can run in the other (validators._run_checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare, format_path
from wavegate.schemas import SchemaStore
from wavegate.schemas.engine import (
    CEL_RULE,
    CEL_SKIPPED,
    CRD,
    DUPLICATE,
    JSON,
    REQUIRED,
    TYPE,
    UNKNOWN_FIELD,
    VALUE,
    Problem,
    json_type,
)
from wavegate.schemas.store import NOT_APPLIED_GROUPS, Entry, split_api_version, store_for
from wavegate.validators import Context, per_object

_F = "schema"
_PROVIDE = ("Give wavegate the schema: pass the CRD or ResourceGraphDefinition with --schemas PATH, "
            "or list it under `schemas:` in .wavegate.yaml.")

UNKNOWN_FIELD_RULE = declare(
    id="schema-unknown-field", family=_F, severity="error",
    title="A field is not in the kind's schema",
    rationale="""For a custom resource (Argo CD's Application included) the API server prunes fields its CRD
    does not list, silently: `ignoreDifference:` or `regoin:` is accepted and simply does nothing.
    For built-in kinds, strict field validation (kubectl's default) rejects the whole object. Either
    way the field is almost always a typo.""")
INVALID_TYPE = declare(
    id="schema-invalid-type", family=_F, severity="error",
    title="A value has the wrong type",
    rationale="""The API server rejects an object whose values do not have the schema's types: a quoted number
    where an integer is expected, a list where a map is expected. Argo CD's sync then fails for the
    whole wave.""")
INVALID_VALUE = declare(
    id="schema-invalid-value", family=_F, severity="error",
    title="A value breaks a constraint of the schema",
    rationale="""Enums, patterns (Go RE2), minimum and maximum, lengths (in Unicode code points) and item counts
    are enforced by the API server on create; an object that breaks one is rejected at sync time.""")
REQUIRED_RULE = declare(
    id="schema-required", family=_F, severity="error",
    title="A required field is missing",
    rationale="""The API server rejects an object without a field its schema requires (after applying defaults,
    so a defaulted field is never missing). The finding points at the parent, where the field goes.""")
DUPLICATE_RULE = declare(
    id="schema-duplicate-item", family=_F, severity="error",
    title="A list that must hold unique items has a duplicate",
    rationale="""Lists marked x-kubernetes-list-type `set` must not repeat an item, and lists of type `map` must
    not repeat a key; the API server rejects the object ("Duplicate value").""")
CEL_RULE_RULE = declare(
    id="schema-cel-rule", family=_F, severity="error",
    title="A CEL validation rule of the CRD fails",
    rationale="""x-kubernetes-validations rules are checked by the API server on every create; a rule that is
    false (or cannot be evaluated on the value) rejects the object with the rule's message.
    Transition rules (those using oldSelf) only run on update and are skipped here.""")
UNKNOWN_KIND = declare(
    id="schema-unknown-kind", family=_F, severity="warning",
    title="No schema is known for the object's kind",
    rationale="""wavegate checks every object against a schema; for a kind it has no schema for, nothing was
    checked, so a typo anywhere in it would go unnoticed until Argo CD syncs. Provide the CRD or
    ResourceGraphDefinition that defines it (with --schemas or `schemas:` in .wavegate.yaml).""")
UNKNOWN_VERSION = declare(
    id="schema-unknown-version", family=_F, severity="error",
    title="The kind exists, but not in this apiVersion",
    rationale="""The API server serves a kind only in the versions its CRD (or Kubernetes release) lists; an
    object in any other version is rejected ("no matches for kind"), and Argo CD's sync fails.""")
CRD_INVALID = declare(
    id="schema-crd-invalid", family=_F, severity="error",
    title="A CustomResourceDefinition's schema is invalid",
    rationale="""The API server refuses a CRD whose patterns are not Go RE2, whose CEL rules do not compile,
    whose defaults break their own schema or that is not structural; every custom resource of that
    kind then fails to sync too.""")
UNDECODABLE = declare(
    id="schema-undecodable", family=_F, severity="error",
    title="The object cannot be decoded as the API server decodes YAML",
    rationale="""The API server, kubectl, Argo CD and kubeconform read YAML by converting it to JSON
    (sigs.k8s.io/yaml). A value JSON cannot hold (`.inf`, `.nan`) or a document that does not convert
    makes the whole object undecodable: the API server refuses it, and kubeconform can say nothing
    else about it. Reported by the kubeconform engine (--engine kubeconform).""")
NOT_CHECKED = declare(
    id="schema-not-checked", family=_F, severity="info",
    title="Part of an object could not be checked offline",
    rationale="""Some checks need what only a real API server has: CEL rules that call Kubernetes' own CEL
    libraries, the CRD of a ResourceGraphDefinition kro cannot build. wavegate says so instead of
    passing silently; `wavegate dry-run` checks them against a real API server.""")

_RULES = {UNKNOWN_FIELD: UNKNOWN_FIELD_RULE, TYPE: INVALID_TYPE, VALUE: INVALID_VALUE, REQUIRED: REQUIRED_RULE,
          DUPLICATE: DUPLICATE_RULE, CEL_RULE: CEL_RULE_RULE, CEL_SKIPPED: NOT_CHECKED}


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    if getattr(ctx, "engine", "builtin") == "kubeconform":
        from wavegate.schemas import kubeconform

        yield from kubeconform.check(repo, store_for(ctx), kubeconform.Mapping(
            check_manifest=check_manifest, finding=_finding, store_findings=schema_findings, schema_used=schema_used,
            undecodable=UNDECODABLE, not_checked=NOT_CHECKED, invalid_value=INVALID_VALUE))
        return
    store = store_for(ctx)
    used: set[tuple[str, str]] = set()

    def kept(manifest: Manifest) -> None:  # (an object whose findings the cache kept: once per kind)
        if (manifest.api_version, manifest.kind) not in used:
            used.add((manifest.api_version, manifest.kind))
            schema_used(store, manifest)

    judged_there = kubernetes_own(store)
    yield from per_object(ctx, "schema", [m for m in repo.manifests if not judged_there(m)],
                          lambda manifest: check_manifest(store, manifest), store.fingerprint(), kept=kept)
    yield from schema_findings(store)


def kubernetes_own(store: SchemaStore) -> Callable[[Manifest], bool]:
    """Whether an object's schema is one of Kubernetes' own kinds (schema_kubernetes judges those;
    their schemas have no problems of their own to report), answered once per apiVersion and kind."""
    known: dict[tuple[str, str], bool] = {}

    def own(manifest: Manifest) -> bool:
        key = (manifest.api_version, manifest.kind)
        found = known.get(key)
        if found is None:
            judged = _judged_by(store, manifest)
            found = known[key] = (judged is not None and judged[2] is not None
                                  and judged[2].origin == "kubernetes")
        return found

    return own


def schema_used(store: SchemaStore, manifest: Manifest) -> None:
    """Compile the schema check_manifest judges `manifest` by (once per entry). The schema's own
    problems are reported for every schema compiled (schema_findings), so an object whose
    findings come from the cache still compiles its schema."""
    judged = _judged_by(store, manifest)
    if judged is not None and judged[2] is not None and not judged[2].unavailable:
        judged[2].node()


def _judged_by(store: SchemaStore, manifest: Manifest) -> tuple[str, str, Entry | None] | None:
    """(group, version, the store's entry or None) of an object a schema judges; None for one
    that is never applied (a kind of NOT_APPLIED_GROUPS, or no kind)."""
    group, version = split_api_version(manifest.api_version)
    if group in NOT_APPLIED_GROUPS or not manifest.kind:
        return None
    return group, version, store.lookup(manifest.api_version, manifest.kind)


def check_manifest(store: SchemaStore, manifest: Manifest, old: dict | None = None) -> list[Finding]:
    """Findings for one manifest against `store` (an `old` object enables transition rules)."""
    judged = _judged_by(store, manifest)
    if judged is None:
        return []
    group, version, entry = judged
    kind = manifest.kind
    if entry is None:
        from wavegate.validators.api_versions import not_served

        if not_served(group, version, kind, store.kubernetes_version):
            return []  # api-version-removed says so, with the replacement
        return [_unknown(store, manifest, group, version, kind)]
    if entry.unavailable:
        return [NOT_CHECKED.at(manifest, ("kind",), f"{kind} {manifest.name or ''} was not checked against a schema: "
                                                    f"{entry.unavailable} ({entry.source})".replace("  ", " "),
                               hint="Fix the ResourceGraphDefinition; its own findings say what kro rejects.")]
    problems, _ = entry.validate(manifest.data, old=old)
    if not problems:
        return []
    return [_finding(entry, manifest, p) for p in problems]


def _describe(entry: Entry) -> str:
    if entry.origin == "rgd":
        return f"the schema of {entry.kind} (from the ResourceGraphDefinition at {entry.source})"
    if entry.origin == "shipped":
        return f"the {entry.kind} schema"
    if entry.origin == "kubernetes":
        return f"{entry.kind} {entry.api_version} (Kubernetes {entry.source.split()[-1]})"
    return f"the CRD schema of {entry.kind} ({entry.source})"


def _finding(entry: Entry, manifest: Manifest, problem: Problem) -> Finding:
    rule = _RULES[problem.code]
    where = format_path(problem.path)
    if problem.code == UNKNOWN_FIELD:
        guess = problem.suggestions[0] if problem.suggestions else None
        full_guess = format_path(problem.path[:-1] + (guess,)) if guess else None
        hint = f"Did you mean {full_guess}?" if guess else \
            "Remove it, or check the spelling against " + _describe(entry) + "."
        if entry.dialect == JSON:
            message = f"{where} is not allowed in a {entry.kind} entity; Backstage rejects the entity"
        elif entry.dialect == CRD or manifest_is_custom(entry, problem):
            message = f"{where} is not in {_describe(entry)}; the API server drops it silently"
        else:
            message = (f'unknown field "{where}": {_describe(entry)} has no such field; the API server rejects it '
                       "under strict field validation (kubectl's default) and drops it silently otherwise")
        return rule.at(manifest, problem.path, message, hint=hint)
    message = problem.message()
    hint = problem.hint or _hint(entry, manifest, problem)
    return rule.at(manifest, problem.path, message, hint=hint)


def manifest_is_custom(entry: Entry, problem: Problem) -> bool:
    """Whether the API server treats the object as a custom resource (and prunes unknown fields).
    A built-in kind read from a bundle or a cluster export is still built in."""
    if entry.dialect == JSON:
        return False
    builtin = (entry.group, entry.kind) in kube.BUILTIN_NAMESPACED | kube.BUILTIN_CLUSTER_SCOPED
    return entry.origin != "kubernetes" and not builtin


def _hint(entry: Entry, manifest: Manifest, problem: Problem) -> str:
    name = problem.path[-1] if problem.path else ""
    if problem.code == REQUIRED:
        parent = format_path(problem.path[:-1]) or "the top level"
        return f"Add `{name}:` under {parent}."
    if problem.code == TYPE:
        value = problem.value
        text = problem.text
        if isinstance(value, str) and "integer" in text and value.strip().lstrip("-").isdigit():
            return f"Remove the quotes: {name}: {value.strip()}"
        if isinstance(value, str) and "number" in text:
            try:
                float(value)
                return f"Remove the quotes: {name}: {value.strip()}"
            except ValueError:
                pass
        if isinstance(value, str) and "boolean" in text and value.lower() in ("true", "false"):
            return f"Remove the quotes: {name}: {value.lower()}"
        if "string" in text and json_type(value) in ("integer", "number", "boolean"):
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            return f'Quote it: {name}: "{shown}"'
        return f"Write a value of the type {_describe(entry)} expects."
    if problem.code == DUPLICATE:
        return "Remove or merge the repeated item; the list must hold each item (or key) once."
    if problem.reason == "Unsupported value":
        return "Use one of the supported values."
    return f"Change the value so it satisfies {_describe(entry)}."


def _unknown(store: SchemaStore, manifest: Manifest, group: str, version: str, kind: str) -> Finding:
    api_version = manifest.api_version
    versions = store.versions_of(group, kind)
    if versions:
        listed = ", ".join(f"{group}/{v}" if group else v for v in versions)
        return UNKNOWN_VERSION.at(manifest, ("apiVersion",),
                                  f"{kind} is not served as {api_version}; the known versions are {listed}",
                                  hint=f"Use apiVersion: {group + '/' if group else ''}{_newest(versions)}, "
                                       "or provide the CRD that serves this version with --schemas.")
    in_group = store.kinds_in_group(group)
    message = f"no schema is known for {kind} in {api_version}, so nothing in it was checked"
    hint = _PROVIDE
    if in_group:
        import difflib

        close = difflib.get_close_matches(kind, list(in_group), n=1, cutoff=0.75)
        if close:
            served = ", ".join((group + "/" if group else "") + v for v in in_group[close[0]])
            hint = (f"Did you mean kind: {close[0]} ({served})? "
                    "Otherwise: " + _PROVIDE)
        else:
            kinds = ", ".join(list(in_group)[:8]) + (", ..." if len(in_group) > 8 else "")
            message += f" (the group {group or 'core'} is known, with {kinds})"
    return UNKNOWN_KIND.at(manifest, ("kind",), message, hint=hint)


def _newest(versions: list[str]) -> str:
    import re

    def rank(v: str):
        match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
        if not match:
            return (0, 0, 0)
        stage = {"alpha": 1, "beta": 2, None: 3}[match[2]]
        return (int(match[1]), stage, int(match[3] or 0))

    return max(versions, key=rank)


def schema_findings(store: SchemaStore) -> Iterable[Finding]:
    """Problems of the schemas themselves (CRDs, RGD-generated CRDs, bundles) and of --schemas files."""
    yield from store.load_problems
    for entry, problem in store.schema_problems():
        rule = NOT_CHECKED if problem.severity == "info" else CRD_INVALID
        origin = f"{entry.kind} {entry.api_version}"
        if entry.origin == "rgd":
            origin = f"the CRD kro generates for {origin}"
        message = f"{origin}: {problem.message}"
        if entry.manifest is not None and entry.origin != "shipped":
            yield rule.at(entry.manifest, entry.locate(problem.spath), message, hint=problem.hint)
        else:
            yield rule.at_file(entry.source, message=message, hint=problem.hint,
                               field=format_path(problem.spath))
