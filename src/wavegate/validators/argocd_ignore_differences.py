"""ignoreDifferences: entries Argo CD cannot use, entries that match nothing, entries that are
already the default, and ignored fields that self-heal writes back anyway.

Argo CD's matching (argo-cd util/argo/normalizers/diff_normalizer.go, `ignoreNormalizer.Normalize`):
`group` and `kind` are globs (gobwas/glob, so `*`, `?`, `[...]` and `{a,b}`), compared with the live
object's group and kind; `name` and `namespace` are compared exactly, and only when set. Each JSON
pointer becomes a JSON-patch `remove` operation; when it does not apply, the error is logged at
debug level and skipped, so a malformed pointer silently ignores nothing. ApplicationSets are
checked through `spec.template.spec`, except for matching, since their sources are templates.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

from wavegate import kube
from wavegate.argocd import model
from wavegate.argocd.application import Application, is_application
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo, parse_documents
from wavegate.record import record
from wavegate.regex import lazy_compile
from wavegate.rules import declare
from wavegate.validators import Context

_F = "argocd"

BAD_POINTER = declare(
    id="ignore-differences-bad-json-pointer", family=_F, severity="error",
    title="A jsonPointers entry is not an RFC 6901 JSON pointer",
    rationale="""A JSON pointer is empty or starts with '/', and writes '~' as ~0 and a '/' inside a key as ~1
    (RFC 6901). Argo CD turns each pointer into a JSON-patch remove operation; when the operation
    does not apply it logs at debug level and moves on. A pointer like `status` or `.spec.replicas`
    therefore ignores nothing, and the Application stays OutOfSync (or self-heal keeps reverting the
    field) with no error anywhere.""")
NOTHING_IGNORED = declare(
    id="ignore-differences-nothing-ignored", family=_F, severity="error",
    title="An ignoreDifferences entry has no jsonPointers, jqPathExpressions or managedFieldsManagers",
    rationale="""An entry only selects resources; what to ignore comes from jsonPointers, jqPathExpressions or
    managedFieldsManagers. Without any of them (often a misspelt key such as `jsonPointer`) Argo CD
    ignores nothing for the entry.""")
GROUP_HAS_VERSION = declare(
    id="ignore-differences-group-has-version", family=_F, severity="error",
    title="An ignoreDifferences group includes an API version",
    rationale="""`group` is the API group without its version (`apps`, not `apps/v1`; the core group is "").
    Argo CD compares it with the live object's group, so a group with a version matches no resource
    and the entry does nothing.""")
MATCHES_NOTHING = declare(
    id="ignore-differences-matches-nothing", family=_F, severity="warning",
    title="An ignoreDifferences entry matches no resource of its Application",
    rationale="""Argo CD applies an entry to resources whose group and kind match its globs and whose name and
    namespace equal the entry's (when set; names are not globs). An entry that matches none of the
    Application's resources is a leftover or a typo, and the field it was meant to ignore is still
    compared. Checked only against the manifests this repository gives the Application.""")
STATUS_REDUNDANT = declare(
    id="ignore-differences-status-redundant", family=_F, severity="info",
    title="An ignoreDifferences pointer ignores a status field Argo CD already ignores",
    rationale="""Argo CD 3.0 changed the default of `ignoreResourceStatusField` from `crd` to `all`: the status
    of every resource is left out of the diff (docs/operator-manual/upgrading/2.14-3.0.md). Under 2.x
    only CustomResourceDefinitions had their status ignored. A /status pointer is then just noise
    that readers take for a needed workaround. wavegate reads `resource.compareoptions` from an
    argocd-cm ConfigMap in the repository when there is one.""")
SELF_HEAL_OVERWRITES = declare(
    id="ignore-differences-overwritten-by-self-heal", family=_F, severity="warning",
    title="Ignored fields are written back by self-heal without RespectIgnoreDifferences=true",
    rationale="""ignoreDifferences only changes how the diff is computed. When Argo CD syncs, it applies the Git
    manifest as it is, so the fields another controller owns (an HPA's replicas, an injected
    sidecar, a webhook's caBundle) are overwritten on every sync. With automated selfHeal, any other
    drift triggers such a sync, and the two controllers fight. The sync option
    RespectIgnoreDifferences=true keeps the live values of ignored fields (for resources that
    already exist).""")

JQ_INVALID = declare(
    id="ignore-differences-jq-invalid", family=_F, severity="error",
    title="A jqPathExpressions entry is not jq that Argo CD can compile",
    rationale="""Argo CD turns each jqPathExpressions entry into the jq program `del(ENTRY)` and compiles it with
    gojq, the jq library it is built with. When that fails (a syntax error, a function gojq does not
    have), Argo CD cannot build the Application's diff at all: the Application shows a
    ComparisonError and is neither compared nor synced until the entry is fixed. wavegate asks the
    same gojq version (the wavegate-jq helper).""")
JQ_FAILS = declare(
    id="ignore-differences-jq-fails", family=_F, severity="warning",
    title="A jqPathExpressions entry fails on a resource it applies to",
    rationale="""Argo CD runs `del(ENTRY)` on every live and desired object the entry matches. When jq fails on
    one (a path through a string, an expression that is not a path, more than a second of work),
    Argo CD logs the error and ignores nothing for that object, so it stays OutOfSync for the very
    field the entry was meant to ignore. wavegate runs the entry, with gojq, on the manifests of the
    repository that the entry matches.""")
JQ_NOT_CHECKED = declare(
    id="ignore-differences-jq-not-checked", family=_F, severity="warning",
    title="jqPathExpressions were not checked: the gojq helper is missing",
    rationale="""wavegate checks jqPathExpressions with gojq, the jq library Argo CD uses, through the small
    helper program wavegate-jq that scripts/install-tools builds (the wavegate CI image has it).
    Without it the expressions are not checked at all, and this says so once per run.""")

_FIELD_KEYS = ("jsonPointers", "jqPathExpressions", "managedFieldsManagers")
_VERSION = lazy_compile(r"v[0-9]+((alpha|beta)[0-9]+)?")
_BAD_TILDE = lazy_compile(r"~(?![01])")
_JQ_STATUS = lazy_compile(r"\.status(?:$|[.\[|?\s])")
ARGOCD_CM = "argocd-cm"


@record(frozen=True)
class _Spec:
    """An Application spec: an Application's `spec`, or an ApplicationSet's `spec.template.spec`."""

    manifest: Manifest
    base: tuple
    app: Application | None

    @property
    def label(self) -> str:
        return f"Application {self.manifest.name}" if self.app else f"ApplicationSet {self.manifest.name} (template)"

    def get(self, *path, default=None):
        return self.manifest.get(*self.base, *path, default=default)

    @property
    def self_heal(self) -> bool:
        if self.app is not None:
            return self.app.self_heal
        automated = self.get("syncPolicy", "automated")
        return isinstance(automated, dict) and automated.get("selfHeal") is True

    @property
    def sync_options(self) -> dict[str, str]:
        if self.app is not None:
            return self.app.sync_options
        return model.option_set(model.split_options(self.get("syncPolicy", "syncOptions", default=[])))


@record(frozen=True)
class _Entry:
    spec: _Spec
    index: int
    data: dict

    @property
    def path(self) -> tuple:
        return (*self.spec.base, "ignoreDifferences", self.index)

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    def items(self, key: str) -> list:
        value = self.data.get(key)
        return value if isinstance(value, list) else []

    def describe(self) -> str:
        group, kind = self.text("group"), self.text("kind")
        where = f"{group}/{kind}" if group else kind or "<no kind>"
        if self.text("namespace"):
            where += f" in namespace {self.text('namespace')}"
        if self.text("name"):
            where += f" named {self.text('name')}"
        return where


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    status_setting = _status_setting(repo, ctx.argocd_version)
    expressions: list[tuple[_Entry, int, str, list[Manifest]]] = []
    # An ApplicationSet whose Applications were generated is checked through them (each finding
    # at the template line, naming the element); its template alone only when nothing was.
    expanded = {s.appset.document_id for s in (ctx.rendering.sync_sets if ctx.rendering else ())
                if s.appset is not None and s.objects}
    for spec in _specs(repo):
        if spec.app is None and spec.manifest.document_id in expanded:
            continue
        entries = spec.get("ignoreDifferences")
        if not isinstance(entries, list):
            continue
        parsed = [_Entry(spec, i, e) for i, e in enumerate(entries) if isinstance(e, dict)]
        resources = ([m for m in ctx.objects_of(spec.app) if kube.is_kubernetes_object(m)]
                     if spec.app is not None else [])
        for entry in parsed:
            yield from _entry_findings(entry, repo, ctx, status_setting, resources)
            expressions.extend(_jq_expressions(entry, repo, resources))
        yield from _self_heal(spec, parsed, repo, resources)
    yield from _jq_findings(expressions)


# ---------------------------------------------------------------------------------------------
# jqPathExpressions, judged by gojq (wavegate.argocd.jq)

def _jq_expressions(entry: _Entry, repo: Repo, resources: list[Manifest]) -> list[tuple[_Entry, int, str, list[Manifest]]]:
    """(entry, index, expression, the repository's objects it applies to) of each jqPathExpressions item."""
    found = []
    matched = None
    for j, expression in enumerate(entry.items("jqPathExpressions")):
        if not isinstance(expression, str) or (entry.spec.app is None and "{{" in expression):
            continue  # not text, or an ApplicationSet template parameter filled in per Application
        if matched is None:
            matched = ([m for m in resources if entry_matches(entry.data, m, entry.spec.app, repo)]
                       if entry.spec.app is not None else [])
        found.append((entry, j, expression, matched))
    return found


def _jq_findings(expressions: list[tuple[_Entry, int, str, list[Manifest]]]) -> Iterable[Finding]:
    from wavegate.argocd.jq import JqUnavailable, judge

    if not expressions:
        return
    try:
        verdicts = judge([(expression, [m.data for m in objects]) for _, _, expression, objects in expressions])
    except JqUnavailable as error:
        entry, j, _, _ = expressions[0]
        yield JQ_NOT_CHECKED.at(entry.spec.manifest, (*entry.path, "jqPathExpressions", j),
                                f"{len(expressions)} jqPathExpressions were not checked: {error}",
                                hint="Install the helper: scripts/install-tools --only wavegate-jq (it needs Go), or "
                                     "run wavegate from its CI image.")
        return
    for (entry, j, expression, objects), verdict in zip(expressions, verdicts, strict=True):
        where = (*entry.path, "jqPathExpressions", j)
        name = f"jqPathExpressions[{j}] {expression!r} of ignoreDifferences[{entry.index}] ({entry.describe()})"
        if verdict.stage in ("parse", "compile"):
            at = ""
            if verdict.stage == "parse" and verdict.offset is not None:
                at = " at its end" if verdict.offset >= len(expression) else f" at character {verdict.offset + 1}"
            yield JQ_INVALID.at(entry.spec.manifest, where,
                                f"{name} is not jq that Argo CD can compile (gojq: {verdict.error}{at}); Argo CD "
                                f"cannot compare {entry.spec.label} until it is fixed",
                                hint="Argo CD runs del(EXPRESSION): write a jq path such as "
                                     ".spec.template.spec.containers[] | select(.name == \"app\") | .image.",
                                key=False)
        elif verdict.stage == "run" and verdict.object is not None and verdict.object < len(objects):
            target = objects[verdict.object]
            yield JQ_FAILS.at(entry.spec.manifest, where,
                              f"{name} fails on {target.kind} {target.name} ({target.path}): {verdict.error}; Argo CD "
                              "logs this and ignores nothing for that object",
                              hint="Write a path expression that holds for every object the entry matches "
                                   "(use `?` or select(...) for fields some objects lack).", key=False)


def _specs(repo: Repo) -> Iterable[_Spec]:
    for manifest in repo.having(kinds=("Application", "ApplicationSet")):
        if is_application(manifest):
            yield _Spec(manifest, ("spec",), Application(manifest))
        elif manifest.kind == "ApplicationSet" and manifest.group == model.ARGOCD_GROUP:
            yield _Spec(manifest, ("spec", "template", "spec"), None)


def _entry_findings(entry: _Entry, repo: Repo, ctx, status_setting: str,
                    resources: list[Manifest]) -> Iterable[Finding]:
    manifest = entry.spec.manifest
    group = entry.data.get("group")
    if isinstance(group, str) and "{{" not in group and ("/" in group or _VERSION.fullmatch(group)):
        fixed = group.split("/")[0] if "/" in group else ""
        yield GROUP_HAS_VERSION.at(
            manifest, (*entry.path, "group"),
            f"group {group!r} of ignoreDifferences[{entry.index}] ({entry.text('kind') or 'no kind'}) contains an API "
            "version; Argo CD compares the group alone, so this entry matches no resource",
            hint=f'Write group: {fixed}' if fixed else 'The core API group is empty: write group: "".', key=False)
        bad_group = True
    else:
        bad_group = False

    has_fields = any(entry.items(key) for key in _FIELD_KEYS)
    if not has_fields:
        typo = _misspelt_field(entry.data)
        yield NOTHING_IGNORED.at(
            manifest, entry.path,
            f"ignoreDifferences[{entry.index}] ({entry.describe()}) has no jsonPointers, jqPathExpressions or "
            "managedFieldsManagers, so Argo CD ignores nothing for it"
            + (f"; {typo[0]!r} is not a field Argo CD reads" if typo else ""),
            hint=(f"Rename {typo[0]!r} to {typo[1]!r}." if typo
                  else "Add jsonPointers (for example - /spec/replicas), or delete the entry."))

    for j, pointer in enumerate(entry.items("jsonPointers")):
        where = (*entry.path, "jsonPointers", j)
        if entry.spec.app is None and isinstance(pointer, str) and "{{" in pointer:
            continue  # an ApplicationSet template parameter, filled in per generated Application
        problem = pointer_problem(pointer)
        if problem:
            yield BAD_POINTER.at(manifest, where, f"jsonPointers[{j}] {pointer!r} of ignoreDifferences[{entry.index}] "
                                                  f"{problem}; Argo CD silently ignores nothing for it",
                                 hint=_pointer_hint(pointer))
        elif _status_redundant(entry, status_setting) and _is_status_pointer(pointer):
            yield _status_finding(entry, where, pointer, status_setting, ctx.argocd_version)
    for j, expression in enumerate(entry.items("jqPathExpressions")):
        if isinstance(expression, str) and _is_status_jq(expression) and _status_redundant(entry, status_setting):
            yield _status_finding(entry, (*entry.path, "jqPathExpressions", j), expression, status_setting,
                                  ctx.argocd_version)

    if entry.spec.app is not None and not bad_group and has_fields:
        yield from _matches_nothing(entry, repo, resources)


def pointer_problem(pointer) -> str | None:
    """Why `pointer` is not an RFC 6901 JSON pointer, or None when it is one."""
    if not isinstance(pointer, str):
        return f"is a YAML {type(pointer).__name__}, not a string"
    if pointer and not pointer.startswith("/"):
        return "does not start with '/'"
    if _BAD_TILDE.search(pointer):
        return "has a '~' that is not ~0 (for '~') or ~1 (for '/')"
    return None


def _pointer_hint(pointer) -> str:
    if not isinstance(pointer, str):
        return f'Quote it as a string that starts with "/", for example "/{pointer}".'
    if _BAD_TILDE.search(pointer) and pointer.startswith("/"):
        return "Write '~' inside a key as ~0 and '/' inside a key as ~1 (for example /metadata/annotations/example.com~1owner)."
    if pointer.startswith("."):
        as_pointer = "/" + "/".join(p for p in re.split(r"\.", pointer) if p)
        return f"This is jq syntax: write {as_pointer} here, or move it to jqPathExpressions."
    return f"Write /{pointer}."


def _misspelt_field(entry: dict) -> tuple[str, str] | None:
    known = set(_FIELD_KEYS) | {"group", "kind", "name", "namespace"}
    for key in entry:
        if isinstance(key, str) and key not in known:
            close = difflib.get_close_matches(key, _FIELD_KEYS, n=1, cutoff=0.6)
            if close:
                return key, close[0]
    return None


# ---------------------------------------------------------------------------------------------
# Status fields

def _is_status_pointer(pointer: str) -> bool:
    return pointer == "/status" or pointer.startswith("/status/")


def _is_status_jq(expression: str) -> bool:
    return bool(_JQ_STATUS.match(expression.strip()))


def _status_setting(repo: Repo, version: int) -> str:
    """Argo CD's `ignoreResourceStatusField`: from an argocd-cm ConfigMap in the repository when it
    sets one, else the default of the configured major version (3: all, 2: crd)."""
    default = "all" if version >= 3 else "crd"
    for manifest in repo.by_kind("ConfigMap", ""):
        if manifest.name != ARGOCD_CM:
            continue
        text = manifest.get("data", "resource.compareoptions")
        if not isinstance(text, str):
            continue
        documents, problems = parse_documents(manifest.path, text, require_object=False)
        if problems or not documents:
            continue
        value = documents[0].data.get("ignoreResourceStatusField")
        if isinstance(value, str) and value.strip():
            return {"off": "none"}.get(value.strip(), value.strip())
    return default


def _status_redundant(entry: _Entry, setting: str) -> bool:
    if setting == "all":
        return True
    if setting == "crd":
        return entry.text("kind") == "CustomResourceDefinition" and entry.text("group") == kube.CRD_GROUP
    return False


def _status_finding(entry: _Entry, where: tuple, value: str, setting: str, version: int) -> Finding:
    scope = "every resource" if setting == "all" else "CustomResourceDefinitions"
    return STATUS_REDUNDANT.at(
        entry.spec.manifest, where,
        f"{value!r} in ignoreDifferences[{entry.index}] ({entry.describe()}) is already ignored: with "
        f"ignoreResourceStatusField {setting} (the Argo CD {version}.x default unless argocd-cm says otherwise) "
        f"Argo CD leaves the status of {scope} out of the diff",
        hint="Delete this line, and the entry if nothing else is left in it.")


# ---------------------------------------------------------------------------------------------
# Matching against the Application's resources

def glob_match(pattern: str, text: str) -> bool:
    """gobwas/glob without separators, as Argo CD's util/glob.Match uses it."""
    return bool(_compiled_glob(pattern).fullmatch(text))


@functools.lru_cache(maxsize=1024)
def _compiled_glob(pattern: str) -> re.Pattern:
    return re.compile(_glob_regex(pattern))


def _glob_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            out += ".*"
        elif char == "?":
            out += "."
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(char)
            else:
                body = pattern[i + 1:end]
                out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out += re.escape(char)
            else:
                out += "(?:" + "|".join(_glob_regex(p) for p in pattern[i + 1:end].split(",")) + ")"
                i = end
        else:
            out += re.escape(char)
        i += 1
    return out


def live_namespace(manifest: Manifest, app: Application, repo: Repo) -> str:
    """The namespace the live object will have: its own, else the destination namespace (unless
    the kind is cluster-scoped, which has none)."""
    if kube.cluster_scoped(manifest, repo):
        return ""
    return manifest.namespace or app.destination_namespace or ""


def entry_matches(entry: dict, manifest: Manifest, app: Application, repo: Repo) -> bool:
    """Whether Argo CD applies the ignoreDifferences `entry` to `manifest` synced by `app`."""
    name, ns = entry.get("name"), entry.get("namespace")
    if name and name != manifest.name:
        return False
    group, kind = entry.get("group"), entry.get("kind")
    if not (glob_match(kind if isinstance(kind, str) else "", manifest.kind)
            and glob_match(group if isinstance(group, str) else "", manifest.group)):
        return False
    return not ns or ns == live_namespace(manifest, app, repo)


def _matches_nothing(entry: _Entry, repo: Repo, resources: list[Manifest]) -> Iterable[Finding]:
    app = entry.spec.app
    manifest = entry.spec.manifest
    kind = entry.text("kind")
    if not kind:
        yield MATCHES_NOTHING.at(
            manifest, entry.path,
            f"ignoreDifferences[{entry.index}] of {entry.spec.label} has no kind; Argo CD matches the kind glob '' "
            "against every resource, so the entry applies to none",
            hint='Add kind: (for example kind: Deployment, or kind: "*" for every kind).')
        return
    if not resources or app is None:  # (only an Application's entries have resources)
        return  # a Helm, Kustomize or foreign source: what it renders is not here to compare with
    if any(entry_matches(entry.data, m, app, repo) for m in resources):
        return
    yield MATCHES_NOTHING.at(
        manifest, entry.path,
        f"ignoreDifferences[{entry.index}] ({entry.describe()}) matches none of the {len(resources)} resources "
        f"{entry.spec.label} syncs from this repository",
        hint=_no_match_hint(entry, resources, app, repo))


def _no_match_hint(entry: _Entry, resources: list[Manifest], app: Application, repo: Repo) -> str:
    group, kind, name, ns = entry.text("group"), entry.text("kind"), entry.text("name"), entry.text("namespace")
    same_kind = [m for m in resources if glob_match(kind, m.kind)]
    if not same_kind:
        kinds = sorted({m.kind for m in resources})
        close = difflib.get_close_matches(kind, kinds, n=1)
        return (f"Did you mean kind: {close[0]}? " if close else "") + f"The Application's kinds are: {', '.join(kinds)}."
    groups = sorted({m.group for m in same_kind})
    if not any(glob_match(group, g) for g in groups):
        shown = ", ".join(repr(g) if g else '"" (core)' for g in groups)
        written = groups[0] or '""'
        return f"{kind} is in API group {shown}: write group: {written}."
    in_group = [m for m in same_kind if glob_match(group, m.group)]
    if name and not any(m.name == name for m in in_group):
        names = sorted({m.name for m in in_group if m.name})
        if "*" in name or "?" in name:
            return "name is compared exactly (only group and kind are globs): remove name to match every " \
                   f"{kind}, or name one of: {', '.join(names)}."
        close = difflib.get_close_matches(name, names, n=1)
        return (f"Did you mean name: {close[0]}? " if close else "") + f"The {kind} names are: {', '.join(names)}."
    namespaces = sorted({live_namespace(m, app, repo) for m in in_group if not name or m.name == name})
    shown = ", ".join(n or "(none: cluster-scoped)" for n in namespaces)
    return f"namespace {ns!r} is compared exactly with the live namespace; these {kind} objects are in: {shown}."


# ---------------------------------------------------------------------------------------------
# Self-heal against ignored fields

def _effective_fields(entry: _Entry) -> list[str]:
    """The ignored fields a sync would overwrite: everything but status (which apply never writes)."""
    fields = [p for p in entry.items("jsonPointers") if isinstance(p, str) and not pointer_problem(p)
              and not _is_status_pointer(p)]
    fields += [e for e in entry.items("jqPathExpressions") if isinstance(e, str) and not _is_status_jq(e)]
    fields += [f"fields of manager {m}" for m in entry.items("managedFieldsManagers") if isinstance(m, str)]
    return fields


def _self_heal(spec: _Spec, entries: list[_Entry], repo: Repo, resources: list[Manifest]) -> Iterable[Finding]:
    if not spec.self_heal or spec.sync_options.get("RespectIgnoreDifferences") == "true":
        return
    live = [(e, _effective_fields(e)) for e in entries]
    live = [(e, fields) for e, fields in live if fields]
    if spec.app is not None:
        live = [(e, fields) for e, fields in live if not _respected_per_resource(e, spec.app, repo, resources)]
    if not live:
        return
    described = [f"{fields[0]} of {e.describe()}" + (f" (+{len(fields) - 1} more)" if len(fields) > 1 else "")
                 for e, fields in live]
    options = spec.get("syncPolicy", "syncOptions")
    where = (*spec.base, "syncPolicy", "syncOptions") if isinstance(options, list) else (*spec.base, "syncPolicy")
    yield SELF_HEAL_OVERWRITES.at(
        spec.manifest, where,
        f"{spec.label} has automated selfHeal and ignores {'; '.join(described)}, but has no "
        "RespectIgnoreDifferences=true: every sync writes the Git values of these fields back over the live ones",
        hint="Add - RespectIgnoreDifferences=true to spec.syncPolicy.syncOptions"
             + ("" if isinstance(options, list) else " (create the syncOptions list)") + ".")


def _respected_per_resource(entry: _Entry, app: Application, repo: Repo, resources: list[Manifest]) -> bool:
    """Whether every resource the entry matches sets RespectIgnoreDifferences=true itself."""
    matched = [m for m in resources if entry_matches(entry.data, m, app, repo)]
    return bool(matched) and all(
        model.option_set(model.split_options(m.annotations.get(model.SYNC_OPTIONS))).get("RespectIgnoreDifferences") == "true"
        for m in matched)
