"""Applications against the repository they live in: source paths that do not exist or hold nothing
Argo CD would read, repoURLs copied from another repository, and namespaces (resources Argo CD
cannot place, resources outside the destination namespace, namespaces nothing creates).

Which source is "this repository": when wavegate knows this repository's URL (`repoURL` in
.wavegate.yaml, CI_PROJECT_URL, the git remote, or catalog-info.yaml's gitlab.com/project-slug on
an Application's repoURL host), a source whose repoURL is the same repository. When the URL is
unknown, wavegate cannot tell a typo from another repository, so it judges by the path: a source
whose path exists here is taken to be this repository (and must hold manifests); a path that does
not exist is a warning that says why it is not an error.

Which manifests the namespace rules look at: the ones some Application in the repository syncs.
Application manifests themselves are usually applied by Backstage or an app-of-apps, not synced by
themselves, so their own namespace (normally argocd) is not checked. When the repository has no
Application at all, every Kubernetes object is checked. Argo CD's own kinds (Application,
ApplicationSet, AppProject) live where Argo CD runs and are never checked. Backstage entities are
not Kubernetes objects and are never checked.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

from wavegate import kube
from wavegate.argocd import model
from wavegate.argocd.application import Application, Source, same_repository
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.render.directory import files_read
from wavegate.render.model import DIRECTORY
from wavegate.render.sourcetype import SourceTypeError, source_type
from wavegate.rules import declare
from wavegate.validators import Context

_F = "argocd"

PATH_MISSING = declare(
    id="application-path-missing", family=_F, severity="error",
    title="An Application's source path does not exist in this repository",
    rationale="""Argo CD resolves spec.source.path inside the repository at the target revision. A path that
    does not exist there (a typo, a renamed folder, a path copied from another repository) makes the
    Application fail with ComparisonError ("app path does not exist") and nothing syncs.""")
PATH_EMPTY = declare(
    id="application-path-has-no-manifests", family=_F, severity="error",
    title="An Application's source path holds no file Argo CD would read",
    rationale="""A plain directory source reads the .yaml, .yml and .json files directly in the path (and below it
    only with directory.recurse: true), filtered by directory.include and directory.exclude. When
    none is left, the Application syncs nothing, and with automated prune it deletes everything it
    synced before.""")
PATH_UNVERIFIED = declare(
    id="application-path-unverified", family=_F, severity="warning",
    title="An Application's source path does not exist here, and wavegate cannot tell whether it is this repository",
    rationale="""When wavegate does not know this repository's URL (no repoURL in .wavegate.yaml, no
    CI_PROJECT_URL, no git remote, no gitlab.com/project-slug in catalog-info.yaml), it cannot tell a
    source of this repository with a mistyped path from a source of another repository. If the
    Application does deploy this repository, the path must exist here or Argo CD fails with
    ComparisonError.""")
REPO_URL_FOREIGN = declare(
    id="application-repo-url-foreign", family=_F, severity="warning",
    title="An Application points at another repository although its path is here",
    rationale="""An Application that lives in this repository and whose source path holds manifests here, but
    whose repoURL names another repository, deploys that other repository's files, not the ones
    reviewed in this merge request. This is usually an Application copied from another project
    without changing repoURL.""")
NAMESPACE_DIFFERS = declare(
    id="application-namespace-differs", family=_F, severity="info",
    title="A resource is in another namespace than its Application's destination",
    rationale="""A resource's own metadata.namespace wins over spec.destination.namespace. That is legitimate
    (one Application may manage several namespaces), but it is also how resources end up in a
    namespace nobody expected, so wavegate shows it. The AppProject must allow that namespace too.""")
UNPLACEABLE = declare(
    id="application-namespace-unplaceable", family=_F, severity="error",
    title="A namespaced resource has no namespace and its Application has no destination namespace",
    rationale="""Argo CD puts a namespaced resource without metadata.namespace into spec.destination.namespace.
    When that is empty too, the controller reports "Namespace for <name> <kind> is missing"
    (InvalidSpecError) and the resource cannot be synced.""")
NAMESPACE_NOT_CREATED = declare(
    id="namespace-not-created", family=_F, severity="error",
    title="Resources go into a namespace that nothing creates",
    rationale="""A namespaced resource can only be created in a namespace that exists. Argo CD creates it when
    a Namespace manifest is part of the sync (it orders Namespaces first) or when the Application has
    CreateNamespace=true for its destination namespace (so does an app-of-apps parent: it creates its
    namespace before the child Application, so the child finds it); otherwise the namespace must
    already exist in the cluster (list it under `namespaces:` in .wavegate.yaml). default, kube-system, kube-public
    and kube-node-lease always exist. A misspelt namespace fails the sync with 'namespaces "..." not
    found'.""")

ARGOCD_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})
_SKIP_DIRS = frozenset({".git", "node_modules", ".tox", ".venv", ".tools"})


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    files = _Files(repo.root)
    for app in ctx.applications:
        for source in app.sources:
            yield from _source_findings(app, source, repo, ctx, files)
    yield from _namespace_findings(repo, ctx)


def templated(text: str | None) -> bool:
    return text is not None and ("{{" in text or "${" in text)


class _Files:
    """The repository's directories and files as Argo CD would see them, read once."""

    def __init__(self, root: Path):
        self.root = root

    @cached_property
    def directories(self) -> list[str]:
        found = []
        for directory, dirnames, _ in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            rel = os.path.relpath(directory, self.root).replace(os.sep, "/")
            if rel != ".":
                found.append(rel)
        return found

    def below(self, path: str) -> list[str]:
        """Repository-relative paths of the YAML and JSON files at and below `path`."""
        base = self.root / path if path else self.root
        found = []
        for directory, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml", ".json")):
                    found.append(os.path.relpath(os.path.join(directory, name), self.root).replace(os.sep, "/"))
        return found


def _is_this_repository(source: Source, ctx, exists: bool) -> bool:
    if ctx.repo_url:
        return bool(source.repo_url) and same_repository(source.repo_url, ctx.repo_url)
    return exists


def _source_findings(app: Application, source: Source, repo: Repo, ctx, files: _Files) -> Iterable[Finding]:
    if source.path is None or source.chart is not None or templated(source.path) or templated(source.repo_url):
        return
    manifest = app.manifest
    path_key = (*source.yaml_path, "path")
    written = manifest.get(*path_key)
    leaves = ".." in source.path.split("/")
    directory = repo.root / source.path
    # (os.path: False, not OSError, for a name too long; the listing answers without a system call)
    exists = not leaves and (repo.listing.is_dir(source.path) if repo.listing is not None else os.path.isdir(directory))
    this_repo = _is_this_repository(source, ctx, exists)

    if not exists and (this_repo or not ctx.repo_url):
        if leaves:
            message = f"source path {written!r} of Application {app.name} leaves the repository; Argo CD refuses it"
            hint = "Write a path relative to the repository root, without '..'."
        else:
            what = "is a file, not a directory" if os.path.exists(directory) else "does not exist in this repository"
            message = f"source path {written!r} of Application {app.name} {what}"
            close = difflib.get_close_matches(source.path, files.directories, n=1, cutoff=0.6)
            hint = f"Did you mean path: {close[0]}?" if close else "Point path at the folder that holds the manifests."
        if this_repo or leaves:
            yield PATH_MISSING.at(manifest, path_key, message, hint=hint, key=False)
        else:
            yield PATH_UNVERIFIED.at(
                manifest, path_key,
                message.replace("in this repository", "here") + f"; wavegate does not know this repository's URL, so it "
                f"cannot tell whether {source.repo_url or 'the repoURL'} is this repository (if it is, Argo CD fails "
                "with ComparisonError)",
                hint=hint + " If the source is another repository, set repoURL: in .wavegate.yaml (or run in GitLab "
                            "CI, or with a git remote) so that wavegate knows which one this is.", key=False)
        return
    if not exists:
        return
    read = files_read(repo.root, source.path, source.recurse, source.include, source.exclude, ctx.config.exclude,
                      repo.listing)
    if this_repo and not read and _renders_as_directory(source, directory):
        below = files.below(source.path)
        yield PATH_EMPTY.at(manifest, path_key,
                            f"source path {written!r} of Application {app.name} holds no .yaml, .yml, .json or "
                            ".jsonnet file that Argo CD would read, so the Application syncs nothing",
                            hint=_empty_hint(source, below), key=False)
    if (not this_repo and ctx.repo_url and source.repo_url and read
            and not same_repository(source.repo_url, ctx.repo_url)):
        yield REPO_URL_FOREIGN.at(
            manifest, (*source.yaml_path, "repoURL"),
            f"Application {app.name} syncs {source.path or '/'} from {source.repo_url}, not from this repository "
            f"({ctx.repo_url}), although {source.path or 'the root'} here holds {len(read)} manifest file(s) "
            f"such as {read[0]}",
            hint=f"If it deploys this repository, write repoURL: {ctx.repo_url}", key=False)


def _renders_as_directory(source: Source, directory: Path) -> bool:
    try:
        return source_type(source.raw, directory) == DIRECTORY
    except SourceTypeError:
        return False  # reported by the render stage


def _empty_hint(source: Source, below: list[str]) -> str:
    base = (source.path + "/") if source.path else ""
    nested = [f for f in below if "/" in f[len(base):]]
    if nested and not source.recurse:
        first = nested[0][len(base):].split("/")[0]
        return (f"The manifests are in subfolders such as {base}{first}/: set directory.recurse: true, "
                f"or point path at {base}{first}.")
    if below and (source.include or source.exclude):
        return (f"directory.include/exclude filter out every file ({', '.join(below[:3])}"
                + (", ..." if len(below) > 3 else "") + "): fix the patterns.")
    return f"Add the manifests under {base or 'the repository root'}, or point path at the folder that holds them."


# ---------------------------------------------------------------------------------------------
# Namespaces

def _checked(manifest: Manifest, repo: Repo) -> bool:
    """A Kubernetes object that Argo CD applies and that lives in a namespace (or may)."""
    return (kube.is_kubernetes_object(manifest)
            and not (manifest.group == model.ARGOCD_GROUP and manifest.kind in ARGOCD_KINDS)
            and model.hook_types(manifest) != ["Skip"]
            and not kube.cluster_scoped(manifest, repo))


def _where(manifest: Manifest) -> str:
    return f"{manifest.path}:{manifest.position(())[0]}"


def _namespace_findings(repo: Repo, ctx) -> Iterable[Finding]:
    created = {m.name for m in repo.by_kind("Namespace", "")
               if kube.is_kubernetes_object(m) and m.name and model.hook_types(m) != ["Skip"]}
    existing = kube.SYSTEM_NAMESPACES | set(ctx.config.namespaces) | created
    has_apps = bool(ctx.applications)
    known = sorted(existing | {a.destination_namespace for a in ctx.applications if a.destination_namespace})
    created_before = _namespaces_created_before(ctx)

    for manifest in repo.manifests:
        if not _checked(manifest, repo):
            continue
        apps = ctx.apps_of(manifest)
        if not apps:
            # Nothing here says where it goes: no Application syncs it here, and for a root of a
            # repository without Applications the Application (and its CreateNamespace) is elsewhere.
            continue
        namespace = manifest.namespace
        if namespace is None:
            yield from _unplaceable(manifest, apps, repo)
            continue
        for app in apps:
            destination = app.destination_namespace
            if destination and destination != namespace:
                yield NAMESPACE_DIFFERS.at(
                    manifest, ("metadata", "namespace"),
                    f"{manifest.kind} {manifest.name} is in namespace {namespace}, not in {destination}, the destination "
                    f"namespace of Application {app.name} ({_where(app.manifest)})",
                    hint="Fine if meant (the AppProject must allow the namespace); otherwise delete metadata.namespace "
                         "to use the destination namespace.", key=False)
        if namespace in existing or any(created_before(a, namespace) for a in apps):
            continue
        close = difflib.get_close_matches(namespace, [k for k in known if k != namespace], n=1, cutoff=0.75)
        yield NAMESPACE_NOT_CREATED.at(
            manifest, ("metadata", "namespace"),
            f"{manifest.kind} {manifest.name} goes into namespace {namespace}, which nothing creates: no Namespace "
            "manifest"
            + (", no Application with CreateNamespace=true for it" if has_apps else "")
            + ", and it is not listed under namespaces in .wavegate.yaml",
            hint=(f"Did you mean namespace: {close[0]}? " if close else "")
                 + f"Otherwise add a Namespace manifest named {namespace}"
                 + (", or CreateNamespace=true on an Application whose destination namespace it is" if has_apps else "")
                 + ".", key=False)

    for app in ctx.applications:
        destination = app.destination_namespace
        if not destination or destination in existing or created_before(app, destination):
            continue
        placed = [m for m in ctx.objects_of(app) if _checked(m, repo) and m.namespace is None]
        if not placed:
            continue
        first = placed[0]
        yield NAMESPACE_NOT_CREATED.at(
            app.manifest, ("spec", "destination", "namespace"),
            f"Application {app.name} puts {len(placed)} resource(s) without metadata.namespace (first: {first.kind} "
            f"{first.name}, {first.path}) into namespace {destination}, which nothing creates",
            hint=f"Add - CreateNamespace=true to spec.syncPolicy.syncOptions, or a Namespace manifest named "
                 f"{destination}, or list it under namespaces in .wavegate.yaml if it exists in the cluster.",
            key=False)


def _namespaces_created_before(ctx) -> Callable[[Application, str], bool]:
    """Whether `namespace` exists before an Application syncs because it or an Application above it
    (app-of-apps) creates it with CreateNamespace=true: a parent creates its namespace first and
    only then the child Application (seen on alphagov/govuk-helm-charts: every child of app-config,
    which creates `apps`, was an error). Under a root read as if an Application pointed there, that
    Application and its CreateNamespace are elsewhere: not for this repository to say."""
    def created(app: Application, namespace: str) -> bool:
        if app.creates_namespace and app.destination_namespace == namespace:
            return True
        for sync_set in ctx.lineage(app):
            above = sync_set.app
            if above is None or (above.creates_namespace and above.destination_namespace == namespace):
                return True
        return False
    return created


def _unplaceable(manifest: Manifest, apps: list[Application], repo: Repo) -> Iterable[Finding]:
    if not kube.namespaced(manifest, repo):
        return  # cluster-scoped, or a custom kind whose scope this repository does not say
    for app in apps:
        if app.destination_namespace is None:
            yield UNPLACEABLE.at(
                manifest, ("metadata",),
                f"{manifest.kind} {manifest.name} is namespaced but has no metadata.namespace, and Application "
                f"{app.name} ({_where(app.manifest)}) has no spec.destination.namespace; Argo CD reports "
                f"\"Namespace for {manifest.name} is missing\" and cannot sync it",
                hint=f"Add metadata.namespace here, or spec.destination.namespace to Application {app.name}.")
            return
