"""What a sync would apply, and in which order: one plan per Argo CD Application of the repository.

Argo CD renders an Application's plain-directory source (recursion, include/exclude) and syncs
those resources only, so the plan takes each Application's resources, not every YAML file. The
order is the one Argo CD model's `sync_tasks` gives; nothing here restates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wavegate.argocd import model
from wavegate.argocd.application import Application, is_application
from wavegate.load import Manifest

KRO_GROUP = "kro.run"


@dataclass
class Step:
    """One (phase, wave) of a sync: the manifests applied together, then waited for."""

    phase: str
    wave: int
    tasks: list[model.SyncTask]


@dataclass
class SyncPlan:
    """The sync of one Application (or, in a repository without one, of every manifest)."""

    name: str
    destination_namespace: str | None
    create_namespace: bool
    steps: list[Step] = field(default_factory=list)
    app: Application | None = None

    @property
    def size(self) -> int:
        return sum(len(step.tasks) for step in self.steps)


def is_kubernetes_object(manifest: Manifest) -> bool:
    """Backstage entities live in the repository but are never applied to a cluster."""
    return not manifest.api_version.startswith(("backstage.io/", "scaffolder.backstage.io/"))


def build_plans(ctx) -> list[SyncPlan]:
    apps = sorted(ctx.applications, key=lambda a: a.name)
    if not apps:
        manifests = [m for m in ctx.repo.manifests if is_kubernetes_object(m) and not is_application(m)]
        return [_plan("repository", manifests, None, False, None)]
    plans = []
    for app in apps:
        manifests = [m for m in app.resources(ctx.repo, ctx.repo_url) if is_kubernetes_object(m)]
        plans.append(_plan(app.name, manifests, app.destination_namespace, app.creates_namespace, app))
    return plans


def _plan(name: str, manifests: list[Manifest], namespace: str | None, create_namespace: bool,
          app: Application | None) -> SyncPlan:
    plan = SyncPlan(name=name, destination_namespace=namespace, create_namespace=create_namespace, app=app)
    for phase, wave, tasks in model.waves(model.sync_tasks(manifests)):
        plan.steps.append(Step(phase, wave, tasks))
    return plan


def is_rgd(manifest: Manifest) -> bool:
    return manifest.kind == "ResourceGraphDefinition" and manifest.group == KRO_GROUP
