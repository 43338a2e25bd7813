"""The last render, replayed when only plain manifests changed since.

A render of plain directory sources (no tool, no jsonnet, no ApplicationSet, no file a tool reads)
depends on the repository's folders and file names, on the Applications' documents, and, of every
other file, only on what Argo CD's directory reader decides from it: how many documents it holds,
whether it parses, and each document's apiVersion and kind. Editing a Deployment's replicas leaves
all of those as they were, and the render would place the new object exactly where the old one
was. So such a render is kept (in the cache, by the code, the render's options and the listing of
every folder), with each file's content hash and its "shape" (what the reader decides from it).
The next render with the same listing, where every file whose content changed kept its shape, is
the kept one with this run's objects put in place: no folder is walked and no file judged again.

A file has a shape only when it is the usual one: one whole Kubernetes object that parsed without a
problem, not a list, not marked to be skipped, and neither an Argo CD nor a Backstage document
(the render reads those beyond their kind). Any other file must keep its content for a replay.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wavegate.argocd.application import Application
from wavegate.cache import blake2b, code_identity, finding_from_plain, plain_finding  # (blake2b: no OpenSSL)
from wavegate.kube import is_backstage_entity
from wavegate.load import Manifest, Repo
from wavegate.render.model import DIRECTORY, RenderedSource, Rendering, SyncSet, owned

if TYPE_CHECKING:
    from wavegate.render.stage import RenderOptions

NAMESPACE = "render"
_FORMAT = 2  # (a record of another layout is not read)

Shape = tuple[str, str] | None


def frame(repo: Repo, options: RenderOptions) -> str | None:
    """What a kept render must have been made from, as a key: wavegate's code, the render's options
    and every folder's listing. None when no render can be kept for `repo`: no cache, or files
    loaded without their content hashes."""
    if not options.cache.enabled or not repo.digests or repo.listing is None:
        return None
    listed = repo.listing.listed()
    if listed is None:
        return None
    limits = options.limits
    settings = (_FORMAT, str(repo.root), options.repo_url, options.kube_version, list(options.api_versions),
                options.kustomize_build_options, options.revision, list(options.exclude),
                [limits.max_file_bytes, limits.max_expanded_nodes], code_identity())
    hashed = blake2b(marshal.dumps(settings), digest_size=16)
    hashed.update(marshal.dumps(sorted(listed.items())))  # (the walk lists folders in no set order)
    return hashed.hexdigest()


def record(options: RenderOptions, key: str) -> Any:
    """What is kept under `key` (None when nothing is), for replayed() and keep()."""
    return options.cache.get_value(NAMESPACE, key)


def replayed(repo: Repo, kept: Any) -> Rendering | None:
    """The render `kept` (record()) holds, with this run's objects, when every file whose content
    changed since kept its shape; else None (the caller renders)."""
    try:
        files, digests, shapes, counts, sets, problems = kept
        if tuple(counts) != (len(repo.manifests), len(repo.untyped)):
            return None
        changed = changed_files(files, digests, repo.digests)
    except (TypeError, ValueError):
        return None
    if changed is None:
        return None
    if changed:
        documents, troubled = by_file(repo, set(changed))
        if any(shapes[i] is None or shape(rel, documents.get(rel, []), troubled, repo.skip_marked) != tuple(shapes[i])
               for rel, i in changed.items()):
            return None
    try:
        return _rebuilt(repo, sets, problems)
    except (IndexError, TypeError, ValueError):
        return None


def keep(repo: Repo, options: RenderOptions, key: str, rendering: Rendering, before: Any = None) -> bool:
    """Keep `rendering` under `key` for the next run, when it can be replayed: every object is one
    the loader made (or the render's copy of one for an Application). Whether it was kept.
    `before`: what record() read under `key` (the unchanged files' shapes are taken from it).

    Objects are kept as their indexes in the loaded repository's manifests (or untyped documents):
    with the same listing, and every changed file one whole object as before, the loader lists the
    same documents in the same order."""
    manifests, untyped = repo.manifests, repo.untyped
    # (a document and the render's copies of it share its data)
    typed_at = {id(m.data): i for i, m in enumerate(manifests)}
    untyped_at = {id(m.data): i for i, m in enumerate(untyped)}
    copies = {id(m): (s, o) for s, sync_set in enumerate(rendering.sync_sets) for o, m in enumerate(sync_set.objects)}
    set_index = {id(sync_set): s for s, sync_set in enumerate(rendering.sync_sets)}

    def at(manifest: Manifest, app, where: dict, loaded: list[Manifest]) -> int:
        i = where[id(manifest.data)]
        original = loaded[i]
        if manifest is not original and (app is None or manifest.app is not app
                                          or manifest.document_id != original.document_id):
            raise LookupError(manifest.document_id)
        return i

    sets = []
    try:
        for sync_set in rendering.sync_sets:
            app = sync_set.app
            if sync_set.appset is not None or any(s.type != DIRECTORY or not s.rendered or not s.here
                                                  for s in sync_set.sources):
                return False
            app_ref: tuple | None = None  # (0, index) of a loaded Application, (1, set, object) of a copy in a sync
            if app is not None:
                i = typed_at.get(id(app.manifest.data))
                app_ref = (0, i) if i is not None and manifests[i] is app.manifest else (1, *copies[id(app.manifest)])
            sets.append((
                sync_set.name, app_ref,
                [at(m, app, typed_at, manifests) for m in sync_set.objects],
                [at(m, app, untyped_at, untyped) for m in sync_set.untyped],
                [(s.type, s.path, s.command, s.rendered, s.here) for s in sync_set.sources],
                sync_set.synced, [plain_finding(f) for f in sync_set.problems],
                set_index[id(sync_set.parent)] if sync_set.parent is not None else None))
    except (LookupError, TypeError):
        return False
    files = list(repo.digests)

    def shapes_of(rels: set[str]) -> dict[str, Shape]:
        documents, troubled = by_file(repo, rels)
        return {rel: shape(rel, documents.get(rel, []), troubled, repo.skip_marked) for rel in rels}

    shapes = carried(files, repo.digests, before, shapes_of)
    options.cache.put_value(NAMESPACE, key, (files, [repo.digests[rel] for rel in files], [shapes[rel] for rel in files],
                                             (len(manifests), len(untyped)), sets,
                                             [plain_finding(f) for f in rendering.problems]))
    return True


def shape(rel: str, documents: list[Manifest], troubled: set[str], skip_marked: set[str] | None) -> Shape:
    """What the render decides from the file (its apiVersion and kind), when it is the usual file;
    None when the render reads more of it."""
    if len(documents) != 1 or rel in troubled or skip_marked is None or rel in skip_marked or rel.endswith(".json"):
        return None
    document = documents[0]
    if document.doc_index != 0 or document.item is not None or document.missing or document.kind.endswith("List"):
        return None
    if document.group.endswith("argoproj.io") or is_backstage_entity(document):
        return None
    return (document.api_version, document.kind)


# Records kept per file by content hash (this module's, and wavegate.validators.kept's): a record
# is (files, their content hashes, a value per file, ...), in the order of `Repo.digests`.

def changed_files(files: list[str], kept_digests: list[str], digests: dict[str, str]) -> dict[str, int] | None:
    """The files whose content changed since a record (each with its index there); None when the
    record is of another set of files."""
    if len(files) != len(digests):
        return None
    changed = {rel: i for i, (rel, digest) in enumerate(zip(files, kept_digests, strict=True))
               if digests.get(rel) != digest}
    return None if any(rel not in digests for rel in changed) else changed


def carried(files: list[str], digests: dict[str, str], before: Any,
            work_out: Callable[[set[str]], dict[str, Any]]) -> dict[str, Any]:
    """Each file's value: as the record `before` has it, for a file whose content did not change
    since; `work_out(files)` for the others."""
    try:
        known = {rel: (digest, value) for rel, digest, value in zip(*before[:3], strict=True)}
    except (TypeError, ValueError):
        known = {}
    values = {rel: was[1] for rel in files if (was := known.get(rel)) is not None and was[0] == digests[rel]}
    if len(values) < len(files):
        values.update(work_out({rel for rel in files if rel not in values}))
    return values


def by_file(repo: Repo, only: set[str]) -> tuple[dict[str, list[Manifest]], set[str]]:
    """The documents of the files in `only`, by file, and the files with a loading problem: what
    shape() is judged from."""
    documents: dict[str, list[Manifest]] = {}
    for manifest in (*repo.manifests, *repo.untyped):
        if manifest.path in only:
            documents.setdefault(manifest.path, []).append(manifest)
    return documents, {problem.path for problem in repo.problems}


def _rebuilt(repo: Repo, sets: list, problems: list) -> Rendering:
    manifests, untyped_documents = repo.manifests, repo.untyped
    rendering = Rendering()
    for name, app_ref, objects, untyped, sources, synced, set_problems, _ in sets:
        if app_ref is None:
            app = None
        elif app_ref[0] == 0:
            app = Application(manifests[app_ref[1]])
        else:
            app = Application(rendering.sync_sets[app_ref[1]].objects[app_ref[2]])
        rendering.sync_sets.append(SyncSet(
            name=name, app=app, objects=[owned(manifests[i], app) for i in objects],
            untyped=[owned(untyped_documents[i], app) for i in untyped],
            sources=[RenderedSource(*source) for source in sources], synced=synced,
            problems=[finding_from_plain(p) for p in set_problems]))
    for sync_set, (*_, parent) in zip(rendering.sync_sets, sets, strict=True):
        if parent is not None:
            sync_set.parent = rendering.sync_sets[parent]
    rendering.problems = [finding_from_plain(p) for p in problems]
    return rendering
