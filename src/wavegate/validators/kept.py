"""The findings of the checks that relate objects, kept between runs of a replayable render.

`catalog`, `objects` and `argocd_application` compare every object of the repository with every
other, and `argocd_waves`, `argocd_sync_options` and `argocd_finalizers` every object of a sync,
so a change anywhere could change their findings, and they run in full on every run that is not a
whole hit. What they read of an object that is neither an Argo CD nor a Backstage document is
little: its type, its metadata (name, namespace, labels, annotations, finalizers), its pod
template's labels, and, of a CustomResourceDefinition, a ResourceGraphDefinition or a Namespace,
everything. Of the rest they read the render (which Application applies what) and the
configuration. (`argocd_health` and `argocd_ignore_differences` read objects' specs: not kept.)

So after a run whose render could be replayed (wavegate.render.replay: the same listing, and the
render of plain directories only), their findings are kept with each file's content hash and its
"projection": the hash of what they read of it. A later run with the same render key, in which
every changed file has the same projection, reuses those findings, unless one of them points into
a changed file or names it (its lines may have moved). Argo CD and Backstage documents, and any
file that is not one whole object without a problem, are projected to their whole content.
"""

from __future__ import annotations

import marshal
from typing import Any

from wavegate.cache import Cache, Key, blake2b, finding_from_plain, plain_finding
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.render.replay import by_file, carried, changed_files, shape

NAMESPACE = "repository-checks"
CHECKS = ("catalog", "objects", "argocd_application", "argocd_waves", "argocd_sync_options", "argocd_finalizers")
# Kinds whose every field one of the checks may read (scopes, namespaces created).
_READ_WHOLE = frozenset({"CustomResourceDefinition", "ResourceGraphDefinition", "Namespace"})
_POD_TEMPLATES = (("spec", "template", "metadata"), ("spec", "jobTemplate", "spec", "template", "metadata"))


class KeptChecks:
    """The kept findings of CHECKS for one render key and one set of inputs (configuration, schemas,
    policies: the per-object results' scope), for `loaded`, the repository as loaded this run."""

    def __init__(self, cache: Cache, render_key: str, scope: str, loaded: Repo):
        self.cache, self.loaded = cache, loaded
        self.key = Key(render_key, scope, CHECKS).hexdigest()
        self._record: Any = None  # (what reused() read)

    def reused(self) -> dict[str, list[Finding]]:
        """The kept findings of each check, when they still hold for this run; else nothing."""
        record = self._record = self.cache.get_value(NAMESPACE, self.key)
        try:
            files, digests, projections, findings = record
            changed = changed_files(files, digests, self.loaded.digests)
            if changed is None:
                return {}
            now = self._projections(set(changed))
            if any(now[rel] != projections[i] for rel, i in changed.items()):
                return {}
            found = {name: [finding_from_plain(p) for p in findings[name]] for name in CHECKS}
        except (TypeError, ValueError, KeyError, IndexError):
            return {}
        if changed and any(f.path in changed or any(rel in f.message or rel in f.hint for rel in changed)
                           for fs in found.values() for f in fs):
            return {}  # (a finding that points into a changed file, or names it: its lines may have moved)
        return found

    def keep(self, found: dict[str, list[Finding]]) -> None:
        """Keep the findings CHECKS gave this run (`found`: every check's), with each file's
        projection (worked out again only for the files whose content changed since the record
        this run read)."""
        if not all(name in found for name in CHECKS):
            return
        digests = self.loaded.digests
        files = list(digests)
        projections = carried(files, digests, self._record, self._projections)
        self.cache.put_value(NAMESPACE, self.key, (
            files, [digests[rel] for rel in files], [projections[rel] for rel in files],
            {name: [plain_finding(f) for f in found[name]] for name in CHECKS}))

    def _projections(self, only: set[str]) -> dict[str, str]:
        loaded = self.loaded
        documents, troubled = by_file(loaded, only)
        return {rel: projection(rel, documents.get(rel, []), loaded.digests[rel], troubled, loaded.skip_marked)
                for rel in only}


def projection(rel: str, documents: list[Manifest], digest: str, troubled: set[str],
               skip_marked: set[str] | None) -> str:
    """What CHECKS read of the file, as a hash: its content's hash unless it is the usual file."""
    if shape(rel, documents, troubled, skip_marked) is None or documents[0].kind in _READ_WHOLE:
        return digest
    document = documents[0]
    read = (document.api_version, document.kind, document.metadata, *(document.get(*path) for path in _POD_TEMPLATES))
    try:
        return blake2b(marshal.dumps(read, 2), digest_size=16).hexdigest()
    except ValueError:  # (a value marshal does not take: never from the loader)
        return digest
