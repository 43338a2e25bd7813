"""What the render stage produces: one sync set per Application (or per root of a repository
without Applications), the files that are inputs of a tool rather than manifests, and what could
not be rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wavegate.findings import Finding
from wavegate.record import field, record

if TYPE_CHECKING:
    from wavegate.argocd.application import Application
    from wavegate.load import Manifest

DIRECTORY, KUSTOMIZE, HELM, PLUGIN = "Directory", "Kustomize", "Helm", "Plugin"


@record
class RenderedSource:
    """How one source of a sync set was rendered."""

    type: str  # DIRECTORY, KUSTOMIZE, HELM or PLUGIN
    path: str  # repository-relative directory ('' for the root)
    command: str = ""  # the tool invocation, as a person would type it (for messages)
    rendered: bool = True  # False when it could not be rendered here (plugin, remote chart, ...)
    here: bool = True  # False for a source in another repository or a chart repository


@record
class SyncSet:
    """What one sync applies: the rendered objects of an Application's sources, each object a
    Manifest whose `path`, `doc_index` and positions point at the file a person edits.

    `app` is None for a root read as Argo CD would read it if an Application pointed there
    (a repository without Applications, or a kustomization/chart/directory no Application here
    syncs). `synced` is False for the latter: their objects are checked one by one, never
    ordered or compared against anything."""

    name: str
    app: Application | None
    objects: list[Manifest] = field(default_factory=list)
    untyped: list[Manifest] = field(default_factory=list)  # documents Argo CD would fail to decode
    sources: list[RenderedSource] = field(default_factory=list)
    synced: bool = True
    problems: list[Finding] = field(default_factory=list)  # what rendering it found wrong
    parent: SyncSet | None = None  # the sync (app-of-apps) that creates this Application
    appset: Manifest | None = None  # for the Applications an ApplicationSet generates: that ApplicationSet

    @property
    def destination_namespace(self) -> str | None:
        return self.app.destination_namespace if self.app is not None else None


def owned(manifest: Manifest, app: Application | None) -> Manifest:
    """The copy of a loaded document that `app`'s sync applies (the document itself for a root):
    the same data, with the Application it belongs to."""
    if app is None:
        return manifest
    copy = object.__new__(type(manifest))  # copy.copy, without its generic machinery (10,000s of calls)
    held = manifest.__dict__.copy()  # (a copy of the dict given as a whole: 0.9 us, against 1.6 to update an empty one)
    held["app"] = app
    copy.__dict__ = held
    return copy


@record
class Rendering:
    """Every sync set of the repository, and how each YAML file was used.

    `inputs` maps a file that a tool reads but that is not itself a manifest (kustomizations,
    patches, values files, chart templates) to its role; such files are never validated as
    manifests. `problems` are render failures and sources that could not be rendered."""

    sync_sets: list[SyncSet] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    # The key wavegate.render.replay keeps it under, when it rendered plain directories only (or
    # was replayed): what else depends on the render alone can be kept by it too.
    kept_as: str | None = None

    @property
    def synced(self) -> list[SyncSet]:
        return [s for s in self.sync_sets if s.synced]

    def objects(self) -> list[Manifest]:
        """Every rendered object, each sync set's in its order; an object two sync sets share
        (the same directory synced twice) once per sync set, since each is applied by its own."""
        return [m for s in self.sync_sets for m in s.objects]

    def untyped(self) -> list[Manifest]:
        return [m for s in self.sync_sets for m in s.untyped]

    def by_app(self) -> dict[int, SyncSet]:
        return {id(s.app.manifest): s for s in self.sync_sets if s.app is not None}


# Roles of input files (Rendering.inputs).
KUSTOMIZATION = "kustomization"
KUSTOMIZE_INPUT = "kustomize input"  # patches, generator sources, replacements, ...
KUSTOMIZE_DISABLED = "kustomize resource, commented out"  # `#- app.yaml`: switched off, no build reads it
KUSTOMIZE_UNUSED_PATCH = "kustomize patch nothing uses"  # `*_patch.yaml` beside a kustomization that names it nowhere
HELM_TEMPLATE = "helm template"
HELM_CHART_FILE = "helm chart file"  # Chart.yaml, values files, anything else in a chart
HELM_VALUES = "helm values"  # a values file outside the chart
SOURCE_OVERRIDE = "argocd source override"  # .argocd-source.yaml
BACKSTAGE_SKELETON = "backstage skeleton"  # a Template's fetch:template files: validated once rendered
