"""Backstage catalog entities (catalog-info.yaml) against the repository: the Argo CD plugin's
annotations must name Applications defined here, the Kubernetes plugin's annotations must find the
objects defined here, and no Argo CD Application may sync the entity itself.

A document with apiVersion backstage.io/* (or *.backstage.io/*) is a Backstage entity, never a
Kubernetes object (kube.is_backstage_entity). Annotations the plugins read:
- Argo CD plugin (@roadiehq/backstage-plugin-argo-cd): `argocd/app-name` (one Application) or
  `argocd/app-selector` (a label selector over Applications), "only one of the options per
  component"; `argocd/app-namespace` for Applications outside Argo CD's namespace;
  `argocd/instance-name`, `argocd/proxy-url` pick the Argo CD instance.
- Kubernetes plugin (plugins/kubernetes-backend KubernetesFanOutHandler): objects are found with the
  label selector `backstage.io/kubernetes-label-selector`, else `backstage.io/kubernetes-id=<value of
  backstage.io/kubernetes-id, else the entity name>`, within `backstage.io/kubernetes-namespace` when set.
Values still holding template placeholders (`${{ values.x }}`) are skipped: that is a skeleton.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cached_property

from wavegate import kube
from wavegate.argocd import model
from wavegate.argocd.application import is_application
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context

_F = "backstage"

APP_NAME = "argocd/app-name"
APP_SELECTOR = "argocd/app-selector"
APP_NAMESPACE = "argocd/app-namespace"
KUBERNETES_ID = "backstage.io/kubernetes-id"
KUBERNETES_NAMESPACE = "backstage.io/kubernetes-namespace"
KUBERNETES_SELECTOR = "backstage.io/kubernetes-label-selector"

APP_UNKNOWN = declare(
    id="catalog-argocd-app-unknown", family=_F, severity="warning",
    title="The Backstage Argo CD annotation finds no Application of this repository",
    rationale="""The Argo CD plugin shows the Application named by argocd/app-name, or the Applications whose
    labels match argocd/app-selector. When no Application defined in this repository fits, the
    entity's Argo CD card is empty or shows another team's app, usually because the Application was
    renamed or its labels changed and catalog-info.yaml was not.""")
NAME_AND_SELECTOR = declare(
    id="catalog-argocd-app-name-and-selector", family=_F, severity="warning",
    title="An entity sets both argocd/app-name and argocd/app-selector",
    rationale="""The Argo CD plugin supports one of the two per entity ("You can only use one of the options per
    component"); with both, which one wins depends on the plugin and its version, and some builds
    report an error instead of the card.""")
SELECTOR_INVALID = declare(
    id="catalog-label-selector-invalid", family=_F, severity="error",
    title="A Backstage annotation holds a label selector Kubernetes cannot parse",
    rationale="""argocd/app-selector and backstage.io/kubernetes-label-selector are passed as they are to the
    Argo CD and Kubernetes APIs as label selectors (`key=value,key2 in (a,b)`). A selector those APIs
    reject leaves the entity's cards empty with an error only in the Backstage backend log.""")
NAMESPACE_UNKNOWN = declare(
    id="catalog-kubernetes-namespace-unknown", family=_F, severity="warning",
    title="backstage.io/kubernetes-namespace names a namespace this repository neither uses nor creates",
    rationale="""The Kubernetes plugin only looks in the namespace named by backstage.io/kubernetes-namespace.
    When none of the repository's manifests (or Applications' destinations) use that namespace, the
    entity's Kubernetes tab stays empty: typically a namespace renamed in the manifests only.""")
SELECTOR_MATCHES_NOTHING = declare(
    id="catalog-kubernetes-selector-matches-nothing", family=_F, severity="warning",
    title="The entity's Kubernetes selector matches no object of this repository",
    rationale="""The Kubernetes plugin finds an entity's objects with backstage.io/kubernetes-label-selector, or
    else with the label backstage.io/kubernetes-id=<id or entity name>. When no object defined in this
    repository (or its pod template) carries matching labels, in the annotated namespace if one is
    set, the Kubernetes tab of the entity stays empty.""")
ENTITY_SYNCED = declare(
    id="catalog-entity-synced", family=_F, severity="error",
    title="An Argo CD Application syncs a Backstage entity",
    rationale="""Argo CD applies every YAML document in an Application's folder. A Backstage entity
    (apiVersion backstage.io/...) is not a Kubernetes kind, so the sync fails with "the server could
    not find the requested resource" for the whole wave. catalog-info.yaml belongs at the repository
    root or in a folder no Application reads.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    entities = [m for m in repo.manifests if kube.is_backstage_entity(m)]
    if not entities:
        return
    view = _RepoView(repo, ctx)
    for entity in entities:
        yield from _synced(entity, ctx)
        yield from _argocd_annotations(entity, view)
        yield from _kubernetes_annotations(entity, view)


def templated(value) -> bool:
    return isinstance(value, str) and ("${{" in value or "{{" in value)


class _RepoView:
    """What the annotations are compared with: Applications, objects, namespaces."""

    def __init__(self, repo: Repo, ctx):
        self.repo, self.ctx = repo, ctx
        self.applications = repo.by_kind("Application", model.ARGOCD_GROUP)
        self.appsets = repo.by_kind("ApplicationSet", model.ARGOCD_GROUP)
        # Each object with the namespace it names (read once: every entity asks about them).
        self._placed = [(m, m.namespace) for m in repo.manifests if kube.is_kubernetes_object(m)]
        self.objects = [m for m, _ in self._placed]
        used = {namespace for _, namespace in self._placed if namespace}
        used |= {m.name for m in repo.by_kind("Namespace", "") if kube.is_kubernetes_object(m) and m.name}
        used |= {a.destination_namespace for a in ctx.applications if a.destination_namespace}
        self.namespaces = used

    @cached_property
    def _selectable_placed(self) -> list[tuple[Manifest, str | None]]:
        return [(m, namespace) for m, namespace in self._placed if not is_application(m)]

    @cached_property
    def selectable(self) -> list[Manifest]:
        """The objects the Kubernetes plugin can select (everything but Applications)."""
        return [m for m, _ in self._selectable_placed]

    @cached_property
    def selectable_in(self) -> dict[str, list[Manifest]]:
        """`selectable` by each namespace it lands in (its own, else its Applications'
        destinations), in order."""
        found: dict[str, list[Manifest]] = {}
        for manifest, namespace in self._selectable_placed:
            if namespace:
                found.setdefault(namespace, []).append(manifest)
                continue
            for app in self.ctx.apps_of(manifest):
                if app.destination_namespace:
                    found.setdefault(app.destination_namespace, []).append(manifest)
        return found

    @cached_property
    def applications_named(self) -> dict[str, list[Manifest]]:
        found: dict[str, list[Manifest]] = {}
        for application in self.applications:
            if application.name is not None:
                found.setdefault(application.name, []).append(application)
        return found


def _annotation(entity: Manifest, key: str):
    value = entity.annotations.get(key)
    return None if value is None or templated(value) else value


def _at(rule, entity: Manifest, key: str, message: str, hint: str) -> Finding:
    return rule.at(entity, ("metadata", "annotations", key), message, hint=hint, key=False)


def _synced(entity: Manifest, ctx) -> Iterable[Finding]:
    apps = ctx.apps_of(entity)
    if apps:
        app = apps[0]
        name = entity.path.rsplit("/", 1)[-1]
        yield ENTITY_SYNCED.at(
            entity, (),
            f"Backstage {entity.kind} {entity.name} ({entity.api_version}) is in a folder Application {app.name} "
            "syncs; Argo CD will try to apply it and fail, since it is not a Kubernetes kind",
            hint=f"Move {entity.path} out of the Application's folder, or add directory.exclude: '{name}' "
                 f"to Application {app.name}'s source.")


# ---------------------------------------------------------------------------------------------
# Argo CD plugin

def _argocd_annotations(entity: Manifest, view: _RepoView) -> Iterable[Finding]:
    name, selector = _annotation(entity, APP_NAME), _annotation(entity, APP_SELECTOR)
    if name is not None and selector is not None:
        yield _at(NAME_AND_SELECTOR, entity, APP_SELECTOR,
                  f"{entity.kind} {entity.name} sets both {APP_NAME} ({name}) and {APP_SELECTOR} ({selector}); "
                  "the Argo CD plugin takes one of them per entity",
                  f"Keep {APP_NAME} for one Application, or {APP_SELECTOR} for several, and delete the other.")
    if name is not None:
        yield from _app_name(entity, str(name), view)
    if selector is not None:
        yield from _app_selector(entity, selector, view)


def _app_name(entity: Manifest, name: str, view: _RepoView) -> Iterable[Finding]:
    namespace = _annotation(entity, APP_NAMESPACE)
    same_name = view.applications_named.get(name, [])
    if same_name:
        if namespace and not any((a.namespace or "argocd") == namespace for a in same_name):
            found = same_name[0]
            yield _at(APP_UNKNOWN, entity, APP_NAMESPACE,
                      f"{APP_NAMESPACE} is {namespace}, but Application {name} ({found.path}) is in namespace "
                      f"{found.namespace or 'argocd (unset)'}",
                      f"Write {APP_NAMESPACE}: {found.namespace}, or delete it if the Application lives in Argo CD's namespace.")
        return
    if view.appsets:
        return  # generated Application names are not known here
    names = sorted(a.name for a in view.applications if a.name)
    if not names:
        detail = "this repository defines no Application"
        hint = f"Add the Application manifest for {name} to this repository, or fix {APP_NAME}."
    else:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.4)
        detail = f"its Applications are {', '.join(names)}"
        hint = f"Did you mean {APP_NAME}: {close[0]}?" if close else f"Write {APP_NAME}: {names[0]}."
    yield _at(APP_UNKNOWN, entity, APP_NAME,
              f"{APP_NAME} {name!r} of {entity.kind} {entity.name} names no Application of this repository; {detail}",
              hint)


def _app_selector(entity: Manifest, selector, view: _RepoView) -> Iterable[Finding]:
    try:
        requirements = kube.parse_selector(selector)
    except kube.SelectorError as error:
        yield _at(SELECTOR_INVALID, entity, APP_SELECTOR, f"{APP_SELECTOR} {selector!r} is not a label selector: {error}",
                  "Write key=value pairs separated by commas, for example app.kubernetes.io/name=web.")
        return
    candidates: list[tuple[Manifest, object]] = [(a, a.labels) for a in view.applications]
    candidates += [(s, s.get("spec", "template", "metadata", "labels", default={}) or {}) for s in view.appsets]
    if any(isinstance(labels, dict) and kube.selector_matches(requirements, labels) for _, labels in candidates):
        return
    if not view.applications and not view.appsets:
        detail = "this repository defines no Application"
        hint = f"Add the Applications with these labels to this repository, or fix {APP_SELECTOR}."
    else:
        labelled = [f"{a.name} ({', '.join(f'{k}={v}' for k, v in sorted(labels.items())) or 'no labels'})"
                    for a, labels in candidates if isinstance(labels, dict)]
        detail = f"the Applications here are {'; '.join(labelled)}"
        hint = "Add the selector's labels to the Application's metadata.labels, or change the selector to match them."
    yield _at(APP_UNKNOWN, entity, APP_SELECTOR,
              f"{APP_SELECTOR} {selector!r} of {entity.kind} {entity.name} matches no Application of this repository; "
              f"{detail}", hint)


# ---------------------------------------------------------------------------------------------
# Kubernetes plugin

def _labels_of(manifest: Manifest) -> list[dict]:
    """The label sets the Kubernetes plugin may see for an object: its own and its pods'."""
    found = [manifest.labels]
    for path in (("spec", "template", "metadata", "labels"),
                 ("spec", "jobTemplate", "spec", "template", "metadata", "labels")):
        labels = manifest.get(*path)
        if isinstance(labels, dict):
            found.append(labels)
    return found


def _kubernetes_annotations(entity: Manifest, view: _RepoView) -> Iterable[Finding]:
    namespace = _annotation(entity, KUBERNETES_NAMESPACE)
    if namespace is not None and view.objects:
        namespace = str(namespace)
        if namespace not in view.namespaces:
            close = difflib.get_close_matches(namespace, sorted(view.namespaces), n=1, cutoff=0.5)
            yield _at(NAMESPACE_UNKNOWN, entity, KUBERNETES_NAMESPACE,
                      f"{KUBERNETES_NAMESPACE} {namespace!r} of {entity.kind} {entity.name} is a namespace no manifest "
                      f"of this repository uses or creates (they use: {', '.join(sorted(view.namespaces)) or 'none'})",
                      f"Did you mean {KUBERNETES_NAMESPACE}: {close[0]}?" if close
                      else f"Write the namespace the manifests use in {KUBERNETES_NAMESPACE}.")
            namespace = None  # do not report the selector again for the same mistake

    selector_text = _annotation(entity, KUBERNETES_SELECTOR)
    kubernetes_id = _annotation(entity, KUBERNETES_ID)
    if selector_text is None and kubernetes_id is None:
        return  # the Kubernetes plugin is not enabled for this entity
    if selector_text is not None:
        key = KUBERNETES_SELECTOR
        try:
            requirements = kube.parse_selector(selector_text)
        except kube.SelectorError as error:
            yield _at(SELECTOR_INVALID, entity, key, f"{key} {selector_text!r} is not a label selector: {error}",
                      "Write key=value pairs separated by commas, for example app.kubernetes.io/name=web.")
            return
        selector = str(selector_text)
    else:
        key = KUBERNETES_ID
        selector = f"{KUBERNETES_ID}={kubernetes_id}"
        try:
            requirements = kube.parse_selector(selector)
        except kube.SelectorError as error:
            yield _at(SELECTOR_INVALID, entity, key, f"{key} {kubernetes_id!r} cannot be a label value: {error}",
                      "Use the entity name or another valid label value (letters, digits, '-', '_', '.').")
            return
    if not view.selectable:
        return
    for manifest in view.selectable if namespace is None else view.selectable_in.get(namespace, ()):
        if any(kube.selector_matches(requirements, labels) for labels in _labels_of(manifest)):
            return
    where = f" in namespace {namespace}" if namespace is not None else ""
    hint = (f"Add the label {KUBERNETES_ID}: {kubernetes_id} to the objects (and their pod templates), or set "
            f"{KUBERNETES_SELECTOR} to labels they have." if key == KUBERNETES_ID
            else "Change the selector to labels the manifests have, or add those labels to the manifests.")
    yield _at(SELECTOR_MATCHES_NOTHING, entity, key,
              f"the Kubernetes plugin selects {selector!r}{where} for {entity.kind} {entity.name}, and no object "
              "of this repository matches", hint)
