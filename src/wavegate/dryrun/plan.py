"""What a sync would apply, and in which order: one plan per sync set of the render stage.

Argo CD renders each Application's sources and syncs those objects only, so the plan takes each
Application's rendered objects, not every YAML file. The order is the one Argo CD model's
`sync_tasks` gives; nothing here restates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wavegate.argocd import model
from wavegate.argocd.application import Application, is_application
from wavegate.load import Manifest
from wavegate.record import field, record

if TYPE_CHECKING:
    from wavegate.render.model import SyncSet


@record
class Step:
    """One (phase, wave) of a sync: the manifests applied together, then waited for."""

    phase: str
    wave: int
    tasks: list[model.SyncTask]


@record
class SyncPlan:
    """The sync of one Application (or, in a repository without one, of every manifest)."""

    name: str
    destination_namespace: str | None
    create_namespace: bool
    steps: list[Step] = field(default_factory=list)
    app: Application | None = None
    sync_set: SyncSet | None = None  # the sync set it applies

    @property
    def size(self) -> int:
        return sum(len(step.tasks) for step in self.steps)


def is_kubernetes_object(manifest: Manifest) -> bool:
    """Backstage entities live in the repository but are never applied to a cluster."""
    return not manifest.api_version.startswith(("backstage.io/", "scaffolder.backstage.io/"))


def build_plans(ctx) -> list[SyncPlan]:
    """One plan per sync set Argo CD would sync: each Application's rendered objects (in a
    repository without Applications, each root's)."""
    plans = []
    for sync_set in sorted(ctx.sync_sets, key=lambda s: (s.app is None, s.name)):
        manifests = [m for m in sync_set.objects if is_kubernetes_object(m)
                     and (sync_set.app is not None or not is_application(m))]
        app = sync_set.app
        plans.append(_plan(sync_set.name or "repository root", manifests,
                           app.destination_namespace if app else None, bool(app and app.creates_namespace), app,
                           sync_set))
    return plans


ARGOCD_KIND_ORDER = ("AppProject", "Application", "ApplicationSet")


def argocd_plan(ctx) -> SyncPlan | None:
    """The Argo CD objects of the repository that no sync here applies (the Applications and
    AppProjects themselves, applied by Backstage, an app-of-apps elsewhere or a person): one step,
    projects first, so that the server judges them too (their CRDs are installed from wavegate's
    schemas; admission policies about them run)."""
    synced = {m.document_id for s in ctx.sync_sets if s.app is not None for m in s.objects}
    seen: set[tuple[str, int, int | None]] = set()
    found: list[Manifest] = []
    for manifest in ctx.repo.manifests:
        where = manifest.document_id
        if (manifest.group == model.ARGOCD_GROUP and manifest.kind in ARGOCD_KIND_ORDER
                and where not in synced and where not in seen):
            seen.add(where)
            found.append(manifest)
    if not found:
        return None
    found.sort(key=lambda m: (ARGOCD_KIND_ORDER.index(m.kind), m.namespace or "", m.name or ""))
    tasks = [model.SyncTask(m, "Sync", 0) for m in found]
    return SyncPlan(name="Argo CD objects", destination_namespace=None, create_namespace=False,
                    steps=[Step("Sync", 0, tasks)])


def _plan(name: str, manifests: list[Manifest], namespace: str | None, create_namespace: bool,
          app: Application | None, sync_set=None) -> SyncPlan:
    plan = SyncPlan(name=name, destination_namespace=namespace, create_namespace=create_namespace, app=app,
                    sync_set=sync_set)
    for phase, wave, tasks in model.waves(model.sync_tasks(manifests)):
        plan.steps.append(Step(phase, wave, tasks))
    return plan
