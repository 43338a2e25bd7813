"""YAML documents that are not Kubernetes objects: fatal where Argo CD syncs them, harmless elsewhere."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.findings import Finding, Severity
from wavegate.load import Repo
from wavegate.record import replace
from wavegate.rules import declare
from wavegate.validators import Context

NOT_A_RESOURCE = declare(
    id="yaml-not-a-resource", family="yaml", severity="error",
    title="A document has no apiVersion, kind or metadata.name",
    rationale="""Argo CD applies every object it renders; one without apiVersion or metadata.name is refused and
    fails the sync (one without kind cannot even be decoded: the render fails, or, in a file that
    does not look like a manifest at all, Argo CD skips the file). Outside the synced folders such a
    document is harmless and reported only as information. Move non-manifest YAML out of synced
    folders, or exclude it in .wavegate.yaml.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    for document in repo.untyped:
        sync_set = ctx.sync_set_of(document)
        synced = sync_set is None or sync_set.synced
        absent = [key for key in document.missing if _value(document, key) in (None, "")]
        wrong = [key for key in document.missing if key not in absent]
        what = []
        if absent:
            what.append(f"has no {', '.join(absent)}")
        what += [f"has {key} {_value(document, key)!r}, a {_type(_value(document, key))}, where Kubernetes needs a string"
                 for key in wrong]
        where = tuple(wrong[0].split(".")) if wrong else ()
        hint = (f'Write {wrong[0]} as a string: {wrong[0].rpartition(".")[2]}: "{_value(document, wrong[0])}".'
                if wrong and isinstance(_value(document, wrong[0]), (int, float, bool))
                else "Give it apiVersion, kind and metadata.name, or move it out of the synced folders.")
        finding = NOT_A_RESOURCE.at(
            document, where, f"document {document.doc_index + 1} {' and '.join(what)}"
            + ("" if synced else "; no Application syncs this file, so it is not checked further"),
            hint=hint, key=False)
        finding = replace(finding, resource=None)  # it has no Kubernetes identity
        yield finding if synced else finding.with_severity(Severity.INFO)


def _value(document, key: str):
    return document.get(*key.split("."))


def _type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "string" if isinstance(value, str) else type(value).__name__
