"""Argo CD finalizers: misspelt or conflicting cascade finalizers, finalizers written as an
annotation, Argo CD finalizers on objects no Argo CD controller finalizes, and Applications
without the resources finalizer where the configuration requires one."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.argocd import model
from wavegate.argocd.application import is_application
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context
from wavegate.validators.argocd_hooks import closest

_F = "argocd"
_TEMPLATE = ("spec", "template", "metadata")

UNKNOWN_FINALIZER = declare(
    id="argocd-finalizer-unknown", family=_F, severity="error",
    title="An Argo CD finalizer is misspelt or does not exist",
    rationale="""Argo CD acts only on the finalizers it knows (resources-finalizer.argocd.argoproj.io, its
    /foreground and /background variants, and the pre- and post-delete finalizers it manages itself).
    A misspelt one ("/forground") turns on no cascading delete, and since no controller ever removes
    it, deleting the Application hangs in Terminating until someone edits the finalizer away.""")
CONFLICTING_FINALIZERS = declare(
    id="argocd-finalizer-conflicting-policies", family=_F, severity="error",
    title="An Application has cascade finalizers asking for different propagation policies",
    rationale="""resources-finalizer.argocd.argoproj.io (foreground, the default) and its /foreground variant
    ask for foreground deletion of the Application's resources, /background for background
    deletion. Argo CD uses only the first cascade finalizer in the list, so with both the order of
    two lines silently decides how everything is deleted.""")
REDUNDANT_FINALIZER = declare(
    id="argocd-finalizer-redundant", family=_F, severity="warning",
    title="An Application lists the same cascade behaviour twice",
    rationale="""The plain resources finalizer already means foreground deletion, so adding /foreground (or
    listing a finalizer twice) changes nothing and only invites the two to drift apart later.""")
FINALIZER_AS_ANNOTATION = declare(
    id="argocd-finalizer-as-annotation", family=_F, severity="error",
    title="A finalizer is written as an annotation, where it does nothing",
    rationale="""There is no argocd.argoproj.io/finalizer annotation: Argo CD reads finalizers only from
    metadata.finalizers. An Application carrying the resources finalizer as an annotation is
    deleted without its resources, which keep running unmanaged (the CICDPipeline seed does this).""")
FINALIZER_ON_WRONG_KIND = declare(
    id="argocd-finalizer-on-wrong-kind", family=_F, severity="error",
    title="An Argo CD finalizer is on an object no Argo CD controller finalizes",
    rationale="""Only Applications act on the cascade finalizers; AppProjects and ApplicationSets understand
    the plain resources-finalizer.argocd.argoproj.io only (a project is kept while Applications use
    it; an ApplicationSet's is removed on deletion). Anywhere else nothing ever removes an Argo CD
    finalizer, so deleting or pruning the object hangs in Terminating. An ApplicationSet's
    Applications take their finalizers from spec.template.metadata.finalizers.""")
MISSING_RESOURCES_FINALIZER = declare(
    id="application-missing-resources-finalizer", family=_F, severity="error",
    title="An Application has no resources finalizer, which the configuration requires",
    rationale="""Without resources-finalizer.argocd.argoproj.io (or its /foreground or /background variant)
    deleting an Application leaves every resource it synced running, no longer managed by anyone.
    Turned on by argocd.requireResourcesFinalizer: true in .wavegate.yaml.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    applications = ("Application",) if ctx.config.require_resources_finalizer else ()
    for manifest in repo.having(kinds=("ApplicationSet", *applications), metadata=("finalizers",),
                                annotations=(model.FINALIZER_ANNOTATION_MISTAKE,)):
        metadata = manifest.metadata
        if model.FINALIZER_ANNOTATION_MISTAKE in manifest.annotations:
            yield from _annotation_mistake(manifest, ("metadata",), application=is_application(manifest))
        if "finalizers" in metadata:
            yield from _finalizers(manifest, ("metadata",), _allowed(manifest), application=is_application(manifest))
        if _is_application_set(manifest):
            yield from _annotation_mistake(manifest, _TEMPLATE, application=True)
            yield from _finalizers(manifest, _TEMPLATE, model.APPLICATION_FINALIZERS, application=True)
        if ctx.config.require_resources_finalizer and is_application(manifest):
            yield from _missing_resources_finalizer(manifest)


def _is_application_set(manifest: Manifest) -> bool:
    return manifest.kind == "ApplicationSet" and manifest.group == model.ARGOCD_GROUP


def _allowed(manifest: Manifest) -> tuple[str, ...]:
    allowed = model.FINALIZERS_BY_KIND.get(manifest.kind, ()) if manifest.group == model.ARGOCD_GROUP else ()
    if model.is_argocd_hook(manifest):  # Argo CD adds and removes its hook finalizer itself
        allowed = allowed + (model.HOOK_FINALIZER,)
    return allowed


def _finalizers(manifest: Manifest, base: tuple, allowed: tuple[str, ...], application: bool) -> Iterable[Finding]:
    path = base + ("finalizers",)
    items = manifest.get(*path)
    if not isinstance(items, list):
        return
    where = "spec.template.metadata.finalizers" if base == _TEMPLATE else "metadata.finalizers"
    owner = f"generated Applications of this {manifest.kind}" if base == _TEMPLATE else f"{manifest.kind} {manifest.name}"
    known = set(model.APPLICATION_FINALIZERS) | {model.HOOK_FINALIZER}
    first_at: dict[str, int] = {}
    cascade: tuple[int, str] | None = None  # the first cascade finalizer: the one Argo CD uses
    for i, item in enumerate(items):
        if not isinstance(item, str) or model.ARGOCD_FINALIZER_MARK not in item:
            continue
        if not allowed:
            yield _wrong_kind(manifest, path + (i,), item)
            continue
        if item not in known:
            match = closest(item, allowed)
            yield UNKNOWN_FINALIZER.at(
                manifest, path + (i,),
                f"finalizer {item!r} is not one Argo CD knows: it turns on nothing, and since no controller removes it, "
                f"deleting the {owner} hangs in Terminating",
                hint=f"Write {match}." if match else f"Use one of {', '.join(allowed)}.")
            continue
        if item not in allowed:
            yield _wrong_kind(manifest, path + (i,), item)
            continue
        if item in first_at:
            yield REDUNDANT_FINALIZER.at(manifest, path + (i,),
                                         f"finalizer {item} is listed twice in {where} (first as item {first_at[item] + 1})",
                                         hint="Delete this line.")
            continue
        first_at[item] = i
        if not application or item not in model.PROPAGATION_FINALIZERS:
            continue
        if cascade is None:
            cascade = (i, item)
            continue
        used = model.PROPAGATION_FINALIZERS[cascade[1]]
        asked = model.PROPAGATION_FINALIZERS[item]
        if asked != used:
            yield CONFLICTING_FINALIZERS.at(
                manifest, path + (i,),
                f"{item} asks for {asked} deletion but {cascade[1]} (item {cascade[0] + 1}) asks for {used}; Argo CD uses "
                f"only the first cascade finalizer, so the Application's resources are deleted with {used} propagation",
                hint=f"Keep only the one you mean: delete this line for {used} deletion, or item {cascade[0] + 1} for {asked}.")
        else:
            yield REDUNDANT_FINALIZER.at(
                manifest, path + (i,),
                f"{item} and {cascade[1]} (item {cascade[0] + 1}) both ask for {used} deletion; one of them is enough",
                hint="Delete this line.")


def _wrong_kind(manifest: Manifest, path: tuple, item: str) -> Finding:
    kind = manifest.kind or "object"
    if _is_application_set(manifest):
        hint = ("For the generated Applications, move it to spec.template.metadata.finalizers; on the ApplicationSet "
                f"itself only {model.RESOURCES_FINALIZER} is understood.")
    elif manifest.kind == "AppProject" and manifest.group == model.ARGOCD_GROUP:
        hint = f"Use {model.RESOURCES_FINALIZER} (keeps the project while Applications use it), or delete this line."
    else:
        hint = "Delete this line; Argo CD finalizers belong on Argo CD Applications."
    return FINALIZER_ON_WRONG_KIND.at(
        manifest, path,
        f"finalizer {item} on {kind} {manifest.name}: no Argo CD controller removes it from a {kind}, "
        "so deleting or pruning it hangs in Terminating",
        hint=hint)


def _annotation_mistake(manifest: Manifest, base: tuple, application: bool) -> Iterable[Finding]:
    annotations = manifest.get(*base, "annotations")
    if not isinstance(annotations, dict) or model.FINALIZER_ANNOTATION_MISTAKE not in annotations:
        return
    value = annotations[model.FINALIZER_ANNOTATION_MISTAKE]
    under = ".".join(base)
    if application:
        who = "generated Applications" if base == _TEMPLATE else "Application"
        effect = (f"the {who} get no cascading delete from it" if base == _TEMPLATE
                  else "this Application gets no cascading delete from it: deleting it leaves its resources running")
        propagating = isinstance(value, str) and value.strip() in model.PROPAGATION_FINALIZERS
        finalizer = value if propagating else model.RESOURCES_FINALIZER
        hint = f"Delete the annotation and add under {under}:\n  finalizers:\n    - {finalizer.strip()}"
    else:
        effect = "the annotation does nothing"
        hint = "Delete the annotation; Argo CD finalizers belong in metadata.finalizers of Argo CD Applications."
    yield FINALIZER_AS_ANNOTATION.at(
        manifest, base + ("annotations", model.FINALIZER_ANNOTATION_MISTAKE),
        f"{model.FINALIZER_ANNOTATION_MISTAKE}: {value} is an annotation Argo CD never reads; {effect}",
        hint=hint)


def _missing_resources_finalizer(manifest: Manifest) -> Iterable[Finding]:
    items = manifest.get("metadata", "finalizers")
    items = items if isinstance(items, list) else []
    if any(item in model.PROPAGATION_FINALIZERS for item in items if isinstance(item, str)):
        return
    mistake = model.FINALIZER_ANNOTATION_MISTAKE in manifest.annotations
    yield MISSING_RESOURCES_FINALIZER.at(
        manifest, ("metadata", "finalizers"),
        f"Application {manifest.name} has no resources finalizer, so deleting it leaves all its resources running; "
        "argocd.requireResourcesFinalizer in .wavegate.yaml requires one"
        + (f" (the {model.FINALIZER_ANNOTATION_MISTAKE} annotation does not count)" if mistake else ""),
        hint=f"Add under metadata:\n  finalizers:\n    - {model.RESOURCES_FINALIZER}")
