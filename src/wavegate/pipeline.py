"""The one pipeline every checking command runs: prepare -> render -> check -> finish.

    run = pipeline.prepare(Options(root=Path(".")))   # configuration, selection, the loaded files
    pipeline.render(run)                                # sync sets, the checked repository, context
    findings = pipeline.finish(run, pipeline.check(run))

`validate`, `dry-run`, `promote` (its gates validate both environments) and the tests all come
through here, so a rule turned off or re-graded in .wavegate.yaml, an exception, and the removal
of duplicate findings mean the same in every command.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.cache import Cache, ObjectResults, ProgramStore, RunStore, keep_derived, plain_finding, tree_state
from wavegate.errors import ConfigError, UsageError
from wavegate.findings import Finding
from wavegate.record import field, record, replace

if TYPE_CHECKING:  # imported where used: a run answered from the cache needs neither the loader nor YAML
    from wavegate.config import Config
    from wavegate.load import Manifest, Repo
    from wavegate.render.model import Rendering
    from wavegate.select import Selection
    from wavegate.validators import Context


@record
class Options:
    """What the checking commands accept (their shared command-line options)."""

    root: Path
    config_file: Path | None = None
    schemas: tuple[str, ...] = ()
    kubernetes_version: str | None = None
    engine: str = "builtin"
    policies: Path | None = None
    changed_since: str | None = None
    shard: str | None = None
    repo_url: str | None = None  # this repository's URL when the caller knows better than discovery
    debug: bool = False
    cache_dir: Path | None = None  # default: WAVEGATE_CACHE_DIR, else .wavegate_cache in the repository
    cache: bool = True
    progress: Callable[[str], None] | None = None  # lines for a person at a terminal (wavegate.progress)


@record
class Run:
    """One run of the pipeline, filled stage by stage."""

    options: Options
    config: Config  # (None for a run answered from the cache)
    loaded: Repo  # every YAML file as the loader read it (a KeptRepository for a run answered from the cache)
    selection: Selection | None = None  # with --changed-since / --shard
    rendering: Rendering | None = None
    repo: Repo | None = None  # what the checks look at: the rendered objects of every sync set
    ctx: Context | None = None
    findings: list[Finding] = field(default_factory=list)
    cached_resources: int | None = None  # a run answered from the cache: how many objects it checked

    @property
    def resources(self) -> int:
        """How many objects the checks looked at."""
        if self.repo is not None:
            return len(self.repo.manifests)
        return self.cached_resources or 0

    @resources.setter
    def resources(self, count: int) -> None:
        self.cached_resources = count


def _check_root(root: Path) -> None:
    if not root.exists():
        raise UsageError(f"{root}: no such directory")
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory; give the repository's root")


def prepare(options: Options, tree=None, checks_follow: bool = False) -> Run:
    """Read the configuration and the repository's files (or the selected ones). `tree`: what
    wavegate.cache.tree_state found in the repository just before, when it was looked at.
    `checks_follow`: the render and every check come next (`validate`), so what they need whatever
    the repository holds is prepared while the loader's workers parse (_warm_up)."""
    root = options.root
    _check_root(root)
    if options.engine == "kubeconform":
        from wavegate.schemas.kubeconform import KubeconformMissing, require_binary

        try:
            require_binary()  # a missing binary is a setup error (exit 2), not a finding
        except KubeconformMissing as error:
            raise UsageError(str(error)) from None
    from wavegate.config import load_config
    from wavegate.load import load

    config = load_config(root, options.config_file)
    selection = None
    if options.changed_since or options.shard:
        from wavegate.select import SelectError, plan

        shared = [*config.schemas, *([config.policies] if config.policies else []),
                  *([str(config.path)] if config.path else [])]
        try:
            selection = plan(root, exclude=config.exclude, limits=config.limits, changed_since=options.changed_since,
                             shard_spec=options.shard, shared_paths=shared)
        except SelectError as error:
            raise UsageError(str(error)) from None
    cache = Cache.for_repository(root, options.cache_dir, enabled=options.cache)
    _say_once_without_native_loader(cache)
    keep_derived(cache if cache.enabled else None)  # (kro's CRDs, the policies' combined expressions, ...)
    # What was loaded lives as long as the command: the cyclic collector need not scan its millions
    # of objects again and again while rendering and checking (render freezes again what it adds).
    loaded = load(root, exclude=config.exclude, limits=config.limits, only=selection.files if selection else None,
                  cache=cache, tree=tree, lives_long=True,
                  meanwhile=(lambda: _warm_up(options, config, cache)) if checks_follow else None)
    _keep_programs(cache)  # (unless the warm-up did: nothing compiles CEL before the render)
    return Run(options=options, config=config, loaded=loaded, selection=selection)


def _keep_programs(cache: Cache) -> None:
    """Long CEL programs compiled from now on are kept in the cache, and read back rather than
    compiled again (wavegate.cel.keep_programs). Importing the CEL runtime takes a cold run 7 ms,
    which the warm-up spends while the files are parsed."""
    from wavegate import cel

    cel.keep_programs(ProgramStore(cache) if cache.enabled else None)


def _warm_up(options: Options, config: Config, cache: Cache) -> Iterator[None]:
    """What the render and the checks need whatever the repository holds, one step at a time, for
    the loader to take while its workers parse the files (load's `meanwhile`) rather than after:
    their modules, Kubernetes' schemas of the version checked, the policies' compiled programs.
    Each is kept where the later stages look for it (the modules, schemas_for, the policy set's
    plans), so nothing is done twice; an error here is met again, and reported, where it was."""
    import importlib

    _keep_programs(cache)  # (before a program is compiled below)
    yield
    for module in ("wavegate.render.stage", "wavegate.schemas.store", "wavegate.policy.ahead",
                   "wavegate.validators.policy"):
        importlib.import_module(module)
        yield
    from wavegate.validators import checks

    checks()  # (imports every check)
    yield
    from wavegate.schemas import kubernetes as kubernetes_schemas

    kubernetes_schemas.schemas_for(kubernetes_schemas.resolve_version(options.kubernetes_version
                                                                       or config.kubernetes_version))
    yield
    from wavegate.policy.evaluate import prepare as prepare_policy
    from wavegate.policy.model import load_policies

    policies = load_policies(options.policies or config.policies)
    for policy in policies.policies.values():
        yield
        prepare_policy(policies, policy)


def _say_once_without_native_loader(cache: Cache) -> None:
    """One line on stderr, the first time a cache sees it: wavegate was installed without its
    native loader (setup.py could not build it), so large repositories load slower."""
    from wavegate import load_native

    if not load_native.BUILT and cache.once("native-loader-missing"):
        import sys

        print("wavegate: reading YAML with the Python loader: the native one was not built when wavegate was "
              "installed (it needs a C compiler and libyaml's headers, e.g. apt-get install gcc python3-dev "
              "libyaml-dev, then install wavegate again). Findings are the same; large repositories load "
              "slower. (Said once.)", file=sys.stderr)


def render(run: Run, checks_follow: bool = False) -> Run:
    """Render every Application (wavegate.render), then build what the checks read: the checked
    repository, the schema store and the context. `checks_follow`: check(run) comes next, and the
    policies' worker started here judges until the checks settle it (Context.settle)."""
    from wavegate.schemas import kubernetes as kubernetes_schemas

    options, config = run.options, run.config
    from wavegate.config import repository_url

    cache = Cache.for_repository(options.root, options.cache_dir, enabled=options.cache)
    repo_url = options.repo_url or repository_url(config, options.root, run.loaded)
    try:
        kube_version = kubernetes_schemas.resolve_version(options.kubernetes_version or config.kubernetes_version)
    except kubernetes_schemas.VersionError as error:
        raise ConfigError(str(error)) from None
    from wavegate.policy import ahead as policy_ahead
    from wavegate.tools import ToolNotFoundError

    # The policies' verdicts on the documents just parsed, worked out on the other CPU meanwhile.
    ahead = policy_ahead.start(run.loaded, options.policies or config.policies, kube_version)
    try:
        run = _render(run, cache, repo_url, kube_version)
    except BaseException as error:
        if ahead is not None:
            ahead.collect()  # (stopped: nothing will be checked)
        if isinstance(error, ToolNotFoundError):
            raise UsageError(f"cannot render this repository as Argo CD does: {error}") from None
        raise
    assert run.ctx is not None, "_render builds the context"
    run.ctx.policy_ahead = ahead
    if not checks_follow:
        run.ctx.settle()
    return run


def _render(run: Run, cache: Cache, repo_url: str | None, kube_version: str) -> Run:
    from wavegate.render.stage import RenderOptions
    from wavegate.render.stage import render as render_repository
    from wavegate.schemas.store import SchemaStore
    from wavegate.validators import Context

    options, config = run.options, run.config
    # What the render makes lives as long as the command, and it makes no garbage the collector
    # would have to find (no reference cycles): a collection while it renders only scans what it
    # made so far (one, 25-30 ms, on 10,000 manifests). As the loader does, the collector waits.
    enabled = gc.isenabled()
    gc.disable()
    try:
        rendering = render_repository(run.loaded, RenderOptions(
            repo_url=repo_url, kube_version=kube_version, exclude=config.exclude, limits=config.limits,
            kustomize_build_options=_kustomize_build_options(config, options.root),
            revision=_revision(options.root), progress=options.progress, cache=cache,
            clusters=lambda: _known_clusters(run.loaded, config)))
        run.rendering = rendering
        run.repo = checked_repo(run.loaded, rendering)
        # The repository lives as long as the command: the cyclic collector need not scan its objects
        # on every later collection, and forked workers do not touch (copy) their pages.
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    ctx = Context(repo=run.repo, config=config, repo_url=repo_url, debug=options.debug, engine=options.engine,
                  rendering=rendering)
    ctx.schemas = SchemaStore.build(run.repo, config, extra_paths=[Path(p) for p in options.schemas],
                                    kubernetes_version=options.kubernetes_version,
                                    complete=run.selection is not None)
    if options.policies is not None:
        from wavegate.policy import load_policies

        try:
            ctx.policies = load_policies(options.policies)
        except (FileNotFoundError, NotADirectoryError) as error:
            raise UsageError(str(error)) from None
    from wavegate.policy.review import review_exceptions

    ctx.exception_review = review_exceptions(ctx)  # what GitLab and git say, read before the pure checks
    if cache.enabled and run.loaded.digests:
        from wavegate.load import as_written

        ctx.results = ObjectResults(cache, _inputs_scope(options, config, kube_version), run.loaded.digests,
                                    as_written)
        if rendering.kept_as is not None:  # (a render of plain directories: the repository checks can be kept too)
            from wavegate.validators.kept import KeptChecks

            ctx.kept_checks = KeptChecks(cache, rendering.kept_as, ctx.results.scope, run.loaded)
    run.ctx = ctx
    return run


def _inputs_scope(options: Options, config: Config, kube_version: str) -> str:
    """What decides the per-object check results besides the objects: the configuration file, the
    schemas and policies given, the Kubernetes version, the schema engine, the libraries' versions
    (and, through the cache's keys, wavegate's code)."""
    from wavegate.cache import Key, paths_digest, runtime_identity

    return Key(runtime_identity(), kube_version, options.engine, options.repo_url,
               paths_digest([p for p in (config.path, options.policies, config.policies) if p]),
               paths_digest([*options.schemas, *config.schemas])).hexdigest()


def checked_repo(loaded: Repo, rendering) -> Repo:
    """The repository the checks read: every sync set's objects (rendered, with provenance), the
    documents Argo CD would fail to apply, and the problems of loading and rendering that concern
    what Argo CD reads."""
    from wavegate.load import Repo

    return Repo(root=loaded.root, manifests=rendering.objects(), files=list(loaded.files),
                problems=list(rendering.problems), untyped=rendering.untyped(), listing=loaded.listing)


def check(run: Run) -> list[Finding]:
    from wavegate import cel
    from wavegate.validators import run_checks

    assert run.repo is not None and run.ctx is not None, "check() runs after render()"
    try:
        return run_checks(run.repo, run.ctx) + skeleton_findings(run)
    finally:
        run.ctx.settle()  # (the checks did, unless one failed first)
        cel.keep_programs(None)  # (prepare set this run's cache; nothing after the checks writes to it)
        keep_derived(None)


def skeleton_findings(run: Run) -> list[Finding]:
    """Each Backstage skeleton of the repository rendered with its template's defaults and validated
    as the repository it becomes (this pipeline, on a temporary folder), with findings moved to the
    skeleton's lines; lines that use a value only Backstage knows are not judged, and each such
    value is reported once (wavegate.render.backstage)."""
    from wavegate.render import backstage
    from wavegate.render.rules import NOT_RENDERED, VALUE_UNKNOWN

    found: list[Finding] = []
    skeletons = backstage.skeletons(run.loaded)
    if not skeletons:
        return found
    import tempfile

    for skeleton in skeletons:
        with tempfile.TemporaryDirectory(prefix="wavegate-skeleton-") as folder:
            rendered = backstage.render(run.options.root, skeleton, Path(folder))
            sub = validate(replace(run.options, root=Path(folder), config_file=None, repo_url=None,
                                   changed_since=None, shard=None, cache=False))
        for finding in sub.findings:
            path = rendered.names.get(finding.path)
            if path is None or (path, finding.line) in rendered.unknown_lines:
                continue
            found.append(replace(finding, path=path))
        for used, (file, line) in sorted(rendered.first_use.items(), key=lambda item: item[1]):
            why = skeleton.unknown.get(used) or "not known before the template runs"
            found.append(VALUE_UNKNOWN.at_file(
                file, line, message=f"{used} is {why}; wavegate rendered it as '{backstage.PLACEHOLDER_VALUE}' "
                f"and does not judge the lines of {skeleton.directory} that use it",
                hint="Give the parameter a default or examples in the Template to have them checked too."))
        for file, line, what in rendered.errors:
            found.append(NOT_RENDERED.at_file(file, line, message=f"not rendered: {what}",
                                              hint="wavegate renders ${{ }} placeholders with the filters "
                                                   "skeletons use (dump, default, lower, upper, trim, replace)."))
    return found


def finish(run: Run, findings: Iterable[Finding], files: list[str] | None = None) -> list[Finding]:
    """Configured severities and `off`, one finding per (rule, place, message), then the
    selection (--changed-since, --shard) and --files."""
    from wavegate.rules import REGISTRY

    config = run.config
    rule_of = REGISTRY.get
    kept: list[Finding] = []
    seen: set[tuple] = set()
    for finding in findings:
        # A repository must not be able to switch off the policies it is held to: findings of rules
        # that are not configurable keep their severity (a policy's comes from its binding).
        rule = rule_of(finding.rule)
        severity = (finding.severity if rule is not None and not rule.configurable
                    else config.severity_for(finding.rule, finding.severity))
        if severity is None:
            continue
        if severity != finding.severity:
            finding = finding.with_severity(severity)
        key = (finding.rule, finding.path, finding.line, finding.column, finding.message)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    if run.selection is not None:
        kept = run.selection.filter(kept)
    if files is not None:
        wanted = wanted_files(run.options.root, files)
        kept = [f for f in kept if f.path in wanted]
    run.findings = kept
    return kept


def validate(options: Options, files: list[str] | None = None) -> Run:
    """The whole pipeline, as `wavegate validate` runs it; the findings are in `run.findings`.

    With the cache on, a run whose inputs are exactly those of the last one (every file of the
    repository, the options, wavegate, the libraries, the tools) is answered from it (RunStore)."""
    _check_root(options.root)  # (before the cache looks at the tree: its errors are the user's)
    runs = _run_store(options)
    state = key = None
    if runs is not None:
        state = tree_state(options.root.resolve(), runs.stats, skip=runs.cache.directory, last=runs.last_tree)
        if state is not None:
            key = _run_key(options, files, state.content)
            kept = runs.get(key)
            if kept is not None:
                runs.update_stats(state)
                return _kept_run(options, kept)
    run = render(prepare(options, state, checks_follow=True), checks_follow=True)
    finish(run, check(run), files)
    if runs is not None and state is not None and key is not None and _repeatable(run):
        runs.put(key, state, {"findings": [plain_finding(f) for f in run.findings], "files": run.loaded.files,
                                    "resources": run.resources},
                 externals=_external_inputs(run), tools=_tools_used(run))
    return run


def _run_store(options: Options) -> RunStore | None:
    if options.changed_since or options.shard:  # what they select depends on git, not only on the files
        return None
    cache = Cache.for_repository(options.root, options.cache_dir, enabled=options.cache)
    return RunStore(cache, options.root.resolve()) if cache.enabled else None


def _run_key(options: Options, files: list[str] | None, tree: str) -> str:
    """Everything a run's findings depend on besides files outside the repository and tools (which
    RunStore checks itself): the repository's files, the options, the git revision and remote the
    render and the repository's URL read, and the installed packages (with wavegate's code, which
    every Key holds)."""
    import os

    from wavegate.cache import Key, installed_packages, read_regular

    root = options.root.resolve()
    git_config = read_regular(os.path.join(root, ".git", "config")) or b""
    return Key("run", tree, installed_packages(), str(root), str(options.config_file), list(options.schemas),
               options.kubernetes_version, options.engine, str(options.policies), options.repo_url,
               sorted(files) if files is not None else None, _revision(options.root),
               os.environ.get("CI_PROJECT_URL", ""), git_config).hexdigest()


@record
class KeptRepository:
    """What a run answered from the cache (RunStore) knows of the files it read."""

    root: Path
    files: list[str]


def _kept_run(options: Options, kept: dict) -> Run:
    from wavegate.cache import finding_from_plain

    # A run answered from the cache has no configuration and knows only the files it read; nothing
    # after finish() asks it for more.
    run = Run(options=options, config=None,  # type: ignore[arg-type]
              loaded=KeptRepository(options.root.resolve(), list(kept["files"])))  # type: ignore[arg-type]
    run.findings = [finding_from_plain(f) for f in kept["findings"]]
    run.resources = kept["resources"]
    return run


def _repeatable(run: Run) -> bool:
    """Whether the same inputs give the same findings: not when GitLab was asked (exceptions and
    their approvals, which change by themselves) or a source could not be rendered here."""
    if run.config.raw.get("exceptions") or run.rendering is None:
        return False
    return all(source.rendered and source.here for sync_set in run.rendering.sync_sets for source in sync_set.sources)


def _external_inputs(run: Run) -> list[str]:
    """Files read from outside the repository: the configuration and what it and the options name."""
    options, config = run.options, run.config
    return [str(p) for p in (config.path, options.policies, config.policies, *options.schemas, *config.schemas) if p]


def _tools_used(run: Run) -> list[str]:
    from wavegate.argocd.appset import TOOL as APPSET_TOOL
    from wavegate.render.model import HELM, KUSTOMIZE

    if run.rendering is None:
        return []
    used = {source.type for sync_set in run.rendering.sync_sets for source in sync_set.sources}
    appsets = any(sync_set.appset is not None for sync_set in run.rendering.sync_sets)
    return [*(["kustomize", "kustomize-batch"] if KUSTOMIZE in used else []), *(["helm"] if HELM in used else []),
            *([APPSET_TOOL] if appsets else [])]


def objects_of(run: Run) -> list[Manifest]:
    return run.repo.manifests if run.repo is not None else []


def wanted_files(root: Path, files: list[str]) -> set[str]:
    """--files as repository-relative paths; a file that does not exist or lies outside the
    repository is a usage error (its findings could never be reported)."""
    import os

    wanted = set()
    for file in files:
        path = Path(file)
        if not os.path.lexists(path):
            raise UsageError(f"--files {file}: no such file")
        try:  # the link itself, not what it points to, is the file whose findings are wanted
            wanted.add((path.parent.resolve() / path.name).relative_to(root.resolve()).as_posix())
        except ValueError:
            raise UsageError(f"--files {file}: not inside the repository {root}") from None
    return wanted


def _known_clusters(loaded: Repo, config: Config) -> list[dict]:
    from wavegate.argocd.appset import known_clusters

    return known_clusters(loaded, list(config.clusters))


def _revision(root: Path) -> str:
    """The commit Argo CD would render (ARGOCD_APP_REVISION), or HEAD outside a git checkout."""
    from wavegate.cache import read_regular

    def text_of(path: Path) -> str | None:  # (never a blocking read: .git may hold anything)
        raw = read_regular(str(path))
        return raw.decode("utf-8", "replace").strip() if raw is not None else None

    git_dir = root / ".git"
    pointer = text_of(git_dir) if os.path.isfile(git_dir) else None  # a linked worktree (diff --base): `gitdir: PATH`
    if pointer and pointer.startswith("gitdir: "):
        git_dir = Path(pointer[len("gitdir: "):])
    text = text_of(git_dir / "HEAD")
    if text and text.startswith("ref: "):
        text = text_of(git_dir / text[5:])
    return text or "HEAD"


def _kustomize_build_options(config: Config, root: Path) -> str:
    """argocd-cm `kustomize.buildOptions`, when .wavegate.yaml names the argocd-cm (argocd.configMap)."""
    from wavegate.argocd.settings import argocd_cm

    data = argocd_cm(config, root)
    value = data.get("kustomize.buildOptions") if data else None
    return value if isinstance(value, str) else ""
