"""What Argo CD compares of an object: the rendered object without what the Application's
`ignoreDifferences` ignores (jsonPointers, jqPathExpressions; matched by the validator's own
`entry_matches`) and without `status` where `ignoreResourceStatusField` says so. And how a
Secret's values are hidden: a reader sees that a value changed, never the value."""

from __future__ import annotations

import copy

from wavegate.argocd.application import Application
from wavegate.argocd.jq import JqUnavailable, delete_paths
from wavegate.kube import is_crd
from wavegate.load import Manifest, Repo
from wavegate.validators.argocd_ignore_differences import _status_setting, entry_matches, pointer_problem

SECRET_FIELDS = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HIDDEN = "<hidden>"
CHANGED = "<hidden: changed>"


def status_setting(repo: Repo, argocd_version: int) -> str:
    """`ignoreResourceStatusField` as Argo CD applies it: all, crd or none."""
    return _status_setting(repo, argocd_version)


def is_secret(manifest_or_kind) -> bool:
    if isinstance(manifest_or_kind, Manifest):
        return manifest_or_kind.kind == "Secret" and manifest_or_kind.group == ""
    group, kind = manifest_or_kind
    return kind == "Secret" and group == ""


def compared(manifest: Manifest, app: Application | None, repo: Repo, status: str, notes: list[str]) -> dict:
    """The object as Argo CD's diff sees it (a copy; `manifest.data` is left alone). What could not
    be honoured is added to `notes`, once per distinct message."""
    data = copy.deepcopy(manifest.data)
    if status == "all" or (status == "crd" and is_crd(manifest)):
        data.pop("status", None)
    if app is None:
        return data
    entries = app.manifest.get("spec", "ignoreDifferences")
    if not isinstance(entries, list):
        return data
    for entry in entries:
        if not isinstance(entry, dict) or not entry_matches(entry, manifest, app, repo):
            continue
        for pointer in entry.get("jsonPointers") or []:
            if isinstance(pointer, str) and not pointer_problem(pointer):
                remove_pointer(data, pointer)
        for expression in entry.get("jqPathExpressions") or []:
            if not isinstance(expression, str):
                continue
            try:
                verdict, [data] = delete_paths(expression, [data])
            except JqUnavailable as error:
                _note(notes, f"jqPathExpressions {expression!r} not applied: {error}")
                continue
            if verdict.stage:
                _note(notes, f"jqPathExpressions {expression!r} ignores nothing on {manifest.kind} {manifest.name}: "
                             f"{verdict.error}")
        managers = [m for m in entry.get("managedFieldsManagers") or [] if isinstance(m, str)]
        if managers:
            _note(notes, f"managedFieldsManagers ({', '.join(managers)}) name fields of live objects: not applied "
                         "(the diff compares two revisions of Git)")
    return data


def remove_pointer(data, pointer: str) -> None:
    """Remove what the RFC 6901 `pointer` names, when it is there (Argo CD skips a remove that
    does not apply)."""
    if pointer == "":
        return
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    node = data
    for token in tokens[:-1]:
        node = _child(node, token)
        if node is None:
            return
    last = tokens[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]


def _child(node, token: str):
    if isinstance(node, dict):
        return node.get(token)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return None


def masked_pair(old: dict | None, new: dict | None) -> tuple[dict | None, dict | None]:
    """Secret objects with every value replaced by `<hidden>`, except a value that differs between
    the two revisions, which the new side shows as `<hidden: changed>`: a unified diff of the two
    then shows which keys changed, never a value."""
    old_masked, new_masked = copy.deepcopy(old), copy.deepcopy(new)
    for field in SECRET_FIELDS:
        before = old.get(field) if isinstance(old, dict) else None
        if isinstance(old_masked, dict) and field in old_masked:
            old_masked[field] = dict.fromkeys(before, HIDDEN) if isinstance(before, dict) else HIDDEN
        if isinstance(new_masked, dict) and field in new_masked:
            after = new_masked[field]
            if not isinstance(after, dict):
                new_masked[field] = HIDDEN
                continue
            new_masked[field] = {k: HIDDEN if not isinstance(before, dict) or k not in before or before[k] == v
                                 else CHANGED for k, v in after.items()}
    for side in (old_masked, new_masked):
        metadata = side.get("metadata") if isinstance(side, dict) else None
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations[LAST_APPLIED] = HIDDEN
    return old_masked, new_masked


def secret_pointer(pointer: str) -> bool:
    """Whether a pointer into a Secret names (or holds) a value that must not be shown."""
    top = pointer.split("/")[1] if pointer.count("/") >= 1 else ""
    return (top in SECRET_FIELDS or pointer in ("", "/metadata", "/metadata/annotations")
            or pointer.startswith("/metadata/annotations/" + LAST_APPLIED.replace("/", "~1")))


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)
