"""What `wavegate diff` finds, as plain data: per Application the objects added, removed and
changed (each changed field by JSON pointer), in Argo CD's sync order, and the sync's steps for
the diagram. Everything here round-trips through the JSON report (`to_json` / `from_json`), so the
merge-request note can be built from the file a CI job wrote."""

from __future__ import annotations

from wavegate.record import field, record

VERSION = 1  # of the JSON report; README "wavegate diff --format json"

ADDED, REMOVED, CHANGED, UNCHANGED = "added", "removed", "changed", "unchanged"
PRUNE = "Prune"  # the step of removed objects: Argo CD deletes them once the sync has applied the rest
MISSING = object()


@record(frozen=True)
class ObjectKey:
    """An object's identity within one Application: (group, kind, namespace, name)."""

    group: str
    kind: str
    namespace: str
    name: str

    def display(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"

    def to_json(self) -> dict:
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_json(cls, data: dict) -> ObjectKey:
        return cls(data.get("group", ""), data["kind"], data.get("namespace", ""), data["name"])


@record
class FieldChange:
    """One field that differs: `op` add/remove/replace at `pointer` (RFC 6901). `hidden` for a
    Secret's values: then neither value is kept. `path`/`line`: where a person edits it."""

    pointer: str
    op: str
    old: object = MISSING
    new: object = MISSING
    hidden: bool = False
    path: str = ""
    line: int = 0

    def to_json(self) -> dict:
        data: dict = {"pointer": self.pointer, "op": self.op}
        if self.hidden:
            data["hidden"] = True
        else:
            if self.old is not MISSING:
                data["old"] = self.old
            if self.new is not MISSING:
                data["new"] = self.new
        if self.path:
            data.update(path=self.path, line=self.line)
        return data

    @classmethod
    def from_json(cls, data: dict) -> FieldChange:
        return cls(data["pointer"], data["op"], data.get("old", MISSING), data.get("new", MISSING),
                   bool(data.get("hidden")), data.get("path", ""), int(data.get("line") or 0))

    @property
    def has_old(self) -> bool:
        return self.old is not MISSING

    @property
    def has_new(self) -> bool:
        return self.new is not MISSING


@record
class ObjectChange:
    """One object of an Application that is added, removed or changed (or unchanged, in steps)."""

    key: ObjectKey
    status: str
    api_version: str = ""
    phase: str = "Sync"
    wave: int = 0
    hook: bool = False
    secret: bool = False
    path: str = ""  # the file a person edits (base's for a removed object)
    line: int = 0
    fields: list[FieldChange] = field(default_factory=list)
    diff: str = ""  # the rendered YAML as a unified diff (Secrets' values masked)

    def to_json(self) -> dict:
        data = {"status": self.status, "apiVersion": self.api_version, **self.key.to_json(), "phase": self.phase,
                "wave": self.wave, "hook": self.hook, "secret": self.secret, "path": self.path, "line": self.line}
        if self.status == CHANGED:
            data["fields"] = [f.to_json() for f in self.fields]
        data["diff"] = self.diff
        return data

    @classmethod
    def from_json(cls, data: dict) -> ObjectChange:
        return cls(ObjectKey.from_json(data), data["status"], data.get("apiVersion", ""), data.get("phase", "Sync"),
                   int(data.get("wave") or 0), bool(data.get("hook")), bool(data.get("secret")), data.get("path", ""),
                   int(data.get("line") or 0), [FieldChange.from_json(f) for f in data.get("fields", [])],
                   data.get("diff", ""))


@record
class Step:
    """One step of the sync (a phase and wave, or the prune step): every object Argo CD handles
    in it, changed or not, in order. A hook with several phases is in several steps."""

    phase: str
    wave: int
    members: list[tuple[ObjectKey, str, bool]] = field(default_factory=list)  # (key, status, hook)

    @property
    def title(self) -> str:
        return "Prune" if self.phase == PRUNE else f"{self.phase} · wave {self.wave}"

    def to_json(self) -> dict:
        return {"phase": self.phase, "wave": self.wave,
                "objects": [{**k.to_json(), "status": s, "hook": h} for k, s, h in self.members]}

    @classmethod
    def from_json(cls, data: dict) -> Step:
        return cls(data["phase"], int(data.get("wave") or 0),
                   [(ObjectKey.from_json(o), o["status"], bool(o.get("hook"))) for o in data.get("objects", [])])


@record
class AppDiff:
    """One Application (by name; or a root of a repository without Applications)."""

    name: str
    status: str  # added, removed, changed, unchanged
    path: str = ""  # where the Application is written (head's, else base's)
    objects: list[ObjectChange] = field(default_factory=list)  # what changes, in sync order
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be honoured or compared

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for o in self.objects if o.status == s) for s in (ADDED, REMOVED, CHANGED)}

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "path": self.path, "counts": self.counts(),
                "objects": [o.to_json() for o in self.objects], "steps": [s.to_json() for s in self.steps],
                "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: dict) -> AppDiff:
        return cls(data["name"], data["status"], data.get("path", ""),
                   [ObjectChange.from_json(o) for o in data.get("objects", [])],
                   [Step.from_json(s) for s in data.get("steps", [])], list(data.get("notes", [])))


@record
class Diff:
    base: str  # the revision as given
    head: str  # the revision as given, or "working tree"
    base_commit: str = ""
    head_commit: str = ""
    applications: list[AppDiff] = field(default_factory=list)  # every Application, unchanged ones too
    seconds: float = 0.0

    @property
    def changed(self) -> list[AppDiff]:
        return [a for a in self.applications if a.status != UNCHANGED]

    @property
    def has_changes(self) -> bool:
        return bool(self.changed)

    def summary(self) -> dict:
        apps = {s: sum(1 for a in self.applications if a.status == s) for s in (ADDED, REMOVED, CHANGED, UNCHANGED)}
        objects = {s: sum(a.counts()[s] for a in self.applications) for s in (ADDED, REMOVED, CHANGED)}
        return {"applications": apps, "objects": objects, "seconds": round(self.seconds, 3)}

    def to_json(self) -> dict:
        return {"version": VERSION, "base": {"revision": self.base, "commit": self.base_commit},
                "head": {"revision": self.head, "commit": self.head_commit}, "summary": self.summary(),
                "applications": [a.to_json() for a in self.applications]}

    @classmethod
    def from_json(cls, data: object) -> Diff:
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("applications"), list):
            raise ValueError(f"not a wavegate diff report (version {VERSION} with applications)")
        summary = summary if isinstance(summary := data.get("summary"), dict) else {}
        try:
            return cls(data["base"]["revision"], data["head"]["revision"], data["base"].get("commit", ""),
                       data["head"].get("commit", ""), [AppDiff.from_json(a) for a in data["applications"]],
                       float(summary.get("seconds") or 0.0))
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ValueError(f"a wavegate diff report (version {VERSION}) that does not follow its contract") from None
