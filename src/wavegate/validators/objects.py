"""Kubernetes objects as a whole: the same object defined twice, a namespace on a cluster-scoped
kind, and Argo CD tracking metadata written by hand. Backstage entities are not Kubernetes objects
and are left alone (kube.is_backstage_entity)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from wavegate import kube
from wavegate.argocd import model
from wavegate.argocd.application import Application
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context

_K = "kubernetes"
_A = "argocd"

DUPLICATE = declare(
    id="object-duplicate", family=_K, severity="error",
    title="The same Kubernetes object is defined twice",
    rationale="""Two documents with the same group, kind, namespace and name are one object in the cluster. Argo
    CD applies both, one after the other, so the object ends up as whichever came last and the
    Application never settles (or reports a shared-resource conflict when two Applications own it).
    Copying a file and forgetting to rename the copy is the usual cause. wavegate compares what the
    same Application (or two Applications with the same destination) would apply. In a repository
    without Applications, each root (a kustomization, a chart, a directory) stands for one: what it
    renders is compared, and the Applications it creates with the others it creates. Where there
    are Applications, a root none of them syncs is checked object by object and not compared, except
    for Applications and ApplicationSets written as plain YAML, which wavegate takes to exist.""")
NAMESPACE_ON_CLUSTER_SCOPED = declare(
    id="object-namespace-on-cluster-scoped", family=_K, severity="error",
    title="A cluster-scoped object has metadata.namespace",
    rationale="""Namespaces, ClusterRoles, CRDs, StorageClasses and other cluster-scoped objects do not live in a
    namespace. The API server drops the field (or a client refuses the object), so the file claims a
    scoping that does not exist, and tools that key objects by namespace (diffs, Argo CD's resource
    tree, policies) disagree about which object this is.""")
TRACKING_ID = declare(
    id="argocd-tracking-id-in-git", family=_A, severity="error",
    title="The argocd.argoproj.io/tracking-id annotation is written in Git",
    rationale="""Argo CD writes argocd.argoproj.io/tracking-id (`<app>:<group>/<kind>:<namespace>/<name>`) on every
    object it syncs with annotation tracking, the default since 3.0. A value copied from a live object
    into Git makes Argo CD believe the named Application owns the object: another Application's
    resource is shown as belonging elsewhere, pruned by the wrong app, or reported as shared.""")
TRACKING_LABEL = declare(
    id="argocd-tracking-label-in-git", family=_A, severity="warning",
    title="An Argo CD tracking label is written in Git",
    rationale="""With label tracking (the Argo CD 2.x default) Argo CD owns app.kubernetes.io/instance: it sets the
    label to the Application's name, and any object carrying the label counts as that Application's.
    A different value written by hand (or by a Helm chart) makes the object look owned by another
    app; a controller that copies labels to the objects it creates makes Argo CD prune them.
    argocd.argoproj.io/instance is the label installations configure as the tracking label instead,
    so writing it by hand has the same effect there and no meaning elsewhere. Under Argo CD 3
    (annotation tracking) app.kubernetes.io/instance is an ordinary label and is accepted.""")

IN_CLUSTER = "https://kubernetes.default.svc"


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    objects = [m for m in repo.manifests if kube.is_kubernetes_object(m)]
    yield from _duplicates(objects, repo, ctx)
    for manifest in objects:
        if manifest.namespace is not None:
            yield from _namespace_on_cluster_scoped(manifest, repo)
        labels = manifest.labels  # (most objects carry no tracking metadata: looked for first)
        if model.TRACKING_ID in manifest.annotations or model.INSTANCE_LABEL_ARGO in labels \
                or model.INSTANCE_LABEL_DEFAULT in labels:
            yield from _tracking_metadata(manifest, ctx)


def _applied(manifest: Manifest) -> bool:
    """Whether Argo CD applies the document as a named object at all."""
    return bool(manifest.name) and model.hook_types(manifest) != ["Skip"]


def _cluster(app: Application) -> str:
    cluster = app.destination_cluster or IN_CLUSTER
    return IN_CLUSTER if cluster == "in-cluster" else cluster


def placements(manifest: Manifest, repo: Repo, ctx, destinations: dict | None = None) -> list[tuple]:
    """Where the object lands: (group, kind, namespace, name, destination) once per distinct
    destination. Without an Application in this repository, the destination is the directory.
    `destinations`: each Application's destination, by id, kept between calls (the same for all
    its objects)."""
    cluster_scoped = kube.cluster_scoped(manifest, repo)
    apps = ctx.apps_of(manifest)
    keys = []
    if apps:
        destinations = {} if destinations is None else destinations
        for app in apps:
            namespace = "" if cluster_scoped else (manifest.namespace or app.destination_namespace or "")
            destination = destinations.get(id(app))
            if destination is None:
                destination = destinations[id(app)] = ("cluster", _cluster(app), _root_above(app, ctx))
            keys.append((manifest.group, manifest.kind, namespace, manifest.name, destination))
    else:
        sync_set = ctx.sync_set_of(manifest)
        namespace = "" if cluster_scoped else (manifest.namespace or "")
        where = sync_set.name if sync_set is not None else posixpath.dirname(manifest.path)
        keys.append((manifest.group, manifest.kind, namespace, manifest.name, ("directory", where, "")))
    return keys if len(keys) == 1 else list(dict.fromkeys(keys))


def _root_above(app: Application, ctx) -> str:
    """The root whose render created `app` (app-of-apps under a root read as if an Application
    pointed there), or "": two roots are alternatives as often as not (one per cluster or
    environment), so the Applications under each are compared among themselves, as the roots'
    own objects are."""
    return next((s.name for s in ctx.lineage(app) if s.app is None), "")


def _unsynced_root_object(manifest: Manifest, ctx) -> bool:
    """An object of a root that nothing in this repository syncs, where Applications are: checked
    on its own, never compared (two files of such a folder are as often alternatives, such as
    examples). Applications and ApplicationSets are the exception: wavegate takes those written as
    plain YAML to exist, so two of one name are one too many."""
    sync_set = ctx.sync_set_of(manifest)
    return (sync_set is not None and not sync_set.synced and sync_set.appset is None
            and not (manifest.group == model.ARGOCD_GROUP and manifest.kind in ("Application", "ApplicationSet")))


def _duplicates(objects: list[Manifest], repo: Repo, ctx) -> Iterable[Finding]:
    first: dict[tuple, Manifest] = {}
    destinations: dict[int, tuple] = {}  # (the Applications are held by the context: their ids stay theirs)
    for manifest in objects:
        if not _applied(manifest):
            continue
        if not ctx.apps_of(manifest) and _unsynced_root_object(manifest, ctx):
            continue
        reported = False
        for key in placements(manifest, repo, ctx, destinations):
            earlier = first.get(key)
            if earlier is None:
                first[key] = manifest
                continue
            if earlier is manifest or earlier.data is manifest.data or reported:
                continue  # one document that two Applications read: their business, not a copy
            reported = True
            line = earlier.position(("metadata", "name"))[0]
            group, kind, namespace, name, (where, destination, _) = key
            place = (f"in namespace {namespace}" if namespace else "(cluster-scoped)" if kube.cluster_scoped(manifest, repo)
                     else "(in the namespace it is applied to)")
            target = (f"both applied to {destination}" if where == "cluster"
                      else f"both in {destination or 'the repository root'}/")
            yield DUPLICATE.at(
                manifest, ("metadata", "name"),
                f"{kind} {name} {place} is already defined in {earlier.path}:{line}; {target}, "
                "so one definition silently replaces the other",
                hint="Delete one of the two definitions (merge what differs), or give this one another name.",
                key=False)


def _namespace_on_cluster_scoped(manifest: Manifest, repo: Repo) -> Iterable[Finding]:
    if manifest.namespace is None or not kube.cluster_scoped(manifest, repo):
        return
    builtin = (manifest.group, manifest.kind) in kube.BUILTIN_CLUSTER_SCOPED
    why = "is cluster-scoped" if builtin else "is cluster-scoped (its definition in this repository says scope: Cluster)"
    yield NAMESPACE_ON_CLUSTER_SCOPED.at(
        manifest, ("metadata", "namespace"),
        f"{manifest.kind} {manifest.name} {why}, yet has metadata.namespace {manifest.namespace!r}; "
        "the API server drops it",
        hint="Delete the metadata.namespace line.")


def _tracking_metadata(manifest: Manifest, ctx) -> Iterable[Finding]:
    annotations, labels = manifest.annotations, manifest.labels
    apps = ctx.apps_of(manifest)
    syncing = {a.name for a in apps}
    if model.TRACKING_ID in annotations:
        value = annotations[model.TRACKING_ID]
        owner = str(value).split(":", 1)[0] if value is not None else ""
        claim = f"claims {manifest.kind} {manifest.name} for Application {owner!r}" if owner else "is set"
        other = (f", but Application {', '.join(sorted(syncing))} syncs it" if syncing and owner not in syncing
                 else "")
        yield TRACKING_ID.at(
            manifest, ("metadata", "annotations", model.TRACKING_ID),
            f"{model.TRACKING_ID} {claim}{other}; Argo CD writes this annotation itself and trusts it for ownership",
            hint="Delete the annotation; Argo CD adds the right value when it syncs.")
    if model.INSTANCE_LABEL_ARGO in labels:
        value = labels[model.INSTANCE_LABEL_ARGO]
        yield TRACKING_LABEL.at(
            manifest, ("metadata", "labels", model.INSTANCE_LABEL_ARGO),
            f"label {model.INSTANCE_LABEL_ARGO}={value} is Argo CD tracking metadata written by hand; where it is "
            "the configured tracking label it assigns the object (and objects that copy its labels) to "
            f"Application {value!r}",
            hint="Delete the label; use app.kubernetes.io/name or app.kubernetes.io/part-of to group objects.")
    if ctx.argocd_version < 3 and model.INSTANCE_LABEL_DEFAULT in labels:
        value = labels[model.INSTANCE_LABEL_DEFAULT]
        if value not in syncing:
            owner = (f"Application {' / '.join(sorted(syncing))}" if syncing
                     else "the Application that syncs it (none in this repository)")
            yield TRACKING_LABEL.at(
                manifest, ("metadata", "labels", model.INSTANCE_LABEL_DEFAULT),
                f"label {model.INSTANCE_LABEL_DEFAULT}={value} is Argo CD {ctx.argocd_version}.x's tracking label: Argo CD "
                f"overwrites it with the name of {owner}, so selectors on {model.INSTANCE_LABEL_DEFAULT}={value} stop "
                "matching, and objects that copy the label count as that Application's",
                hint="Delete the label (Argo CD sets it to the Application's name), or move Argo CD to annotation "
                     "tracking (application.resourceTrackingMethod: annotation in argocd-cm).")
