"""The render stage itself: Applications first, then the roots nothing renders."""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from wavegate.argocd.application import Application, Source, same_repository
from wavegate.argocd.appset import Expander, is_applicationset
from wavegate.argocd.model import ARGOCD_GROUP
from wavegate.cache import Cache, Key
from wavegate.findings import Finding, Severity
from wavegate.load import Limits, Listing, Manifest, Repo, is_excluded, load_file, read_yaml
from wavegate.progress import Counter, quiet
from wavegate.record import field, record, replace
from wavegate.regex import lazy_compile
from wavegate.render import directory as directory_source
from wavegate.render import helm as helm_source
from wavegate.render import kustomization as kustomizations
from wavegate.render import kustomize as kustomize_source
from wavegate.render import replay
from wavegate.render.model import (
    BACKSTAGE_SKELETON,
    DIRECTORY,
    HELM,
    HELM_CHART_FILE,
    HELM_TEMPLATE,
    HELM_VALUES,
    KUSTOMIZATION,
    KUSTOMIZE,
    KUSTOMIZE_DISABLED,
    KUSTOMIZE_INPUT,
    KUSTOMIZE_UNUSED_PATCH,
    PLUGIN,
    SOURCE_OVERRIDE,
    RenderedSource,
    Rendering,
    SyncSet,
    owned,
)
from wavegate.render.provenance import (
    PatchText,
    Transformers,
    ValuesSource,
    chart_file,
    helm_positions,
    kustomize_positions,
    patch_text,
    rendered_manifest,
)
from wavegate.render.rules import FAILED, NOT_RENDERED, SKIPPED
from wavegate.render.sourcetype import (
    APP_SOURCE_FILE,
    KUSTOMIZATION_NAMES,
    REPO_SOURCE_FILE,
    SourceTypeError,
    build_env,
    source_type,
    with_overrides,
)
from wavegate.render.workspace import Workspace, unreachable
from wavegate.schemas.store import NOT_APPLIED_GROUPS, split_api_version

# Load problems that stay on a file kustomize or helm reads as an input (values, patches): they
# are about the YAML itself. Problems about documents as Kubernetes objects do not apply there.
YAML_SAFETY_RULES = frozenset({"yaml-syntax", "yaml-tab-indent", "yaml-duplicate-key", "yaml-alias-bomb",
                               "yaml-too-deep", "yaml-file-too-large", "yaml-invalid-utf8", "yaml-symlink-escape"})
# What stays on every YAML file but a chart template, read by Argo CD or not: what would hurt any
# reader of the file (the repo-server, an editor, the next Application that points there). A file
# that cannot be read, or is no regular file, is never opened by the render stage, so never "read".
DANGER_RULES = frozenset({"yaml-alias-bomb", "yaml-too-deep", "yaml-file-too-large", "yaml-invalid-utf8",
                          "yaml-symlink-escape", "yaml-unreadable", "yaml-not-a-regular-file"})


@record
class RenderOptions:
    """What rendering needs besides the repository."""

    repo_url: str | None = None  # this repository's URL, when known
    kube_version: str = ""  # --kube-version for helm (Argo CD passes the cluster's)
    api_versions: list[str] = field(default_factory=list)  # --api-versions for helm
    kustomize_build_options: str = ""  # argocd-cm kustomize.buildOptions
    revision: str = "HEAD"
    exclude: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    jobs: int = 0  # parallel tool runs; 0: one per CPU
    cache: Cache = field(default_factory=lambda: Cache(None))  # tool outputs by a hash of their inputs
    # Argo CD's clusters, for ApplicationSet cluster generators; or what lists them, asked at the
    # first ApplicationSet (finding them looks at every object: most repositories have none to expand)
    clusters: list | Callable[[], list] = field(default_factory=list)
    progress: Callable[[str], None] | None = None  # `rendered N/M Applications` for a terminal


def render(repo: Repo, options: RenderOptions) -> Rendering:
    key = replay.frame(repo, options)
    before = replay.record(options, key) if key is not None else None
    if before is not None and (kept := replay.replayed(repo, before)) is not None:
        kept.kept_as = key
        return kept  # (only plain manifests changed since a render of plain directories)
    with Workspace(repo.root, options.exclude) as workspace:
        stage = _Stage(repo, options, workspace)
        try:
            rendering = stage.run()
        finally:
            if stage.batch:
                stage.batch.close()
            if stage.expander is not None:
                stage.expander.close()
    if key is not None and stage.read_plain_directories_only() and replay.keep(repo, options, key, rendering, before):
        rendering.kept_as = key
    return rendering


class _Stage:
    def __init__(self, repo: Repo, options: RenderOptions, workspace: Workspace):
        self.repo = repo
        self.root = repo.root
        self.options = options
        self.workspace = workspace
        self.rendering = Rendering()
        self.read: set[str] = set()  # files read as manifests by some sync set
        self.ignored: dict[str, str] = {}
        # Files Argo CD skips for want of a kind, by the sync set that read them (id; the set is
        # held, so its id stays its own): reported once all are rendered, in the first that reads
        # each (_report_skipped).
        self.skipped_in: dict[int, tuple[SyncSet, list[tuple[str, Finding]]]] = {}
        self.filtered_out: set[str] = set()  # files a directory source's include/exclude leaves out
        self.lock = threading.Lock()
        self.batch: kustomize_source.BatchBuilder | Literal[False] | None = None  # False: no kustomize-batch
        self.expander: Expander | None = None  # the appset-batch process, started at the first ApplicationSet
        self.later_appset_sets: list[SyncSet] = []
        self.kustomization_cache: dict[str, kustomizations.Kustomization] = {}
        self.documents: dict[str, list[Manifest]] = {}
        self.broken: set[str] = set()
        for manifest in (*repo.manifests, *repo.untyped):
            self.documents.setdefault(manifest.path, []).append(manifest)
        self.syntax_error_line: dict[str, int] = {}  # the first line a file's YAML breaks on
        self._note_problems(repo.problems)
        self.loaded = set(repo.files)
        self.repo_files = frozenset(repo.files)
        self.listing = repo.listing or Listing(repo.root)
        self.extra_problems: dict[str, list[Finding]] = {}
        self._tool_dirs: tuple[set[str], set[str], set[str]] | None = None
        self._files_read_found: dict[tuple, list[str]] = {}
        self._verdicts: dict[str, directory_source.FileResult] = {}
        self._manifest_files: dict[str, bool] = {}
        self.disabled: set[str] = set()  # files switched off in a kustomization (_mark_disabled)
        self.kustomized: set[str] = set()  # files a kustomization lists as resources (_mark_disabled)
        listed = self.listing.listed()
        self._folders_at_start = len(listed) if listed is not None else None

    # -- the stage ------------------------------------------------------------------------------

    def run(self) -> Rendering:
        self._mark_skeletons()
        self._mark_disabled()
        apps, known = self._top_level_applications()
        appsets = self._top_level(self._applicationsets())
        sets = self._applications(apps)
        # Each ApplicationSet's Applications are rendered as soon as they are generated, while the
        # helper generates the next ones.
        counter = Counter(self.options.progress or quiet, 0, "rendered generated Applications", growing=True)
        appset_sets = []
        for generated, appset_set in self._generated(appsets, known):
            counter.grow(len(generated))
            sets += self._applications(generated, counter=counter)
            appset_sets.append(appset_set)
        counter.finish()
        sets += self._children(sets, known)
        self.rendering.sync_sets = list(sets)
        roots = self._tool_roots(synced=not sets)
        # No Application here: each root is read as if one pointed there. Applications that a root
        # renders (a chart of Applications) are real ones Argo CD would create: render them, and
        # read what they leave as roots no Application syncs. With Applications here, the roots'
        # Applications written in a kustomization's resources are rendered too (as the build makes
        # them): written as plain YAML, they would have been.
        children = self._children(roots, known, only=None if not sets else self.kustomized)
        if children:
            self.rendering.sync_sets = [*sets, *children]
            roots = self._tool_roots(synced=False)
        roots += self._leftover_roots(synced=not self.rendering.sync_sets)
        self.rendering.sync_sets.extend(roots)
        self.rendering.sync_sets.extend(appset_sets + self.later_appset_sets)
        self._link_parents()
        self._report_skipped()
        for sync_set in self.rendering.sync_sets:
            self.rendering.problems.extend(sync_set.problems)
        self.rendering.problems.extend(self._load_problems())
        return self.rendering

    def read_plain_directories_only(self) -> bool:
        """Whether this render read nothing but the loaded files of plain directories, through the
        listing it was given (what wavegate.render.replay can replay): no tool, no jsonnet, no
        ApplicationSet, no file a tool reads or loaded on the way, no folder listed on the way."""
        listed = self.listing.listed()
        return (self._folders_at_start is not None and listed is not None and len(listed) == self._folders_at_start
                and not self.rendering.inputs and not any(self._tool_directories()) and self.expander is None
                and not self.later_appset_sets and len(self.loaded) == len(self.repo_files) and not self.kustomized
                and not self.disabled)

    def _mark_skeletons(self) -> None:
        """Backstage skeletons are templates of a repository, not manifests: their files are inputs
        (the pipeline validates each skeleton once rendered, wavegate.render.backstage)."""
        from wavegate.render.backstage import skeletons

        for skeleton in skeletons(self.repo):
            prefix = skeleton.directory + "/"
            for rel in self.loaded | set(self.documents):
                if rel.startswith(prefix):
                    self.rendering.inputs[rel] = BACKSTAGE_SKELETON

    def _mark_disabled(self) -> None:
        """Files a kustomization names in a commented-out entry (`#- app.yaml`) and none lists are
        switched off: no build reads them, and judged alone they lack what the kustomization's
        patches would add. They are inputs, neither roots nor top-level Applications."""
        kustomization_dirs, _, _ = self._tool_directories()
        listed: set[str] = set()
        disabled: set[str] = set()
        for kdir in kustomization_dirs:
            file = kustomizations.find_kustomization(self.root, kdir)
            if file:
                kustomization = kustomizations.read_cached(self.root, file, self.kustomization_cache)
                resources = {rel for rel, role in kustomization.files.items() if role == kustomizations.RESOURCE}
                if kustomization.data.get("kind") != "Component":  # (alone, a Component is no root: _component_alone)
                    self.kustomized.update(resources)
                listed.update(resources)
                disabled.update(kustomization.disabled)
        self.disabled = disabled - listed
        for rel in self.disabled:
            self.rendering.inputs.setdefault(rel, KUSTOMIZE_DISABLED)

    def _top_level(self, manifests: list[Manifest]) -> list[Manifest]:
        """Documents written as plain YAML: not a chart's templates (objects only once rendered),
        nor a Backstage skeleton's, nor a kustomization's resources (Argo CD creates those as the
        build makes them, its patches applied)."""
        _, chart_dirs, _ = self._tool_directories()
        return [m for m in sorted(manifests, key=lambda m: (m.path, m.doc_index))
                if not (posixpath.dirname(m.path) in chart_dirs or _inside(posixpath.dirname(m.path), chart_dirs)
                        or m.path in self.rendering.inputs or m.path in self.kustomized
                        or _in_test_data(posixpath.dirname(m.path)))]

    def _top_level_applications(self) -> tuple[list[Application], set]:
        """The Applications written as plain YAML, one per namespace and name (Argo CD has one
        object per pair)."""
        apps: list[Application] = []
        known: set = set()
        for manifest in self._top_level(self.repo.by_kind("Application", ARGOCD_GROUP)):
            app = Application(manifest)
            if _identity(app) not in known:
                known.add(_identity(app))
                apps.append(app)
        return sorted(apps, key=lambda a: (a.name, a.manifest.path)), known

    def _applicationsets(self, manifests: list[Manifest] | None = None) -> list[Manifest]:
        if manifests is None:
            return self.repo.by_kind("ApplicationSet", ARGOCD_GROUP)
        return [m for m in manifests if is_applicationset(m)]

    def _generated(self, appsets: list[Manifest], known: set) -> Iterator[tuple[list[Application], SyncSet]]:
        """For each ApplicationSet, in order: the Applications it generates (Argo CD's own
        generators and templates, wavegate.argocd.appset) that are not known yet, and a set of all
        it generates that no sync applies: the controller creates them, so they are checked object
        by object (schemas, policies), never ordered. Each generated Application's fields point at
        the template line that wrote them."""
        if not appsets:
            return
        loaded = {id(m) for m in self.repo.manifests}
        with contextlib.closing(self._expander().expand_all(appsets, lambda m: id(m) in loaded)) as expansions:
            for appset, expansion in zip(appsets, expansions, strict=True):
                apps: list[Application] = []
                sync_set = SyncSet(name=f"ApplicationSet {appset.name}", app=None, synced=False,
                                   problems=list(expansion.problems), appset=appset)
                for generated in expansion.generated:
                    manifest = generated.manifest()
                    manifest.generated_by = f"ApplicationSet {appset.name}, element {generated.element_text}" \
                        if generated.element_text else f"ApplicationSet {appset.name}"
                    sync_set.objects.append(manifest)
                    app = Application(manifest)
                    if _identity(app) in known:
                        continue
                    known.add(_identity(app))
                    apps.append(app)
                yield apps, sync_set

    def _expander(self) -> Expander:
        with self.lock:
            if self.expander is None:
                clusters = self.options.clusters
                self.expander = Expander(self.root, self.options.repo_url, clusters() if callable(clusters) else clusters,
                                         cache=self.options.cache)
            return self.expander

    def _tool_directories(self) -> tuple[set[str], set[str], set[str]]:
        if self._tool_dirs is None:
            self._tool_dirs = _tool_directories(self.root, self.options.exclude, self.listing)
        return self._tool_dirs

    def _applications(self, apps: list[Application], parent: SyncSet | None = None,
                      counter: Counter | None = None) -> list[SyncSet]:
        counter = counter or Counter(self.options.progress or quiet, len(apps), "rendered Applications")

        def render(app: Application) -> SyncSet:
            sync_set = self._application(app)
            counter.step()
            return sync_set

        # Threads pay only while a tool runs: Applications of plain directories (Python alone,
        # under one lock) render here, the others side by side; the order stays the Applications'.
        tools = [i for i, app in enumerate(apps) if self._uses_a_tool(app)]
        sets: list = [None] * len(apps)
        for i, sync_set in zip(tools, self._in_parallel([lambda app=apps[i]: render(app) for i in tools]), strict=True):
            sets[i] = sync_set
        for i, app in enumerate(apps):
            if sets[i] is None:
                sets[i] = render(app)
        for sync_set in sets:
            sync_set.parent = parent
        return sets

    def _children(self, parents: list[SyncSet], known: set, depth: int = 1,
                  only: set[str] | None = None) -> list[SyncSet]:
        """App-of-apps: the Applications that rendered syncs create, rendered in turn (each once, by
        namespace and name, as Argo CD keys them; MAX_APP_DEPTH levels at most). `only`: of any
        parent, synced or not, the Applications (and ApplicationSets) written in those files."""
        found: list[SyncSet] = []
        written: set | None = None  # the ApplicationSets written as plain YAML (looked up once)
        for parent in parents:
            if not parent.synced and only is None:
                continue
            objects = parent.objects if only is None else [m for m in parent.objects if m.path in only]
            children = []
            for manifest in objects:
                if not (manifest.kind == "Application" and manifest.group == ARGOCD_GROUP):
                    continue
                child = Application(manifest)
                if _identity(child) in known:
                    continue
                known.add(_identity(child))
                children.append(child)
            # ApplicationSets a sync creates (here, not as plain YAML) generate Applications too.
            appsets = self._applicationsets(objects)
            if appsets:
                if written is None:
                    written = {m.document_id for m in self._top_level(self._applicationsets())}
                appsets = [m for m in appsets if m.document_id not in written]
            for generated, appset_set in self._generated(appsets, known) if appsets else ():
                children += generated
                self.later_appset_sets.append(appset_set)
            if not children:
                continue
            if depth > MAX_APP_DEPTH:
                parent.problems.append(self._at(
                    NOT_RENDERED, parent.app, (), None, 0,
                    f"not rendered: Applications nested more than {MAX_APP_DEPTH} levels deep (app-of-apps): "
                    f"{', '.join(c.name for c in children[:3])}", "Flatten the app-of-apps tree.", parent.name))
                continue
            sets = self._applications(sorted(children, key=lambda a: a.name), parent)
            found += sets + self._children(sets, known, depth + 1)
        return found

    def _in_parallel(self, jobs: list) -> list:
        """Run the jobs (most wait for a tool) on a few threads; results in order."""
        workers = self.options.jobs or max(1, min(os.cpu_count() or 1, 8))
        if workers <= 1 or len(jobs) <= 1:
            return [job() for job in jobs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda job: job(), jobs))

    def _uses_a_tool(self, app: Application) -> bool:
        """Whether rendering `app` may run kustomize, helm or a plugin, as far as it decides where
        it renders (a thread or here; the result is the same). Plain directories (jsonnet
        included, evaluated in this process) need none."""
        kustomization_dirs, chart_dirs, _ = self._tool_directories()
        for source in app.sources:
            if source.chart is not None or any(k in source.raw for k in ("helm", "kustomize", "plugin")):
                return True
            path = (source.path or "").strip("/")
            if path in kustomization_dirs or path in chart_dirs:
                return True
            names = {entry[0] for entry in self.listing.entries(path)}
            if REPO_SOURCE_FILE in names or APP_SOURCE_FILE.format(app.name) in names:
                return True
        return False

    # -- Applications ---------------------------------------------------------------------------

    def _application(self, app: Application) -> SyncSet:
        sync_set = SyncSet(name=app.name, app=app)
        refs = self._refs(app)
        for source in app.sources:
            self._source(app, source, refs, sync_set)
        return sync_set

    def _refs(self, app: Application) -> dict[str, str | None]:
        refs: dict[str, str | None] = {}
        for source in app.sources:
            if source.ref:
                refs[source.ref] = "" if self._is_here(source) else None
        return refs

    def _is_here(self, source: Source) -> bool:
        """Whether a source is this repository: by URL when it is known, else by its path."""
        if self.options.repo_url:
            return bool(source.repo_url) and same_repository(source.repo_url, self.options.repo_url)
        return source.path is not None and self.listing.is_dir(source.path)

    def _source(self, app: Application, source: Source, refs: dict, sync_set: SyncSet) -> None:
        if source.ref and source.path is None and source.chart is None:
            return  # a source that only provides value files to the others
        if source.chart is not None:
            self._remote_chart(app, source, refs, sync_set)
            return
        if source.path is None or _templated(source.path) or _templated(source.repo_url):
            return
        if not self._is_here(source):
            if self.options.repo_url and source.repo_url:  # (none at all: the schema check says it is required)
                self._not_rendered(app, (*source.yaml_path, "repoURL"), sync_set, DIRECTORY, source.path,
                                   f"source {source.path or '/'} comes from {source.repo_url}, not from this "
                                   "repository", here=False)
            return  # a path that does not exist here: the Application rules report it
        directory = self.root / source.path if source.path else self.root
        if ".." in source.path.split("/") or not self.listing.is_dir(source.path):
            return  # the Application rules report it
        files = [name for name, _, _, _, is_file in self.listing.entries(source.path) if is_file]
        raw, overrides = with_overrides(source.raw, directory, app.name, self._read_data, files)
        for name in overrides:
            self.rendering.inputs[posixpath.join(source.path, name)] = SOURCE_OVERRIDE
        try:
            kind = source_type(raw, directory, files)
        except SourceTypeError as error:
            self._failed(app, source.yaml_path, sync_set, DIRECTORY, source.path, str(error),
                         hint="Keep one of helm, kustomize, directory and plugin in this source.")
            return
        env = build_env(app.name, app.destination_namespace or "", _project(app), source.repo_url, source.path,
                        source.target_revision or "", self.options.revision)
        if kind == DIRECTORY:
            self._directory(app, source, raw, env, sync_set)
        elif kind == KUSTOMIZE:
            self._kustomize(app, source, raw, env, sync_set)
        elif kind == HELM:
            self._helm(app, source, raw, env, refs, sync_set)
        else:
            plugin = plugin if isinstance(plugin := raw.get("plugin"), dict) else {}
            plugin_name = given if isinstance(given := plugin.get("name"), str) else "a discovered plugin"
            self._not_rendered(app, (*source.yaml_path, "plugin"), sync_set, PLUGIN, source.path,
                               f"source {source.path or '/'} is rendered by the config management plugin {plugin_name}, "
                               "which runs only inside Argo CD")

    # -- directory sources ----------------------------------------------------------------------

    def _directory(self, app: Application | None, source: Source | None, raw: dict, env: dict,
                   sync_set: SyncSet, base: str | None = None, only_manifests: bool = False) -> None:
        options = options if isinstance(options := raw.get("directory"), dict) else {}
        base = (source.path if source is not None else base) or ""
        include = include if isinstance(include := options.get("include"), str) and include else None
        exclude = exclude if isinstance(exclude := options.get("exclude"), str) and exclude else None
        files = self._files_read(base, options.get("recurse") is True, include, exclude)
        sync_set.sources.append(RenderedSource(DIRECTORY, base))
        if include or exclude:  # left out on purpose: not a root of its own either
            unfiltered = self._files_read(base, options.get("recurse") is True, None, None)
            self.filtered_out.update(set(unfiltered) - set(files))
        if only_manifests:  # a root no Application names: its manifests, not the data files beside them,
            # nor what a tool reads there (the kustomization of a folder that also holds a file it leaves out)
            # nor the files another sync set reads already (judged there, as that one renders them)
            files = [rel for rel in files if rel not in self.rendering.inputs and rel not in self.read
                     and (rel.endswith(".jsonnet") or self._is_manifest_file(rel))]
        for rel in files:
            if rel.endswith(".jsonnet"):
                self._jsonnet(app, source, rel, base, options, env, sync_set)
                continue
            verdict = self._verdict(rel)
            if verdict.ignored:
                self.ignored.setdefault(rel, verdict.ignored)
                if verdict.skipped_manifest:
                    finding = SKIPPED.at_file(rel, verdict.error_line, 1, message=verdict.skipped_manifest,
                                              hint="Add the missing kind (and apiVersion, metadata.name), or move "
                                                   "the file out of the synced folder.")
                    with self.lock:  # (Applications that use a tool render on threads)
                        self.skipped_in.setdefault(id(sync_set), (sync_set, []))[1].append((rel, finding))
                continue
            self.read.add(rel)
            reported = verdict.error and rel in self.broken and any(
                p.path == rel and p.severity >= Severity.ERROR for p in self.repo.problems)
            if verdict.error and not reported:  # (else the loader's finding says why; it is kept)
                where = (source.yaml_path if source is not None else ())
                self._failed(app, where, sync_set, DIRECTORY, base, verdict.error, file=rel, line=verdict.error_line,
                             hint="Give every document of the file apiVersion, kind and metadata, or move the file "
                                  "out of the synced folder (or exclude it with directory.exclude).")
            sync_set.objects += [owned(m, app) for m in verdict.objects]
            if verdict.untyped:
                sync_set.untyped += [owned(m, app) for m in verdict.untyped]

    def _files_read(self, base: str, recurse: bool, include: str | None, exclude: str | None) -> list[str]:
        """directory_source.files_read, once per folder and options: an ApplicationSet's
        Applications (one per cluster) often read the same folder."""
        key = (base, recurse, include, exclude)
        files = self._files_read_found.get(key)
        if files is None:
            files = self._files_read_found[key] = directory_source.files_read(
                self.root, base, recurse, include, exclude, self.options.exclude, self.listing)
        return files

    def _verdict(self, rel: str) -> directory_source.FileResult:
        """What Argo CD makes of one file of a directory source (the same for every source that
        reads it), worked out once."""
        verdict = self._verdicts.get(rel)
        if verdict is None:
            documents = self._documents(rel)
            if len(documents) == 1 and directory_source.one_whole_object(rel, documents[0]) \
                    and rel not in self.broken and not self._has_marker(rel):
                verdict = self._verdicts[rel] = directory_source.FileResult(rel, objects=[documents[0]])
                return verdict  # (the usual file: read_file's answer, without reading its text)
            text = None
            if rel in self.broken or any("kind" in d.missing and not isinstance(d.data.get("kind"), str)
                                         for d in documents) or \
                    rel.endswith(".json"):
                text = self._text(rel)
            elif documents:
                text = None  # a clean file: the skip marker is looked for below, cheaply
            if text is None and self._has_marker(rel):
                text = self._text(rel)
            verdict = self._verdicts[rel] = directory_source.read_file(rel, text, documents, rel in self.broken)
        return verdict

    def _jsonnet(self, app, source, rel, base, options, env, sync_set) -> None:
        jsonnet = jsonnet if isinstance(jsonnet := options.get("jsonnet"), dict) else {}
        objects, error = directory_source.evaluate_jsonnet(self.root, rel, base, jsonnet, env)
        self.read.add(rel)
        if error:
            line = _jsonnet_error_line(error, rel)
            self._failed(app, source.yaml_path if source is not None else (), sync_set, DIRECTORY, base, error,
                         file=rel, line=line, hint="Fix the Jsonnet; `jsonnet` with the same ext vars and tlas "
                                                   "shows the same error.")
            return
        for i, data in enumerate(objects):
            manifest = rendered_manifest(rel, i, data, lambda: {(): (1, 1, 1, 1)}, app)
            (sync_set.untyped if manifest.missing else sync_set.objects).append(manifest)

    # -- Kustomize ------------------------------------------------------------------------------

    def _kustomize(self, app, source, raw, env, sync_set, base: str | None = None) -> None:
        from wavegate.tools import find_tool

        path = source.path if source is not None else base or ""
        file = kustomizations.find_kustomization(self.root, path)
        if file is None:  # an explicit `kustomize:` on a directory without a kustomization
            self._failed(app, source.yaml_path if source else (), sync_set, KUSTOMIZE, path,
                         f"{path or '/'} has no kustomization.yaml, kustomization.yml or Kustomization",
                         hint="Add a kustomization, or remove the kustomize block to read the folder as plain "
                              "manifests.")
            return
        closure = kustomizations.closure(self.root, file, self.kustomization_cache)
        self._mark_kustomize_inputs(closure)
        options = options if isinstance(options := raw.get("kustomize"), dict) else {}
        kube_version = given if isinstance(given := options.get("kubeVersion"), str) and given \
            else self.options.kube_version
        api_versions = apis if isinstance(apis := options.get("apiVersions"), list) and apis \
            else self.options.api_versions
        binary = find_tool("kustomize")
        arguments = (options, self.options.kustomize_build_options, env, helm_source._kube_version(kube_version),
                     [str(a) for a in api_versions])
        # The build environment (the revision, the Application's name) reaches the output only through
        # the options that substitute it: a key without the rest hits across commits.
        used_env = {k: v for k, v in env.items() if f"${k}" in repr(options) or f"${{{k}}}" in repr(options)}
        key = None if closure.remote else self._kustomize_key(binary, path, file, closure,
                                                              (*arguments[:2], used_env, *arguments[3:]))
        cached = self.options.cache.get("kustomize", key) if key else None
        if cached is not None:
            built = kustomize_source.Built(objects=kustomize_source.objects_of(cached["stdout"], cached["ours"]),
                                           command=cached["command"])
        else:
            built = kustomize_source.build(binary, self.workspace, path, file, *arguments, batch=self._batch(),
                                           reads=[posixpath.dirname(read) for read in closure.kustomizations])
            if key and not built.error:
                self.options.cache.put("kustomize", key, {"stdout": built.stdout, "ours": built.ours,
                                                          "command": built.command})
        sync_set.sources.append(RenderedSource(KUSTOMIZE, path, built.command, rendered=not built.error))
        if built.error:
            if built.timed_out or (closure.reached and unreachable(built.error)):
                why = (f"uses remote resources ({', '.join(closure.reached[:2])}) this run does not reach"
                       if closure.reached else "did not finish within the time limit")
                self._not_rendered(app, source.yaml_path if source else (), sync_set, KUSTOMIZE, path,
                                   f"kustomize build {path or '.'} {why}", add_source=False)
                return
            file_hint, line = _kustomization_entry(closure, built.error) or _tool_error_location(built.error, self.root)
            self._failed(app, (source.yaml_path if source else ()), sync_set, KUSTOMIZE, path,
                         f"kustomize build {path or '.'} failed: {_first_lines(built.error)}",
                         file=file_hint or file, line=line, add_source=False, hint=_kustomize_hint(built))
            return
        patches = self._patch_texts(closure)
        transformers = _transformers(closure)
        for data, origin in built.objects:
            sync_set.objects.append(self._kustomized(data, origin, path, file, patches, transformers, app))

    def _batch(self) -> kustomize_source.BatchBuilder | None:
        """The kustomize-batch process, started at the first build (None: builds run `kustomize
        build`, when only the kustomize binary is installed)."""
        from wavegate.tools import ToolNotFoundError, find_tool

        with self.lock:
            if self.batch is None:
                try:
                    self.batch = kustomize_source.BatchBuilder(find_tool("kustomize-batch"), self.workspace)
                except ToolNotFoundError:
                    self.batch = False
            return self.batch or None

    def _kustomize_key(self, binary: Path, path: str, file: str, closure, arguments) -> str:
        """What a build depends on: the tool, the arguments, every kustomization of the closure with
        the files it names, and the files beside each kustomization (generators read them)."""
        key = Key("kustomize", _tool_identity(binary), path, file, list(arguments))
        files = set(closure.kustomizations) | set(closure.files)
        for kfile in closure.kustomizations:
            files.update(_files_in(self.root, posixpath.dirname(kfile)))
        if "--enable-helm" in self.options.kustomize_build_options:
            files.update(_files_below(self.root, path, self.options.exclude))
        for rel in sorted(files):
            key.add_file(self.root, rel)
        return key.hexdigest()

    def _helm_key(self, binary: Path, path: str, template) -> str:
        key = Key("helm", _tool_identity(binary), path, repr(template))
        files = set(_files_below(self.root, path, self.options.exclude))
        files.update(v.rel for v in template.value_files if v.rel)
        files.update(rel for _, rel in template.set_file)
        for rel in sorted(files):
            key.add_file(self.root, rel)
        return key.hexdigest()

    def _mark_kustomize_inputs(self, closure: kustomizations.Closure) -> None:
        for kfile in closure.kustomizations:
            self.rendering.inputs[kfile] = KUSTOMIZATION
        for rel, role in closure.files.items():
            if role == kustomizations.RESOURCE:
                self.read.add(rel)
            else:
                self.rendering.inputs.setdefault(rel, KUSTOMIZE_INPUT)

    def _kustomized(self, data: dict, origin: dict | None, path: str, kfile: str, patches: list[PatchText],
                    transformers: Transformers, app) -> Manifest:
        origin = origin or {}
        base_manifest = None
        file = kfile
        if isinstance(origin.get("path"), str) and not origin.get("repo"):
            file = posixpath.normpath(posixpath.join(path, origin["path"])) if path else posixpath.normpath(origin["path"])
            base_manifest = _best_match(self._documents(file), data)
        elif isinstance(origin.get("configuredIn"), str):
            file = posixpath.normpath(posixpath.join(path, origin["configuredIn"]))
        doc_index = base_manifest.doc_index if base_manifest is not None else 0

        def positions() -> dict:
            found = kustomize_positions(data, base_manifest, patches, transformers)
            if base_manifest is None:
                found.setdefault((), _generator_position(self._documents(file), data, origin.get("configuredBy")))
            return found

        return rendered_manifest(file, doc_index, data, positions, app)

    def _patch_texts(self, closure: kustomizations.Closure) -> list[PatchText]:
        texts: list[PatchText] = []
        for patch in closure.patches:
            if patch.file is not None:
                text = self._text(patch.file)
                if text is not None:
                    texts.append(patch_text(patch.file, text, 0, patch.json6902, patch.target))
                continue
            owner = closure.kustomizations.get(patch.kustomization)
            if owner is None or owner.manifest is None:
                continue
            entry = owner.manifest.get(*patch.index_path)
            inline = entry.get("patch") if isinstance(entry, dict) else entry
            if not isinstance(inline, str):
                continue
            line = owner.manifest.position((*patch.index_path, "patch") if isinstance(entry, dict) else patch.index_path,
                                           key=False)[0]
            texts.append(patch_text(patch.kustomization, inline, line, patch.json6902, patch.target))
        return texts

    # -- Helm -----------------------------------------------------------------------------------

    def _helm(self, app, source, raw, env, refs, sync_set, base: str | None = None) -> None:
        from wavegate.tools import find_tool

        path = source.path if source is not None else base or ""
        self._mark_chart(path)
        name = app.name if app is not None else (posixpath.basename(path) or "release")
        namespace = app.destination_namespace or "" if app is not None else ""
        yaml_path = source.yaml_path if source is not None else ()
        try:
            template = helm_source.template_for(raw, yaml_path, path, self.root, name, namespace,
                                                self.options.kube_version, self.options.api_versions, env, refs)
        except helm_source.ValuesError as error:
            self._failed(app, error.field_path, sync_set, HELM, path, f"helm template {path or '.'}: {error}",
                         hint="Point valueFiles at files that exist (paths are relative to the chart), or set "
                              "ignoreMissingValueFiles: true.")
            return
        remote = [v for v in template.value_files if v.remote]
        if remote:
            self._not_rendered(app, remote[0].field_path, sync_set, HELM, path,
                               f"value file {remote[0].written} is not in this repository")
            return
        for value_file in template.value_files:
            if value_file.rel and not value_file.rel.startswith(path + "/" if path else ""):
                self.rendering.inputs[value_file.rel] = HELM_VALUES
        binary = find_tool("helm")
        key = self._helm_key(binary, path, template)
        cached = self.options.cache.get("helm", key)
        if cached is not None:
            rendered = helm_source.Rendered(documents=[tuple(d) for d in cached["documents"]], command=cached["command"])
        else:
            rendered = helm_source.render(binary, self.workspace, template)
            if not rendered.error:
                self.options.cache.put("helm", key, {"documents": rendered.documents, "command": rendered.command})
        sync_set.sources.append(RenderedSource(HELM, path, rendered.command, rendered=not rendered.error))
        if rendered.error:
            if rendered.timed_out or unreachable(rendered.error):
                needed = _remote_dependencies(self.root, path) or [_first_lines(rendered.error, 1)]
                self._not_rendered(app, yaml_path, sync_set, HELM, path,
                                   f"chart {path or '.'} needs {', '.join(needed)}, which this run does not reach",
                                   add_source=False)
                return
            file_hint, line = _helm_error_location(rendered.error, path)
            self._failed(app, yaml_path, sync_set, HELM, path,
                         f"helm template {path or '.'} failed: {_first_lines(rendered.error)}",
                         file=file_hint, line=line, add_source=False,
                         hint=f"Run `{rendered.command}` in the repository root to see the whole error.")
            return
        values = self._values_sources(path, template, app)
        for i, (helm_file, text) in enumerate(rendered.documents):
            self._helm_document(i, helm_file, text, path, values, app, sync_set)

    def _remote_chart(self, app: Application, source: Source, refs: dict, sync_set: SyncSet) -> None:
        """A chart from a chart repository or OCI registry: pulled as Argo CD pulls it, when this run
        reaches it; otherwise one info finding says it was not rendered."""
        from wavegate.tools import find_tool

        chart = source.chart
        assert chart is not None, "called for chart sources only"
        helm = find_tool("helm")
        chart_field = (*source.yaml_path, "chart")
        pulled = helm_source.pull(helm, self.workspace, chart, source.repo_url, source.target_revision or "")
        if pulled.error:
            self._not_rendered(app, chart_field, sync_set, HELM, "",
                               f"Helm chart {source.chart} {source.target_revision or ''} from {source.repo_url} "
                               f"could not be pulled ({_first_lines(pulled.error, 1)})", here=False)
            return
        env = build_env(app.name, app.destination_namespace or "", _project(app), source.repo_url, "",
                        source.target_revision or "", self.options.revision)
        try:
            template = helm_source.template_for(source.raw, source.yaml_path, pulled.chart_dir, self.workspace.path,
                                                app.name, app.destination_namespace or "", self.options.kube_version,
                                                self.options.api_versions, env, refs)
        except helm_source.ValuesError as error:
            self._failed(app, error.field_path, sync_set, HELM, "", f"helm template {source.chart}: {error}",
                         hint="Point valueFiles at files that exist in the chart or in a ref source.")
            return
        rendered = helm_source.render(helm, self.workspace, template)
        sync_set.sources.append(RenderedSource(HELM, "", rendered.command, rendered=not rendered.error, here=False))
        if rendered.error:
            self._failed(app, chart_field, sync_set, HELM, "", f"helm template {source.chart} failed: "
                         f"{_first_lines(rendered.error)}", add_source=False,
                         hint=f"Run `{rendered.command}` on the pulled chart to see the whole error.")
            return
        where = app.manifest.positions.get(chart_field) or app.manifest.positions.get(source.yaml_path, (1, 1, 1, 1))
        for _, text in rendered.documents:
            from wavegate.load import parse_documents

            documents, _ = parse_documents(chart, text, require_object=False)
            if documents and documents[0].data:
                manifest = rendered_manifest(app.manifest.path, app.manifest.doc_index, documents[0].data,
                                             lambda: {(): where}, app)
                (sync_set.untyped if manifest.missing else sync_set.objects).append(manifest)

    def _helm_document(self, index, helm_file, text, chart_dir, values, app, sync_set) -> None:
        from wavegate.load import parse_documents

        documents, _ = parse_documents(helm_file or "<helm template>", text, require_object=False)
        if not documents or not documents[0].data:
            return
        data = documents[0].data
        file = chart_file(chart_dir, helm_file) if helm_file else posixpath.join(chart_dir, "Chart.yaml")
        if not (self.root / file).is_file():
            file = self._subchart_source(chart_dir, helm_file) or file
        if not (self.root / file).is_file():  # a subchart from an archive: the chart is what a person edits
            file = posixpath.join(chart_dir, "Chart.yaml") if chart_dir else "Chart.yaml"
            template_text = None
        else:
            template_text = self._text(file)

        def positions() -> dict:
            return helm_positions(text, file, template_text, values)

        manifest = rendered_manifest(file, index, data, positions, app)
        (sync_set.untyped if manifest.missing else sync_set.objects).append(manifest)

    def _subchart_source(self, chart_dir: str, helm_file: str) -> str | None:
        """`<chart>/charts/<sub>/templates/x.yaml` of a subchart packed in charts/ as an archive,
        found in the local directory the dependency was packed from (`file://` in Chart.yaml)."""
        parts = helm_file.split("/")
        if len(parts) < 4 or parts[1] != "charts":
            return None
        for dependency_dir in _local_dependencies(self.root, chart_dir, by_name=True).get(parts[2], []):
            candidate = posixpath.normpath(posixpath.join(dependency_dir, *parts[3:]))
            if (self.root / candidate).is_file():
                return candidate
        return None

    def _values_sources(self, chart_dir: str, template, app) -> list[ValuesSource]:
        sources = []
        chart_values = posixpath.join(chart_dir, "values.yaml") if chart_dir else "values.yaml"
        if (self.root / chart_values).is_file():
            sources.append(ValuesSource(chart_values, self._values_document(chart_values)))
        for value_file in template.value_files:
            if value_file.rel:
                sources.append(ValuesSource(value_file.rel, self._values_document(value_file.rel)))
        if template.inline_values is not None and app is not None and template.inline_field:
            field_path = template.inline_field
            if field_path[-1] == "valuesObject":
                document = Manifest(app.manifest.path, app.manifest.doc_index, app.manifest.get(*field_path) or {})
                document.positions = {path[len(field_path):]: value for path, value in app.manifest.positions.items()
                                      if path[:len(field_path)] == field_path}
                sources.append(ValuesSource(app.manifest.path, document))
            else:
                from wavegate.load import parse_documents

                inline, _ = parse_documents(app.manifest.path, template.inline_values, require_object=False)
                line = app.manifest.position(field_path, key=False)[0]
                if inline:
                    sources.append(ValuesSource(app.manifest.path, inline[0], line_offset=line))
        return sources

    def _values_document(self, rel: str) -> Manifest | None:
        documents, _ = read_yaml(self.root / rel, rel=rel)
        return documents[0] if documents else None

    def _mark_chart(self, chart_dir: str) -> None:
        base = self.root / chart_dir if chart_dir else self.root
        for directory, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not is_excluded(_rel(self.root, Path(directory) / d),
                                                                   self.options.exclude, is_dir=True)]
            for name in filenames:
                rel = _rel(self.root, Path(directory) / name)
                inside = rel[len(chart_dir) + 1:] if chart_dir else rel
                is_template = inside.split("/")[0] in ("templates",) or "/templates/" in inside
                self.rendering.inputs.setdefault(rel, HELM_TEMPLATE if is_template else HELM_CHART_FILE)

    # -- roots ----------------------------------------------------------------------------------

    def _covered(self) -> set[str]:
        """The folders the Applications of this repository name: their business, whatever they render with."""
        return {s.path for ss in self.rendering.sync_sets for s in ss.sources if s.here}

    def _tool_roots(self, synced: bool) -> list[SyncSet]:
        """The kustomizations and charts no Application rendered, built as Argo CD would if one
        pointed there (again after the Applications they hold are rendered: what those cover is
        theirs)."""
        covered = self._covered()
        roots: list[SyncSet] = []
        kustomization_dirs, chart_dirs, jsonnet_dirs = self._tool_directories()
        used_as_base: set[str] = set()
        inflated: set[str] = set()  # charts a kustomization inflates (helmCharts): its inputs, never roots
        closures: dict[str, kustomizations.Closure] = {}
        for kdir in kustomization_dirs:
            file = kustomizations.find_kustomization(self.root, kdir)
            if file:
                closure = closures[kdir] = kustomizations.closure(self.root, file, self.kustomization_cache)
                used_as_base.update(posixpath.dirname(k) for k in closure.kustomizations if k != file)
                inflated.update(chart for k in closure.kustomizations.values() for chart in k.charts)
        jobs = []  # (sync set, how to render it): the tool roots render side by side
        for kdir in sorted(kustomization_dirs):
            found = closures.get(kdir)
            if _in_test_data(kdir) and kdir not in covered:
                continue
            if kdir in used_as_base or kdir in covered or _inside(kdir, chart_dirs):
                if found is not None and (kdir in used_as_base or _inside(kdir, chart_dirs)):
                    self._mark_kustomize_inputs(found)
                continue
            if found is not None and self._component_alone(found.root):
                continue
            sync_set = SyncSet(name=kdir, app=None, synced=synced)
            jobs.append((sync_set, lambda s=sync_set, d=kdir: self._kustomize(None, None, {}, _root_env(
                d, self.options.revision), s, base=d)))
        dependencies = {d for cdir in chart_dirs for d in _local_dependencies(self.root, cdir)}
        for cdir in sorted(chart_dirs):
            if _in_test_data(cdir) and cdir not in covered:
                continue
            if cdir in kustomization_dirs or cdir in covered or _inside(cdir, chart_dirs - {cdir}) \
                    or cdir in dependencies or cdir in inflated:
                self._mark_chart(cdir)
                continue
            sync_set = SyncSet(name=cdir, app=None, synced=synced)
            jobs.append((sync_set, lambda s=sync_set, d=cdir: self._helm(None, None, {}, _root_env(
                d, self.options.revision), {}, s, base=d)))
        self._in_parallel([job for _, job in jobs])
        for sync_set, _ in jobs:
            self._add_root(roots, sync_set)
        return roots

    def _leftover_roots(self, synced: bool) -> list[SyncSet]:
        """The folders of the manifests nothing read (once, after every other sync set), each read
        as a directory source would read it, without the files other sync sets read."""
        covered = self._covered()
        kustomization_dirs, chart_dirs, jsonnet_dirs = self._tool_directories()
        roots: list[SyncSet] = []
        for rel in self.disabled & self.read:  # (a source that reads it anyway judges it)
            if self.rendering.inputs.get(rel) == KUSTOMIZE_DISABLED:
                del self.rendering.inputs[rel]
        leftover: set[str] = set()
        inputs, read, ignored, filtered_out = self.rendering.inputs, self.read, self.ignored, self.filtered_out
        unread = sorted(rel for rel in self.loaded | self.documents.keys()
                        if rel not in read and rel not in inputs and rel not in ignored and rel not in filtered_out)
        for rel in unread:
            folder = posixpath.dirname(rel)
            if _in_test_data(folder):
                continue
            if kustomization_dirs and _unused_patch(rel, kustomization_dirs):
                inputs[rel] = KUSTOMIZE_UNUSED_PATCH
                continue
            if self._is_manifest_file(rel):
                leftover.add(folder)
        leftover.update(d for d in jsonnet_dirs if not _inside(d, chart_dirs) and d not in chart_dirs
                        and d not in kustomization_dirs)
        for ddir in sorted(leftover):
            if ddir in covered:
                continue
            sync_set = SyncSet(name=ddir, app=None, synced=synced)
            before = len(self.read)
            self._directory(None, None, {}, {}, sync_set, base=ddir, only_manifests=True)
            self._add_root(roots, sync_set, newly_read=len(self.read) > before)  # (it only grows)
        return roots

    def _component_alone(self, component: kustomizations.Kustomization) -> bool:
        """Whether `component` is a kustomize Component: part of the kustomizations that list it,
        and no root of its own (built alone, what it patches or replaces is not there). Its
        kustomization and patches are inputs; the objects it adds are read as plain files, as
        leftovers are."""
        if component.data.get("kind") != "Component":
            return False
        self.rendering.inputs[component.file] = KUSTOMIZATION
        for rel, role in component.files.items():
            if role != kustomizations.RESOURCE:
                self.rendering.inputs.setdefault(rel, KUSTOMIZE_INPUT)
        return True

    def _is_manifest_file(self, rel: str) -> bool:
        """What makes a directory a root of manifests: a file with an object that has a kind, or a
        file that does not parse but reads like a manifest. A values file or other YAML data is not
        a manifest, and a directory of only such files is no root. (Worked out once per file: the
        roots ask it of each leftover file, then of each file of a leftover folder.)"""
        known = self._manifest_files.get(rel)
        if known is None:
            known = self._manifest_files[rel] = self._reads_like_manifest(rel)
        return known

    def _reads_like_manifest(self, rel: str) -> bool:
        if rel in self.broken and self._breaks_on_a_template_tag(rel):
            return False  # another tool's template (Ansible's Jinja, a chart's outside its chart): not YAML yet
        documents = self._documents(rel)
        kinds = [d for d in documents if isinstance(d.data.get("kind"), str) and d.data.get("kind")]
        if kinds:  # (a tool's own configuration, such as kind's or skaffold's, is no manifest)
            return not all(_tool_configuration(d) for d in kinds)
        if rel in self.broken or any("kind" in d.data for d in documents):
            text = self._text(rel) or ""
            return all(word in text for word in ("apiVersion:", "kind:", "metadata:"))
        return False

    def _note_problems(self, problems: list[Finding]) -> None:
        for problem in problems:
            if problem.rule != "yaml-duplicate-key":
                self.broken.add(problem.path)
            if problem.rule == "yaml-syntax" and problem.line:
                self.syntax_error_line.setdefault(problem.path, problem.line)

    def _breaks_on_a_template_tag(self, rel: str) -> bool:
        """Whether the YAML of `rel` breaks where a template tag (`{% ... %}`, `{{ ... }}`) stands:
        on the line its syntax error names or the one before (the parser notices a line late)."""
        line = self.syntax_error_line.get(rel)
        text = self._text(rel) if line else None
        if not text or line is None:
            return False
        source = text.splitlines()
        return any("{%" in source[i] or "{{" in source[i] for i in (line - 2, line - 1) if 0 <= i < len(source))

    def _add_root(self, roots: list[SyncSet], sync_set: SyncSet, newly_read: bool = False) -> None:
        if (sync_set.objects or sync_set.untyped or newly_read or sync_set.problems
                or id(sync_set) in self.skipped_in or any(not s.rendered for s in sync_set.sources)):
            roots.append(sync_set)

    def _link_parents(self) -> None:
        """An Application written as plain YAML that another Application's sync applies (a folder of
        Applications, app-of-apps) is that one's child, as much as one a chart or kustomization
        makes: the parent syncs first and creates it."""
        orphans = {_identity(s.app): s for s in reversed(self.rendering.sync_sets)
                   if s.app is not None and s.parent is None}
        if not orphans:
            return
        for sync_set in self.rendering.sync_sets:
            if sync_set.app is None or not sync_set.synced:
                continue
            for manifest in sync_set.objects:
                if manifest.kind == "Application" and manifest.group == ARGOCD_GROUP:
                    child = orphans.get(_identity(manifest))
                    if child is not None and child is not sync_set and child.parent is None:
                        child.parent = sync_set

    def _report_skipped(self) -> None:
        """Each skipped file once, in the first sync set (in their final order) that reads it: which
        of the Applications that render on threads reads it first is a matter of timing."""
        reported: set[str] = set()
        for sync_set in self.rendering.sync_sets:
            for rel, finding in self.skipped_in.get(id(sync_set), (sync_set, []))[1]:
                if rel not in reported:
                    reported.add(rel)
                    sync_set.problems.append(finding if sync_set.synced else finding.with_severity(Severity.INFO))

    # -- findings -------------------------------------------------------------------------------

    def _failed(self, app, field_path, sync_set, kind, path, message, *, file: str | None = None, line: int = 0,
                hint: str = "", add_source: bool = True) -> None:
        if add_source:
            sync_set.sources.append(RenderedSource(kind, path, rendered=False))
        finding = self._at(FAILED, app, field_path, file, line, message, hint, path)
        if not sync_set.synced:
            finding = finding.with_severity(Severity.WARNING)
            finding = _with_message(finding, finding.message + "; no Application in this repository syncs "
                                    f"{path or 'the root'}, so it fails only where one elsewhere does")
        sync_set.problems.append(finding)

    def _not_rendered(self, app, field_path, sync_set, kind, path, why: str, add_source: bool = True,
                      here: bool = True) -> None:
        if add_source:
            sync_set.sources.append(RenderedSource(kind, path, rendered=False, here=here))
        subject = f"Application {app.name}" if app is not None else (path or "the repository root")
        sync_set.problems.append(self._at(
            NOT_RENDERED, app, field_path, None, 0,
            f"not rendered: {why}; {subject} is checked without what it renders",
            "wavegate checks what it can render offline; the rest is Argo CD's to render.", path))

    def _at(self, rule, app, field_path, file, line, message, hint, path) -> Finding:
        if file is not None and (app is None or file != app.manifest.path or not field_path):
            finding = rule.at_file(file, line or 1, 1, message=message, hint=hint)
        elif app is not None:
            finding = rule.at(app.manifest, tuple(field_path), message, hint=hint, key=False)
        else:
            kfile = kustomizations.find_kustomization(self.root, path)
            target = kfile or (posixpath.join(path, "Chart.yaml") if path else "Chart.yaml")
            finding = rule.at_file(target if (self.root / target).exists() else (path or "."), line or 1, 1,
                                   message=message, hint=hint)
        if app is not None:
            finding = _with_application(finding, app.name)
        return finding

    def _load_problems(self) -> list[Finding]:
        """The loader's problems that are about manifests Argo CD reads, or about the YAML of a
        file a tool reads; nothing about files no one reads as a manifest."""
        kept = []
        for problem in self.repo.problems:
            rel = problem.path
            role = self.rendering.inputs.get(rel)
            if problem.rule in DANGER_RULES and role != HELM_TEMPLATE:
                kept.append(problem)  # whoever reads the file gets hurt, and someone will
                continue
            if role in (KUSTOMIZE_DISABLED, KUSTOMIZE_UNUSED_PATCH):  # (no one reads it)
                continue
            if role == HELM_CHART_FILE and not _read_by_helm_as_yaml(rel) and self._breaks_on_a_template_tag(rel):
                continue  # a template the chart's own templates render (tpl .Files.Get), not YAML yet
            if rel in self.ignored and rel not in self.read:
                continue
            if rel in self.read and role is None:
                kept.append(problem)
            elif role is not None and role != HELM_TEMPLATE and problem.rule in YAML_SAFETY_RULES:
                kept.append(problem)
        return kept

    # -- files ----------------------------------------------------------------------------------

    def _documents(self, rel: str) -> list[Manifest]:
        if rel not in self.documents and rel not in self.loaded:
            self.loaded.add(rel)
            manifests, problems = load_file(self.root, rel, self.options.limits, lazy_positions=True)
            self.documents[rel] = manifests
            self._note_problems(problems)
            self.repo.problems.extend(problems)
        return self.documents.get(rel, [])

    def _text(self, rel: str) -> str | None:
        """A regular file's text (never a FIFO's or a device's: reading those blocks or never ends)."""
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8-sig") if os.path.isfile(path) else None
        except (OSError, UnicodeDecodeError):
            return None

    def _has_marker(self, rel: str) -> bool:
        if self.repo.skip_marked is not None and rel in self.repo_files:  # the loader noted it
            return rel in self.repo.skip_marked
        path = self.root / rel
        try:
            return os.path.isfile(path) and directory_source.SKIP_MARKER.encode() in path.read_bytes()
        except OSError:
            return False

    def _read_data(self, path: Path):
        documents, problems = read_yaml(path, rel=_rel(self.root, path))
        return documents[0].data if documents and not problems else None


# ---------------------------------------------------------------------------------------------

MAX_APP_DEPTH = 5  # app-of-apps levels rendered; deeper is a tree nobody can review


def _in_test_data(folder: str) -> bool:
    """Whether `folder` is, or is in, a `testdata` folder: test fixtures, by the convention Go's
    tools keep (argoproj/argo-rollouts: its kubectl plugin's deliberately broken manifests were
    errors). Read only when an Application syncs them; never a root, never a top-level Application."""
    return "testdata" in folder.split("/")


def _read_by_helm_as_yaml(rel: str) -> bool:
    """Chart.yaml, requirements.yaml and values files: what helm itself parses as YAML. A chart's
    other files are read only by its templates (`.Files.Get`), often through `tpl`."""
    name = posixpath.basename(rel)
    return name in ("Chart.yaml", "requirements.yaml") or name.startswith("values")


def _tool_configuration(document: Manifest) -> bool:
    api_version = document.data.get("apiVersion")
    return isinstance(api_version, str) and split_api_version(api_version)[0] in NOT_APPLIED_GROUPS


_PATCH_NAME = lazy_compile(r"(?:^|[-_.])patch(?:es)?(?:[-_.]|$)")


def _unused_patch(rel: str, kustomization_dirs: set[str]) -> bool:
    """Whether `rel`, which no kustomization reads, is one of their patches nobody uses: named as
    a patch (`*_patch.yaml`, `patch-*.yaml`, or in a `patches/` folder) under a kustomization's
    folder. Read alone it is half an object (kubebuilder's scaffolds leave several: a Deployment
    patch without containers or selector)."""
    folder = posixpath.dirname(rel)
    parts = rel.split("/")
    named = bool(_PATCH_NAME.search(parts[-1].rsplit(".", 1)[0])) or any(p in ("patch", "patches") for p in parts[:-1])
    while named:
        if folder in kustomization_dirs:
            return True
        if not folder:
            return False
        folder = posixpath.dirname(folder)
    return False


def _identity(app: Application | Manifest) -> tuple[str, str]:
    """How Argo CD tells Applications apart: namespace and name (one object per pair)."""
    manifest = app.manifest if isinstance(app, Application) else app
    return (manifest.namespace or "", manifest.name or "")


def _tool_identity(binary: Path) -> list:
    """The tool, as far as a cache key needs it: its path, size and modification time (a rebuild at
    another version changes them)."""
    try:
        stat = binary.stat()
        return [str(binary), stat.st_size, stat.st_mtime_ns]
    except OSError:
        return [str(binary)]


def _files_in(root: Path, rel_dir: str) -> list[str]:
    try:
        return [posixpath.join(rel_dir, e.name) if rel_dir else e.name
                for e in os.scandir(root / rel_dir if rel_dir else root) if e.is_file()]
    except OSError:
        return []


def _files_below(root: Path, rel_dir: str, exclude: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    base = root / rel_dir if rel_dir else root
    for directory, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not is_excluded(_rel(root, Path(directory) / d), exclude, is_dir=True)]
        found.extend(_rel(root, Path(directory) / name) for name in filenames)
    return found


def _templated(text: str | None) -> bool:
    return text is not None and ("{{" in text or "${" in text)


def _project(app: Application) -> str:
    project = app.manifest.get("spec", "project")
    return project if isinstance(project, str) else ""


def _root_env(path: str, revision: str) -> dict[str, str]:
    return build_env(posixpath.basename(path) or "root", "", "", "", path, "", revision)


def _rel(root: Path, path: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _inside(path: str, parents) -> bool:
    return any(path != p and (p == "" or path.startswith(p + "/")) for p in parents)


def _tool_directories(root: Path, exclude: tuple[str, ...],
                      listing: Listing | None = None) -> tuple[set[str], set[str], set[str]]:
    """Directories holding a kustomization, directories holding a chart (a file named
    *Chart.yaml), as Argo CD's discovery recognises them, and directories holding .jsonnet files."""
    kustomization_dirs: set[str] = set()
    chart_dirs: set[str] = set()
    jsonnet_dirs: set[str] = set()
    kustomization_names = set(KUSTOMIZATION_NAMES)
    for rel_dir, _, filenames in (listing or Listing(root)).walk(exclude, skip=(".wavegate_cache",)):
        if not kustomization_names.isdisjoint(filenames):
            kustomization_dirs.add(rel_dir)
        if any(n.endswith("Chart.yaml") for n in filenames):
            chart_dirs.add(rel_dir)
        if any(n.endswith(".jsonnet") for n in filenames):
            jsonnet_dirs.add(rel_dir)
    return kustomization_dirs, chart_dirs, jsonnet_dirs


def _local_dependencies(root: Path, chart_dir: str, by_name: bool = False):
    """Repository-relative directories of a chart's `file://` dependencies (Chart.yaml, or the
    requirements.yaml of apiVersion v1 charts): parts of that chart, not charts of their own.
    With by_name, a mapping from the dependency's name to its directories."""
    found: dict[str, list[str]] = {}
    for name in ("Chart.yaml", "requirements.yaml"):
        path = root / chart_dir / name if chart_dir else root / name
        if not path.is_file():
            continue
        documents, _ = read_yaml(path, rel=name)
        data = documents[0].data if documents else {}
        for dependency in data.get("dependencies") or []:
            repository = dependency.get("repository") if isinstance(dependency, dict) else None
            if isinstance(repository, str) and repository.startswith("file://"):
                directory = posixpath.normpath(posixpath.join(chart_dir, repository[len("file://"):]))
                for key in (dependency.get("name"), dependency.get("alias")):
                    if isinstance(key, str):
                        found.setdefault(key, []).append(directory)
    if by_name:
        return found
    return {d for directories in found.values() for d in directories}


def _remote_dependencies(root: Path, chart_dir: str) -> list[str]:
    """The dependencies of a chart that come from a chart repository or registry, as `name version
    from repository`."""
    path = root / chart_dir / "Chart.yaml" if chart_dir else root / "Chart.yaml"
    documents, _ = read_yaml(path, rel="Chart.yaml") if path.is_file() else ([], [])
    data = documents[0].data if documents else {}
    found = []
    for dependency in data.get("dependencies") or []:
        repository = dependency.get("repository") if isinstance(dependency, dict) else None
        if isinstance(repository, str) and repository and not repository.startswith("file://"):
            found.append(f"{dependency.get('name')} {dependency.get('version') or ''} from {repository}".replace("  ", " "))
    return found


def _best_match(documents: list[Manifest], data: dict) -> Manifest | None:
    """The document of an origin file that a rendered object came from: same kind, and the
    longest original name contained in the rendered one (prefixes, suffixes and hashes added)."""
    kind = data.get("kind")
    name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    candidates = [d for d in documents if d.kind == kind] or list(documents)
    if not candidates:
        return None
    if isinstance(name, str):
        named = [d for d in candidates if d.name and d.name in name]
        if named:
            return max(named, key=lambda d: len(d.name or ""))
    return candidates[0]


def _generator_position(documents: list[Manifest], data: dict, generator=None) -> tuple:
    """Where a generated object is declared: its configMapGenerator or secretGenerator entry, or
    for an object of a chart that helmCharts inflates, that chart's entry (the one whose release
    the object's labels name, else the only one)."""
    metadata = found if isinstance(found := data.get("metadata"), dict) else {}
    name = metadata.get("name") or ""
    if isinstance(generator, dict) and generator.get("kind") == "HelmChartInflationGenerator":
        labels = found if isinstance(found := metadata.get("labels"), dict) else {}
        for document in documents:
            charts = [(i, c) for i, c in enumerate(document.data.get("helmCharts") or []) if isinstance(c, dict)]
            for i, chart in charts:
                if len(charts) == 1 or labels.get("app.kubernetes.io/instance") in (chart.get("releaseName"),
                                                                                   chart.get("name")):
                    return document.positions.get(("helmCharts", i), (1, 1, 1, 1))
    for document in documents:
        for key in ("configMapGenerator", "secretGenerator"):
            entries = document.data.get(key)
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"] in str(name):
                    return document.positions.get((key, i), (1, 1, 1, 1))
    return (1, 1, 1, 1)


def _transformers(closure: kustomizations.Closure) -> Transformers:
    """The root kustomization's transformer fields, with their lines (the outermost one wins)."""
    root = closure.root
    found = Transformers(file=root.file)
    if root.manifest is None:
        return found
    for key in ("namePrefix", "nameSuffix", "namespace", "labels", "commonLabels", "commonAnnotations", "images",
                "replicas"):
        if key in root.manifest.data:
            line, column = root.manifest.position((key,))
            value_line, value_column = root.manifest.position((key,), key=False)
            found.lines[key] = (line, column, value_line, value_column, root.file)
    return found


def _kustomization_entry(closure: kustomizations.Closure, error: str) -> tuple[str, int] | None:
    """The line of a kustomization entry (a resource, component, patch path) that a kustomize
    error names: usually the line to edit. A generator that merges into (or replaces) an object
    nothing defines is named by the object's name, before the resources that lead to it."""
    if "cannot merge or replace" in error:
        for kustomization in closure.kustomizations.values():
            document = kustomization.manifest
            if document is None:
                continue
            for key in ("configMapGenerator", "secretGenerator"):
                entries = document.data.get(key)
                for i, entry in enumerate(entries if isinstance(entries, list) else []):
                    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and \
                            f'Name:"{entry["name"]}"' in error:
                        return kustomization.file, document.position((key, i, "name"), key=False)[0]
    # kustomize nests the error of a base in its overlay's ("accumulating resources from
    # '../../base': ... accumulating resources from 'service.yaml': ..."): the entry named last is
    # the innermost, in the kustomization to edit; the overlay's entry only leads there.
    named: list[tuple[int, bool, str, int]] = []  # (where the error names it last, with its path?, file, line)
    for kustomization in closure.kustomizations.values():
        document = kustomization.manifest
        if document is None:
            continue
        for key, place in (*((key, ()) for key in ("resources", "components", "bases", "crds", "patchesStrategicMerge")),
                           *((key, ("path",)) for key in ("patches", "patchesJson6902"))):
            entries = document.data.get(key)
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                text = entry.get("path") if place and isinstance(entry, dict) else entry if not place else None
                text = text.strip().rstrip("/") if isinstance(text, str) else ""
                at = error.rfind(text) if text else -1
                if at >= 0:  # (two kustomizations with the same entry: the one whose path the error names)
                    named.append((at, posixpath.normpath(posixpath.join(kustomization.directory, text)) in error,
                                  kustomization.file, document.position((key, i, *place), key=False)[0]))
    if not named:
        return None
    *_, file, line = max(named, key=lambda found: found[:2])
    return file, line


def _kustomize_hint(built: kustomize_source.Built) -> str:
    if "must specify --enable-helm" in built.error:
        return ("This kustomization inflates Helm charts (helmCharts), which kustomize does only with --enable-helm: "
                "Argo CD passes it when its argocd-cm sets kustomize.buildOptions (the operator's ArgoCD resource: "
                "spec.kustomizeBuildOptions). Name that file in .wavegate.yaml (argocd.configMap) to build as it does.")
    return f"Run `{built.command}` to see the whole error, and fix the file it names."


def _tool_error_location(error: str, root: Path) -> tuple[str | None, int]:
    """The repository file (and line) a kustomize error names, when it names one."""

    for match in re.finditer(r"([\w./-]+\.(?:ya?ml|json))(?::(\d+))?", error):
        candidate = match.group(1).lstrip("./")
        if (root / candidate).is_file():
            return candidate, int(match.group(2) or 1)
    return None, 0


def _helm_error_location(error: str, chart_dir: str) -> tuple[str | None, int]:
    """helm names a template as `<chart>/templates/x.yaml:12:3`."""

    match = re.search(r"([\w.-]+/(?:templates|charts)/[\w./-]+?\.\w+)(?::(\d+))?", error)
    if match:
        return chart_file(chart_dir, match.group(1)), int(match.group(2) or 1)
    return None, 0


def _jsonnet_error_line(error: str, rel: str) -> int:

    match = re.search(re.escape(rel.rsplit("/", 1)[-1]) + r":(\d+)", error)
    return int(match.group(1)) if match else 1


# A Go value printed with %v that holds pointers shows their addresses (kustomize: "merging from
# generator &{0x1f94d4b5c4e0 0x1f94d4390a80}: ..."), which change on every run: the message would
# differ between two runs of the same files, and so would its fingerprint in a code quality report.
_GO_POINTERS = lazy_compile(r" ?&\{0x[0-9a-f]+(?: 0x[0-9a-f]+)*\}| ?0x[0-9a-f]{10,}\b")
# (and so do the temporary folders kustomize runs helm in)
_TEMPORARY = lazy_compile(r"[^\s=']*/kustomize-helm-\d+")
# kustomize quotes a generator's whole configuration in backquotes, over many lines, before the
# reason ("... with config: `name: x\nrepo: ...\n`: must specify --enable-helm"): left out, the
# reason is within the lines shown.
_QUOTED_CONFIG = lazy_compile(r"`[^`]*\n[^`]*`")


def _first_lines(text: str, count: int = 3) -> str:
    """A tool's error as a finding says it: its first lines, without the addresses of Go pointers
    or a configuration it quotes."""
    text = _QUOTED_CONFIG.sub("`...`", _TEMPORARY.sub("kustomize-helm-...", _GO_POINTERS.sub("", text)))
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    shown = "; ".join(lines[:count])
    return shown + (" ..." if len(lines) > count else "")


def _with_application(finding: Finding, name: str) -> Finding:
    return replace(finding, application=name) if hasattr(finding, "application") else finding


def _with_message(finding: Finding, message: str) -> Finding:
    return replace(finding, message=message)
