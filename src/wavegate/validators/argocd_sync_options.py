"""Sync options: names and values Argo CD does not know, duplicates and contradictions, and
options that do nothing where they are written (Application list or resource annotation)."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.argocd import model
from wavegate.argocd.application import is_application
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.record import record
from wavegate.rules import declare
from wavegate.validators import Context
from wavegate.validators.argocd_hooks import closest

_F = "argocd"
_ANNOTATION = ("metadata", "annotations", model.SYNC_OPTIONS)
_APP_LIST = ("spec", "syncPolicy", "syncOptions")
_APPSET_LIST = ("spec", "template", "spec", "syncPolicy", "syncOptions")

UNKNOWN_OPTION = declare(
    id="sync-option-unknown", family=_F, severity="error",
    title="A sync option name is not one Argo CD knows",
    rationale="""Argo CD looks sync options up by their exact text ("CreateNamespace=true"); an option it does
    not know, misspelt or in the wrong case, is ignored without any message. The Application then
    syncs without the behaviour the option was meant to turn on, for example without creating its
    namespace.""")
INVALID_VALUE = declare(
    id="sync-option-invalid-value", family=_F, severity="error",
    title="A sync option has a value Argo CD does not act on",
    rationale="""Argo CD compares whole "Name=value" strings, case-sensitively. "Prune=flase" or "Prune=False"
    matches nothing, so the resource is pruned as if the option were not there.""")
MALFORMED = declare(
    id="sync-option-malformed", family=_F, severity="error",
    title="A sync option is not written as Name=value",
    rationale="""Every sync option is one "Name=value" string with no spaces around "=". Argo CD trims spaces
    only at the ends of each comma-separated item, so "CreateNamespace", "Prune = false" or a YAML
    boolean match nothing and are silently ignored.""")
DUPLICATE = declare(
    id="sync-option-duplicate", family=_F, severity="warning",
    title="The same sync option is written twice",
    rationale="""A repeated option changes nothing, but when one copy is later edited the two disagree, and
    which one Argo CD honours depends on the option rather than on the order.""")
CONTRADICTION = declare(
    id="sync-option-contradiction", family=_F, severity="error",
    title="A sync option is given two different values",
    rationale="""Argo CD checks each option by looking for one exact "Name=value" string, not by taking the
    last value: with ServerSideApply=true and ServerSideApply=false both present, the disabling
    one wins, whatever the order. The file says two things and the reader cannot tell which holds.""")
FORCE_WITHOUT_REPLACE = declare(
    id="sync-option-force-without-replace", family=_F, severity="warning",
    title="Force=true is set without Replace=true",
    rationale="""Argo CD documents Force=true together with Replace=true: then every sync deletes and recreates
    the resource (kubectl replace --force). Without Replace=true Argo CD runs kubectl apply --force,
    which deletes and recreates the resource only when the patch fails (an immutable field changed),
    and does nothing extra under server-side apply. Say which one you mean.""")
REPLACE_OVERRIDES_SSA = declare(
    id="sync-option-replace-overrides-ssa", family=_F, severity="warning",
    title="Replace=true and ServerSideApply=true are both set",
    rationale="""When both apply to a resource Argo CD uses kubectl replace (or create) and never server-side
    apply: Replace=true takes precedence, so ServerSideApply=true has no effect.""")
APP_ONLY_IN_ANNOTATION = declare(
    id="sync-option-app-only-in-annotation", family=_F, severity="warning",
    title="An Application-level sync option is set on a resource, where it does nothing",
    rationale="""CreateNamespace, ApplyOutOfSyncOnly, PrunePropagationPolicy, FailOnSharedResource and
    ClientSideApplyMigration are read from the Application's spec.syncPolicy.syncOptions only. In a
    resource's argocd.argoproj.io/sync-options annotation Argo CD ignores them.""")
RESOURCE_ONLY_IN_APPLICATION = declare(
    id="sync-option-resource-only-in-application", family=_F, severity="warning",
    title="A resource-level sync option is set on the Application, where it does nothing",
    rationale="""Argo CD reads Force only from a resource's argocd.argoproj.io/sync-options annotation (or from
    `argocd app sync --force`); in the Application's spec.syncPolicy.syncOptions it is ignored.""")

VALIDATION_OFF = declare(
    id="sync-option-validate-false", family=_F, severity="info",
    title="Validate=false turns off the API server's validation of the manifests",
    rationale="""Validate=false makes Argo CD apply with kubectl --validate=false: the API server no longer
    checks the objects against their schemas, so an unknown or misspelt field is dropped silently
    instead of refused. It is sometimes needed (a CRD whose schema is wrong), so this is information,
    to keep it visible in review: prefer fixing the manifest, and set it only on the resources that
    need it (their argocd.argoproj.io/sync-options annotation) rather than on the whole Application.""")


@record(frozen=True)
class _Item:
    text: str
    path: tuple
    key: bool  # True: the path is a list item; False: the annotation value
    where: str  # how a person finds it: "item 2" or "the annotation"


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    for manifest in repo.having(kinds=("Application", "ApplicationSet"), annotations=(model.SYNC_OPTIONS,)):
        annotation = manifest.annotations.get(model.SYNC_OPTIONS)
        if model.SYNC_OPTIONS in manifest.annotations:
            yield from _check_set(manifest, _annotation_items(manifest, annotation), "resource", ctx)
        if is_application(manifest):
            yield from _check_set(manifest, _list_items(manifest, _APP_LIST), "app", ctx)
        elif manifest.kind == "ApplicationSet" and manifest.group == model.ARGOCD_GROUP:
            yield from _check_set(manifest, _list_items(manifest, _APPSET_LIST), "app", ctx)


def _annotation_items(manifest: Manifest, value) -> list[_Item | Finding]:
    if not isinstance(value, str):
        return [MALFORMED.at(manifest, _ANNOTATION, f"the sync-options annotation is a YAML {type(value).__name__}, "
                             "not a string; Kubernetes rejects non-string annotation values",
                             hint=f'Quote it, for example {model.SYNC_OPTIONS}: "Prune=false".', key=False)]
    return [_Item(part, _ANNOTATION, False, "the annotation") for part in model.split_options(value)]


def _list_items(manifest: Manifest, base: tuple) -> list[_Item | Finding]:
    items = manifest.get(*base)
    if not isinstance(items, list):
        return []
    found: list[_Item | Finding] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item.strip():
                found.append(_Item(item.strip(), base + (i,), True, f"item {i + 1}"))
        else:
            found.append(MALFORMED.at(manifest, base + (i,),
                                      f"sync option {item!r} is a YAML {type(item).__name__}, not a \"Name=value\" string",
                                      hint='Write the option as one string, for example "Prune=false".'))
    return found


def _check_set(manifest: Manifest, items: list[_Item | Finding], level: str, ctx) -> Iterable[Finding]:
    valid: list[tuple[str, str, _Item]] = []
    for item in items:
        if isinstance(item, Finding):
            yield item
            continue
        if "{{" in item.text:  # an ApplicationSet template expression: known only after rendering
            continue
        finding = _check_item(manifest, item)
        if finding is not None:
            yield finding
        else:
            name, _, value = item.text.partition("=")
            valid.append((name, value, item))
    yield from _check_combinations(manifest, valid, level, ctx)


def _check_item(manifest: Manifest, item: _Item) -> Finding | None:
    text = item.text
    name, equals, value = text.partition("=")
    if not equals:
        catalog = model.SYNC_OPTION_CATALOG
        option = catalog.get(text) or catalog.get(closest(text, catalog) or "")
        fix = f"Write {option.name}={option.values[0]} (or another value: {', '.join(option.values)})." if option \
            else f"Write Name=value with a known name: {', '.join(model.SYNC_OPTION_CATALOG)}."
        return MALFORMED.at(manifest, item.path, f"sync option {text!r} in {item.where} has no \"=value\"; Argo CD "
                            "matches whole \"Name=value\" strings, so it is ignored", hint=fix, key=item.key)
    if name != name.strip() or value != value.strip() or not name.strip() or not value.strip():
        fixed = f"{name.strip()}={value.strip()}"
        return MALFORMED.at(manifest, item.path, f"sync option {text!r} in {item.where} has spaces around \"=\" or an "
                            "empty side; Argo CD matches the exact text, so it is ignored",
                            hint=f"Write {fixed}." if name.strip() and value.strip() else "Write Name=value.", key=item.key)
    option = model.SYNC_OPTION_CATALOG.get(name)
    if option is None:
        match = closest(name, model.SYNC_OPTION_CATALOG)
        if match:
            known = model.SYNC_OPTION_CATALOG[match]
            fixed = f"{match}={value if value in known.values else known.values[0]}"
            hint = f"Write {fixed} ({known.summary}); names are case-sensitive."
        else:
            hint = f"Known sync options: {', '.join(model.SYNC_OPTION_CATALOG)}."
        return UNKNOWN_OPTION.at(manifest, item.path, f"sync option {name!r} in {item.where} is not one Argo CD knows; "
                                 f"{text!r} is silently ignored", hint=hint, key=item.key)
    if value not in option.values:
        match = closest(value, option.values)
        hint = f"Write {name}={match}; values are case-sensitive." if match else f"Write {name}={option.values[0]}."
        return INVALID_VALUE.at(manifest, item.path,
                                f"{name}={value} in {item.where}: {value!r} is not a value Argo CD acts on for {name} "
                                f"(allowed: {', '.join(option.values)}); the option is silently ignored",
                                hint=hint, key=item.key)
    return None


def _check_combinations(manifest: Manifest, valid: list[tuple[str, str, _Item]], level: str, ctx) -> Iterable[Finding]:
    seen: dict[str, tuple[str, _Item]] = {}
    for name, value, item in valid:
        if name in seen:
            first_value, first = seen[name]
            if first_value == value:
                yield DUPLICATE.at(manifest, item.path, f"{name}={value} in {item.where} repeats {first.where}",
                                   hint="Delete this one." if item.key else f"Write {name}={value} once.", key=item.key)
            else:
                yield CONTRADICTION.at(
                    manifest, item.path,
                    f"{name}={value} in {item.where} contradicts {name}={first_value} in {first.where}; Argo CD does not "
                    "take the last one, each setting is looked up on its own",
                    hint=f"Keep only {name}={first_value} or {name}={value}.", key=item.key)
            continue
        seen[name] = (value, item)
        if name == "Validate" and value == "false":
            scope = (f"every resource of {manifest.kind} {manifest.name}" if level == "app"
                     else f"{manifest.kind} {manifest.name}")
            yield VALIDATION_OFF.at(
                manifest, item.path,
                f"Validate=false in {item.where}: Argo CD applies {scope} with --validate=false, so the API server "
                "drops unknown or misspelt fields instead of refusing them",
                hint="Fix what fails validation and remove Validate=false; if it must stay, set it only on the "
                     "resources that need it.", key=item.key)
        if level == "resource" and name in model.APP_ONLY_SYNC_OPTIONS:
            yield APP_ONLY_IN_ANNOTATION.at(
                manifest, item.path,
                f"{name}={value} in the sync-options annotation of {manifest.kind} {manifest.name} does nothing; "
                f"Argo CD reads {name} only from an Application's spec.syncPolicy.syncOptions",
                hint=f"Move {name}={value} to spec.syncPolicy.syncOptions of the Application that syncs this resource.",
                key=item.key)
        if level == "app" and name in model.RESOURCE_ONLY_SYNC_OPTIONS:
            yield RESOURCE_ONLY_IN_APPLICATION.at(
                manifest, item.path,
                f"{name}={value} in spec.syncPolicy.syncOptions does nothing; Argo CD reads {name} only from a resource's "
                f"{model.SYNC_OPTIONS} annotation",
                hint=f"Delete this item and put {name}={value} in the {model.SYNC_OPTIONS} annotation of the resources "
                     "that need it (Force=true together with Replace=true).",
                key=item.key)
    options = {name: value for name, (value, _) in seen.items()}
    app_options = _app_options(manifest, ctx) if level == "resource" else {}
    replace = options.get("Replace") == "true" or ("Replace" not in options and app_options.get("Replace") == "true")
    if level == "resource" and options.get("Force") == "true" and not replace:
        _, item = seen["Force"]
        yield FORCE_WITHOUT_REPLACE.at(
            manifest, item.path,
            f"Force=true on {manifest.kind} {manifest.name} without Replace=true: Argo CD runs kubectl apply --force, which "
            "recreates the resource only when the patch fails, not at every sync as Force=true,Replace=true does",
            hint=f"Write {model.SYNC_OPTIONS}: Force=true,Replace=true to recreate it at every sync, or drop Force=true.",
            key=item.key)
    if options.get("ServerSideApply") == "true" and replace:
        _, item = seen["ServerSideApply"]
        source = "" if options.get("Replace") == "true" else " (Replace=true comes from the Application)"
        yield REPLACE_OVERRIDES_SSA.at(
            manifest, item.path,
            f"ServerSideApply=true in {item.where} has no effect: Replace=true{source} takes precedence, so Argo CD uses "
            "kubectl replace/create instead of server-side apply",
            hint="Drop Replace=true to use server-side apply, or drop ServerSideApply=true.", key=item.key)


def _app_options(manifest: Manifest, ctx) -> dict[str, str]:
    """The Application-level options of the Application whose sync applies `manifest` (each
    rendered copy of an object has one; an unsynced one none)."""
    apps = ctx.apps_of(manifest)
    return dict(apps[0].sync_options) if apps else {}
