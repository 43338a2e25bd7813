"""Two renderings of a repository compared Application by Application, in Argo CD's sync order.

Pure: it takes what the pipeline rendered at each revision (wavegate.pipeline) and returns
`AppDiff`s. An Application is matched by name (a root of a repository without Applications by its
path); an object by (group, kind, namespace, name) within its Application, with the namespace it
will have live (its own, else the Application's destination, none when cluster-scoped). Only what
Argo CD syncs is compared: sync sets no Application syncs, and hooks of type Skip, are not.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

import yaml

from wavegate import kube
from wavegate.argocd import model as argocd
from wavegate.diff.model import (
    ADDED,
    CHANGED,
    MISSING,
    PRUNE,
    REMOVED,
    UNCHANGED,
    AppDiff,
    FieldChange,
    ObjectChange,
    ObjectKey,
    Step,
)
from wavegate.diff.normalize import compared, is_secret, masked_pair, secret_pointer
from wavegate.load import Manifest, Repo
from wavegate.record import field, record

if TYPE_CHECKING:
    from wavegate.render.model import Rendering, SyncSet


@record
class Side:
    """One revision as the pipeline rendered it."""

    rendering: Rendering
    repo: Repo  # the checked repository (for the scope of custom kinds)
    status: str = "all"  # ignoreResourceStatusField

    def syncs(self) -> dict[str, SyncSet]:
        """The sync sets Argo CD applies, by name (the first of two Applications of one name wins,
        as the render stage keeps one per name)."""
        found: dict[str, SyncSet] = {}
        for sync_set in self.rendering.sync_sets:
            if sync_set.synced:
                found.setdefault(sync_set.name, sync_set)
        return found


@record
class _Object:
    key: ObjectKey
    manifest: Manifest
    data: dict  # as Argo CD compares it
    tasks: list = field(default_factory=list)  # its SyncTasks


def compare(base: Side, head: Side) -> list[AppDiff]:
    """Every Application of either revision: head's in their order, then those only base has."""
    base_syncs, head_syncs = base.syncs(), head.syncs()
    names = list(head_syncs) + [n for n in base_syncs if n not in head_syncs]
    return [_application(name, base_syncs.get(name), head_syncs.get(name), base, head) for name in names]


def _application(name: str, old_set, new_set, base: Side, head: Side) -> AppDiff:
    notes: list[str] = []
    # Argo CD compares with the Application as it will be: head's ignoreDifferences for both sides.
    app = (new_set or old_set).app
    old, _ = _objects(old_set, app, base, notes) if old_set is not None else ({}, [])
    new, order = _objects(new_set, app, head, notes) if new_set is not None else ({}, [])
    statuses: dict[ObjectKey, str] = {}
    changes: list[ObjectChange] = []
    for key, obj in new.items():
        before = old.get(key)
        if before is None:
            statuses[key] = ADDED
            changes.append(_change(obj, ADDED, None, obj))
        elif before.data != obj.data:
            statuses[key] = CHANGED
            changes.append(_change(obj, CHANGED, before, obj))
        else:
            statuses[key] = UNCHANGED
    removed = [obj for key, obj in old.items() if key not in new]
    for obj in removed:
        statuses[obj.key] = REMOVED
        changes.append(_change(obj, REMOVED, obj, None))
    status = (ADDED if old_set is None else REMOVED if new_set is None
              else CHANGED if changes else UNCHANGED)
    where = (new_set or old_set).app
    return AppDiff(name=name, status=status, path=where.manifest.path if where is not None else "",
                   objects=changes, steps=_steps(new, order, removed, statuses), notes=notes)


def _objects(sync_set, app, side: Side, notes: list[str]) -> tuple[dict[ObjectKey, _Object], list]:
    """The objects a sync applies, in sync order, each with its SyncTasks; and the tasks in order."""
    found: dict[ObjectKey, _Object] = {}
    tasks = argocd.sync_tasks(sync_set.objects)
    for task in tasks:
        manifest = task.manifest
        key = _key(manifest, sync_set.app, side.repo)
        obj = found.get(key)
        if obj is None or obj.manifest is not manifest:
            obj = found[key] = _Object(key, manifest, compared(manifest, app, side.repo, side.status, notes))
        obj.tasks.append(task)
    return found, tasks


def _key(manifest: Manifest, app, repo: Repo) -> ObjectKey:
    if kube.cluster_scoped(manifest, repo):
        namespace = ""
    else:
        namespace = manifest.namespace or (app.destination_namespace if app is not None else None) or ""
    return ObjectKey(manifest.group, manifest.kind, namespace, manifest.name or "")


def _change(obj: _Object, status: str, before: _Object | None, after: _Object | None) -> ObjectChange:
    first = obj.tasks[0]
    secret = is_secret(obj.manifest)
    change = ObjectChange(key=obj.key, status=status, api_version=obj.manifest.api_version,
                          phase=PRUNE if status == REMOVED else first.phase, wave=first.wave,
                          hook=argocd.is_argocd_hook(obj.manifest), secret=secret, path=obj.manifest.path,
                          line=obj.manifest.location(())[1])
    old_data = before.data if before is not None else None
    new_data = after.data if after is not None else None
    if status == CHANGED and before is not None and after is not None:  # (a changed object has both)
        change.fields = [_located(f, before.manifest, after.manifest, secret)
                         for f in field_changes(old_data, new_data)]
    if secret:
        old_data, new_data = masked_pair(old_data, new_data)
    change.diff = unified(old_data, new_data, obj.key)
    return change


def _located(change: FieldChange, before: Manifest, after: Manifest, secret: bool) -> FieldChange:
    manifest = before if change.op == "remove" else after
    change.path, change.line, _ = manifest.location(pointer_path(change.pointer))
    if secret and secret_pointer(change.pointer):
        change.hidden, change.old, change.new = True, MISSING, MISSING
    return change


def _steps(new: dict[ObjectKey, _Object], tasks: list, removed: list[_Object],
           statuses: dict[ObjectKey, str]) -> list[Step]:
    owner = {id(task): key for key, obj in new.items() for task in obj.tasks}
    steps = [Step(phase, wave, [(owner[id(t)], statuses[owner[id(t)]], argocd.is_argocd_hook(t.manifest))
                                for t in group if id(t) in owner])
             for phase, wave, group in argocd.waves(tasks)]
    if removed:
        steps.append(Step(PRUNE, 0, [(o.key, REMOVED, argocd.is_argocd_hook(o.manifest)) for o in removed]))
    return steps


# ---------------------------------------------------------------------------------------------
# Fields

def field_changes(old, new, pointer: str = "") -> list[FieldChange]:
    """Every difference between two JSON values, as RFC 6901 pointers: mappings key by key, lists
    aligned by their items (an item inserted in the middle is one `add`, not a shift of every
    later item)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[FieldChange] = []
        for key in list(old) + [k for k in new if k not in old]:
            child = f"{pointer}/{escape(str(key))}"
            if key not in new:
                found.append(FieldChange(child, "remove", old=old[key]))
            elif key not in old:
                found.append(FieldChange(child, "add", new=new[key]))
            elif old[key] != new[key]:
                found.extend(field_changes(old[key], new[key], child))
        return found
    if isinstance(old, list) and isinstance(new, list):
        return _list_changes(old, new, pointer)
    if old == new and type(old) is type(new):
        return []
    return [FieldChange(pointer or "/", "replace", old=old, new=new)]


def _list_changes(old: list, new: list, pointer: str) -> list[FieldChange]:
    text = lambda items: [json.dumps(i, sort_keys=True, default=str) for i in items]  # noqa: E731
    found: list[FieldChange] = []
    matcher = difflib.SequenceMatcher(a=text(old), b=text(new), autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(a2 - a1, b2 - b1) if op == "replace" else 0
        for i in range(paired):
            found.extend(field_changes(old[a1 + i], new[b1 + i], f"{pointer}/{b1 + i}"))
        for i in range(a1 + paired, a2):
            found.append(FieldChange(f"{pointer}/{i}", "remove", old=old[i]))
        for i in range(b1 + paired, b2):
            found.append(FieldChange(f"{pointer}/{i}", "add", new=new[i]))
    return found


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_path(pointer: str) -> tuple:
    """A pointer as the key path `Manifest.location` takes (list indexes as ints)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


# ---------------------------------------------------------------------------------------------
# Rendered diff

def unified(old: dict | None, new: dict | None, key: ObjectKey) -> str:
    """The object's rendered YAML at both revisions as a unified diff (the whole object when it is
    added or removed)."""
    a = _yaml(old).splitlines() if old is not None else []
    b = _yaml(new).splitlines() if new is not None else []
    name = key.display()
    lines = difflib.unified_diff(a, b, fromfile=f"base: {name}" if old is not None else "/dev/null",
                                 tofile=f"head: {name}" if new is not None else "/dev/null", lineterm="",
                                 n=3 if old is not None and new is not None else max(len(a), len(b)))
    return "\n".join(lines)


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
