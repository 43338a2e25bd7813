"""Validators: pure checks `check(repo, ctx) -> Iterable[Finding]`, one module per check family.

Every module in this package that defines `check` is run; the order of modules does not matter,
since findings are sorted for output. A check never prints, exits, or touches the network or a
cluster (DESIGN.md invariant 2).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from wavegate.argocd.application import Application
from wavegate.config import Config
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.record import field, record
from wavegate.render.model import Rendering, SyncSet
from wavegate.rules import declare

if TYPE_CHECKING:
    from wavegate.cache import ObjectResults
    from wavegate.policy.ahead import Ahead
    from wavegate.validators.kept import KeptChecks

Check = Callable[[Repo, "Context"], Iterable[Finding]]

INTERNAL_ERROR = declare(
    id="internal-error", family="wavegate", severity="error",
    title="A check failed unexpectedly",
    rationale="""A bug in wavegate stopped one of its checks, so part of the repository went unchecked.
    The finding says which check; please report it with the file that caused it.""")


@record
class Context:
    """What checks know besides the repository: configuration and what was derived from it.

    `rendering` holds the sync sets (wavegate.render): what each Application applies, rendered.
    Checks that relate objects to each other (waves, namespaces, CRDs before their instances,
    duplicates) compare objects of one sync set only (`sync_sets`); per-object checks read
    `repo.manifests`, which holds every rendered object once per sync set that applies it."""

    repo: Repo
    config: Config = field(default_factory=Config)
    repo_url: str | None = None
    schemas: object | None = None  # the schema store (wavegate.schemas), when one was built
    policies: object | None = None  # a wavegate.policy.PolicySet from --policies; else config, else built-in
    debug: bool = False
    engine: str = "builtin"  # the schema engine: "builtin" or "kubeconform" (wavegate.schemas.kubeconform)
    rendering: Rendering | None = None
    exception_review: object | None = None  # a wavegate.policy.review.Review, read before the checks
    results: ObjectResults | None = None  # per-object results kept between runs
    policy_verdicts: object | None = None  # a wavegate.policy.ahead.Verdicts: evaluated ahead of the checks
    policy_ahead: Ahead | None = None  # the worker of wavegate.policy.ahead still judging: settle() takes its verdicts
    kept_checks: KeptChecks | None = None  # the repository checks' findings kept between runs

    def settle(self) -> None:
        """Stop the policies' worker, which may judge on the other CPU until the checks need it
        (wavegate.policy.ahead), and keep its verdicts in `policy_verdicts`. The checks settle
        before they fork a worker of their own, and the policy check before it reads the verdicts."""
        ahead, self.policy_ahead = self.policy_ahead, None
        if ahead is not None:
            self.policy_verdicts = ahead.collect()

    @property
    def argocd_version(self) -> int:
        return self.config.argocd_version

    @cached_property
    def applications(self) -> list[Application]:
        if self.rendering is not None:
            return [s.app for s in self.rendering.sync_sets if s.app is not None]
        return Application.all_in(self.repo)

    @property
    def sync_sets(self) -> list[SyncSet]:
        """The sync sets whose objects Argo CD applies together (not the unsynced roots)."""
        return self.rendering.synced if self.rendering is not None else []

    @cached_property
    def _sync_set_index(self) -> dict[int, SyncSet]:
        if self.rendering is None:
            return {}
        return {id(m): s for s in self.rendering.sync_sets for m in (*s.objects, *s.untyped)}

    def sync_set_of(self, manifest: Manifest) -> SyncSet | None:
        """The sync set (an Application's, or a root's) that applies this rendered object."""
        return self._sync_set_index.get(id(manifest))

    def objects_of(self, app: Application) -> list[Manifest]:
        """What `app` applies: its sync set's rendered objects."""
        sets = [(s, s.app) for s in (self.rendering.sync_sets if self.rendering is not None else ())
                if s.app is not None]
        for sync_set, owner in sets:  # the same document (a generated Application shares its ApplicationSet's place)
            if owner.manifest is app.manifest:
                return sync_set.objects
        where = app.manifest.document_id
        for sync_set, owner in sets:  # a copy of it (an Application a directory source also reads)
            if owner.manifest.document_id == where:
                return sync_set.objects
        return []

    @cached_property
    def _sync_set_by_app(self) -> dict[int, SyncSet]:
        return self.rendering.by_app() if self.rendering is not None else {}

    def lineage(self, app: Application) -> list[SyncSet]:
        """The sync sets above `app`'s, nearest first (app-of-apps: the sync that created it, the
        one that created that one, ...); the last is a root's when a root read as if an Application
        pointed there created the chain."""
        found: list[SyncSet] = []
        own = self._sync_set_by_app.get(id(app.manifest))
        seen = {id(own)}
        parent = own.parent if own is not None else None
        while parent is not None and id(parent) not in seen:  # (a cycle of Applications that create each other)
            seen.add(id(parent))
            found.append(parent)
            parent = parent.parent
        return found

    def apps_of(self, manifest: Manifest) -> list[Application]:
        """The Application whose sync applies this rendered object (none for an unsynced one)."""
        app = getattr(manifest, "app", None)
        return [app] if app is not None else []


def per_object(ctx: Context, name: str, manifests: Iterable[Manifest],
               judge: Callable[[Manifest], Iterable[Finding]], *context,
               kept: Callable[[Manifest], None] | None = None) -> Iterable[Finding]:
    """The findings of `judge` for each manifest, for a check that judges each object alone. With
    the cache on (`ctx.results`), an object's findings are kept between runs under the check's
    `name` and `context` (what else decides them: the schema store's fingerprint, the Kubernetes
    version, ...; the configuration and wavegate's code always do), so an unchanged object is not
    judged again.

    A document that several Applications apply (one directory read by each Application an
    ApplicationSet generates for a cluster) is one rendered copy per Application, all sharing its
    data: it is judged once. So `judge` must not depend on which Application applies the object
    (`manifest.app`).

    `kept(manifest)`, when given, is called for each object whose findings come from the cache:
    what judging it does besides finding (a schema compiled, whose own problems the check then
    reports) must happen all the same, or a run with the cache would say less than one without."""
    stored = getattr(ctx, "results", None)
    results = stored.for_check(name, *context) if stored is not None else None
    judged = _judged_once(judge)
    if results is None:
        for manifest in manifests:
            yield from judged(manifest)
        return
    for manifest in manifests:
        key = results.key(manifest)
        found = results.get(key) if key is not None else None
        if found is None:
            found = judged(manifest)
            if key is not None:
                results.put(key, found)
        elif kept is not None:
            kept(manifest)
        yield from found
    results.save()


def _judged_once(judge: Callable[[Manifest], Iterable[Finding]]) -> Callable[[Manifest], list[Finding]]:
    """`judge`, answered once for the copies of one document (the same data, file and index)."""
    first: dict[int, tuple[Manifest, list[Finding]]] = {}  # id(data) -> the first copy judged, its findings

    def judged(manifest: Manifest) -> list[Finding]:
        known = first.get(id(manifest.data))
        if known is not None and manifest.is_copy_of(known[0]):
            return known[1]
        found = list(judge(manifest))
        first[id(manifest.data)] = (manifest, found)  # (the manifest held: the id of its data is not reused)
        return found

    return judged


def module_names() -> list[str]:
    """The modules and packages of this package, by name (what pkgutil.iter_modules lists, without
    the import of `inspect` it makes: 8 ms)."""
    names = set()
    for folder in __path__:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.endswith(".py") and name != "__init__.py" and name[:-3].isidentifier():
                names.add(name[:-3])
            elif name.isidentifier() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                names.add(name)
    return sorted(names)


def checks() -> list[tuple[str, Check]]:
    found = []
    for name in module_names():
        loaded = importlib.import_module(f"{__name__}.{name}")
        check = getattr(loaded, "check", None)
        if callable(check):
            found.append((name, check))
    return found


def run_checks(repo: Repo, ctx: Context) -> list[Finding]:
    """Every finding of every check for `repo`, plus the problems of loading and rendering, as
    raised: severities, `off` and duplicates are the pipeline's finish stage (wavegate.pipeline)."""
    raw: list[Finding] = list(repo.problems)
    kept = ctx.kept_checks
    reused = kept.reused() if kept is not None else {}
    every = checks()
    run = [(name, check) for name, check in every if name not in reused]
    found = dict(zip((name for name, _ in run), _run_checks(run, repo, ctx), strict=True))
    for name, _ in every:
        raw.extend(reused[name] if name in reused else found[name])
    if kept is not None and not reused:
        kept.keep(found)
    return raw


def _run_one(name: str, check: Check, repo: Repo, ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    try:
        found.extend(check(repo, ctx))
    except Exception as error:  # noqa: BLE001 - a bug must not hide the other checks' findings
        import traceback

        detail = traceback.format_exc() if ctx.debug else f"{type(error).__name__}: {error}"
        found.append(INTERNAL_ERROR.at_file(".", message=f"check {name!r} failed: {detail}",
                                            hint="Run with --debug and report this as a wavegate bug."))
    return found


# On a large repository the checks run in two processes: this one and one forked worker, each
# taking the next check not yet taken (the likely costliest first), so neither waits while the
# other has work; the findings and their order are the same. A check whose module declares
# `INDEPENDENT = False` (it shares state with other checks through the context) stays in this
# process. WAVEGATE_CHECK_WORKERS=1 (or a platform without fork) keeps everything in this process.
PARALLEL_MIN_MANIFESTS = 1000
# Most costly first (measured on 10,000 manifests); the others follow in their order.
_LIKELY_COST = ("policy", "schema", "catalog", "objects", "schema_kubernetes", "argocd_application", "argocd_waves")
# Checks one process runs one after the other: the policy check's defaulted custom resources are
# the schema check's results (Entry.validate keeps them), so it does not walk their schemas again.
_TOGETHER = (("schema", "policy"),)


def _groups(found: list[tuple[str, Check]], indexes: list[int]) -> list[list[int]]:
    """`indexes` (in order) as the groups a process takes whole: each _TOGETHER group, placed where
    its costliest member is, and every other check alone."""
    names = {found[i][0]: i for i in indexes}
    groups: list[list[int]] = []
    placed: set[int] = set()
    for i in indexes:
        if i in placed:
            continue
        together = next((g for g in _TOGETHER if found[i][0] in g and all(n in names for n in g)), None)
        group = [names[n] for n in together] if together else [i]
        placed.update(group)
        groups.append(group)
    return groups


def _run_checks(found: list[tuple[str, Check]], repo: Repo, ctx: Context) -> list[list[Finding]]:
    import os

    parallel = (len(found) > 1 and len(repo.manifests) >= PARALLEL_MIN_MANIFESTS and hasattr(os, "fork")
                and os.environ.get("WAVEGATE_CHECK_WORKERS", "").strip() != "1")
    if not parallel:
        return [_run_one(name, check, repo, ctx) for name, check in found]
    import marshal
    import sys

    from wavegate.cache import finding_from_plain, plain_finding
    from wavegate.forked import Child, Tickets

    try:  # what most checks share, computed once before the fork (an error here is each check's to report)
        _ = ctx.applications
        _ = ctx._sync_set_index
        repo.having()  # (the repository's indexes, for the checks that judge few objects)
        kept = getattr(ctx, "results", None)
        if kept is not None:
            kept.compute_keys(repo.manifests)
    except Exception:  # noqa: BLE001
        pass
    rank = {name: i for i, name in enumerate(_LIKELY_COST)}
    order = sorted(range(len(found)), key=lambda i: (rank.get(found[i][0], len(rank)), i))
    shared = [i for i in order
              if getattr(sys.modules.get(getattr(found[i][1], "__module__", "")), "INDEPENDENT", True) is not False]
    here = [i for i in order if i not in shared]
    groups = _groups(found, shared)
    results: list[list[Finding] | None] = [None] * len(found)

    def run_taken() -> list[tuple[int, list[Finding]]]:
        return [(i, _run_one(*found[i], repo, ctx)) for position in tickets for i in groups[position]]

    ctx.settle()  # (the policies' worker judged while the shared parts above were worked out; two are enough)
    try:
        tickets = Tickets(len(groups))
    except OSError:  # (no pipe to share them: everything runs here)
        return [_run_one(name, check, repo, ctx) for name, check in found]
    child = None
    try:
        child = Child.fork(lambda: marshal.dumps([(i, [plain_finding(f) for f in findings])
                                                  for i, findings in run_taken()]))
        for i in here:
            results[i] = _run_one(*found[i], repo, ctx)
        for i, findings in run_taken():
            results[i] = findings
        sent = child.result() if child is not None else None
        child = None
        try:
            for i, plain in marshal.loads(sent) if sent is not None else ():
                results[i] = [finding_from_plain(p) for p in plain]
        except (EOFError, ValueError, TypeError):  # (the worker died: what it took runs here)
            pass
    finally:
        tickets.close()
        if child is not None:
            child.stop()
    return [result if result is not None else _run_one(*found[i], repo, ctx) for i, result in enumerate(results)]
