"""The promotion plan: environment A's manifests carried into B's folder, except B's `keep` fields.

Decisions (documented in `wavegate promote --help` too):

- Files are matched by their path relative to the environment folder. Only what Argo CD reads
  from a directory source is carried: `*.yaml`, `*.yml`, `*.json`. Files only in A are added;
  files only in B are reported and deleted only with `--prune`.
- A carried file is A's text. Where a `keep` field of B differs, that one value is edited in place:
  the loader's position of the value in A's text is replaced by B's original text of the value
  (so B's quoting survives), for scalars and flow collections. Every edited file is parsed again
  and must equal the intended objects exactly; when it does not, or when the field cannot be
  edited in place (a block mapping or list, a field present on one side only), the file is
  written again from the intended objects and the plan says so ("reformatted").
- `keep` uses Argo CD's ignoreDifferences vocabulary: `group`, `kind`, `name`, `namespace`,
  `jsonPointers`, `jqPathExpressions`. Of jq only the path subset is understood (`.a.b`,
  `.a["b"]`, `.a[0]`); anything else blocks the promotion, since carrying a field that should
  have been kept is the one mistake a promotion must not make.
- A's object is matched with B's by file and document index (same group and kind), else by
  group/kind/namespace/name anywhere in B's folder.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from wavegate.load import Manifest, parse_documents
from wavegate.record import field, record
from wavegate.regex import lazy_compile

CARRIED_SUFFIXES = (".yaml", ".yml", ".json")
_MISSING = object()


class PlanError(Exception):
    """The plan cannot be made (unsupported keep expression, unparsable file)."""


@record
class FieldChange:
    resource: str
    pointer: str
    op: str  # add | remove | replace
    old: Any = None
    new: Any = None

    def as_json(self) -> dict:
        return {"resource": self.resource, "pointer": self.pointer, "op": self.op, "old": self.old, "new": self.new}


@record
class FilePlan:
    path: str  # relative to the environment folder
    status: str  # added | changed | unchanged | only-in-target | removed
    text: bytes | None = None  # what B's file becomes (added, changed)
    changes: list[FieldChange] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # "Kind name /pointer" kept at B's value
    reformatted: str = ""  # why the file was re-emitted instead of edited in place

    def as_json(self) -> dict:
        return {"path": self.path, "status": self.status, "changes": [c.as_json() for c in self.changes],
                "kept": self.kept, "reformatted": self.reformatted or None}


@record
class Plan:
    source: str
    target: str
    source_path: str
    target_path: str
    files: list[FilePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prune: bool = False

    @property
    def writes(self) -> dict[str, bytes]:
        return {f.path: f.text for f in self.files if f.status in ("added", "changed") and f.text is not None}

    @property
    def removals(self) -> list[str]:
        return [f.path for f in self.files if f.status == "removed"]

    @property
    def empty(self) -> bool:
        return not self.writes and not self.removals

    def by_status(self, status: str) -> list[FilePlan]:
        return [f for f in self.files if f.status == status]

    def as_json(self) -> dict:
        return {"from": self.source, "to": self.target, "fromPath": self.source_path, "toPath": self.target_path,
                "added": [f.path for f in self.by_status("added")],
                "changed": [f.path for f in self.by_status("changed")],
                "removed": [f.path for f in self.by_status("removed")],
                "onlyInTarget": [f.path for f in self.by_status("only-in-target")],
                "files": [f.as_json() for f in self.files if f.status != "unchanged"],
                "notes": self.notes}


# -- pointers --------------------------------------------------------------------------------


def parse_pointer(pointer: str) -> tuple[str, ...]:
    if pointer in ("", "/"):
        return ()
    if not pointer.startswith("/"):
        raise PlanError(f"JSON pointer {pointer!r} must start with /")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


_JQ_STEP = lazy_compile(r"""\.([A-Za-z_][A-Za-z0-9_-]*)|\.?\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\.?\[\s*([0-9]+)\s*\]""")


def jq_to_pointer(expr: str) -> tuple[str, ...]:
    """The path subset of jq (`.a.b`, `.a["b-c"]`, `.a[0]`) as pointer tokens; anything else
    (selectors, pipes, wildcards like `.a[]`) raises PlanError saying what is supported."""
    text, pos, tokens = expr.strip(), 0, []
    while pos < len(text):
        match = _JQ_STEP.match(text, pos)
        if match is None:
            raise PlanError(f"jqPathExpression {expr!r} is not supported by wavegate promote: only plain paths "
                            f"like .spec.aws.accountId, .metadata.labels[\"team\"] or .spec.items[0] are; "
                            f"write it as a jsonPointer")
        name, quoted, index = match.groups()
        tokens.append(name if name is not None else json.loads(f'"{quoted}"') if quoted is not None else index)
        pos = match.end()
    if not tokens:
        raise PlanError(f"jqPathExpression {expr!r} selects the whole object; keep needs a field")
    return tuple(tokens)


def format_pointer(path: tuple) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def resolve(data: Any, tokens: tuple) -> tuple[tuple, Any]:
    """(the loader path with list indexes as ints, the value) or (path, _MISSING)."""
    node = data
    path: tuple[str | int, ...] = ()
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node, path = node[token], path + (token,)
        elif isinstance(node, list) and str(token).isdigit() and int(token) < len(node):
            node, path = node[int(token)], path + (int(token),)
        else:
            return path, _MISSING
    return path, node


def _set(data: Any, tokens: tuple, value: Any) -> None:
    node = data
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(node, list):
            token = int(token)
            if last:
                if value is _MISSING:
                    del node[token]
                else:
                    node[token] = value
                return
            node = node[token]
        else:
            if last:
                if value is _MISSING:
                    node.pop(token, None)
                else:
                    node[token] = value
                return
            node = node.setdefault(token, {})


def diff(old: Any, new: Any, resource: str, path: tuple = ()) -> list[FieldChange]:
    """Every changed leaf, as JSON pointers (a mapping or list added or removed whole is one change)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                changes.append(FieldChange(resource, format_pointer(path + (key,)), "remove", old[key], None))
            elif key not in old:
                changes.append(FieldChange(resource, format_pointer(path + (key,)), "add", None, new[key]))
            else:
                changes += diff(old[key], new[key], resource, path + (key,))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                changes.append(FieldChange(resource, format_pointer(path + (i,)), "remove", old[i], None))
            elif i >= len(old):
                changes.append(FieldChange(resource, format_pointer(path + (i,)), "add", None, new[i]))
            else:
                changes += diff(old[i], new[i], resource, path + (i,))
        return changes
    if old == new and type(old) is type(new):
        return []
    return [FieldChange(resource, format_pointer(path) or "/", "replace", old, new)]


# -- the plan --------------------------------------------------------------------------------


def carried(rel: str) -> bool:
    return rel.endswith(CARRIED_SUFFIXES)


def describe(m: Manifest) -> str:
    where = f"{m.namespace}/" if m.namespace else ""
    return f"{m.kind or '?'} {where}{m.name or '#' + str(m.doc_index + 1)}"


def _identity(m: Manifest) -> tuple:
    return (m.group, m.kind, m.namespace, m.name)


def _parse(rel: str, data: bytes, side: str) -> list[Manifest]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError(f"{side}/{rel} is not UTF-8") from None
    if rel.endswith(".json"):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise PlanError(f"{side}/{rel} is not valid JSON: {error}") from None
        return [Manifest(rel, 0, value)] if isinstance(value, dict) else []
    docs, problems = parse_documents(rel, text, require_object=False)
    if problems:
        p = problems[0]
        raise PlanError(f"{side}/{p.path}:{p.line}:{p.column}: {p.message}")
    return docs


def _keep_rules(env_keep: tuple[dict, ...]) -> list[tuple[dict, list[tuple[str, tuple]]]]:
    rules = []
    for rule in env_keep:
        paths = [(p, parse_pointer(p)) for p in rule.get("jsonPointers", ())]
        paths += [(e, jq_to_pointer(e)) for e in rule.get("jqPathExpressions", ())]
        rules.append((rule, paths))
    return rules


def _matches(rule: dict, m: Manifest) -> bool:
    return (rule.get("group", "") == m.group and rule.get("kind") == m.kind
            and rule.get("name", m.name) == m.name and rule.get("namespace", m.namespace) == m.namespace)


def build_plan(source: str, target: str, source_files: dict[str, bytes], target_files: dict[str, bytes],
               keep: tuple[dict, ...] = (), prune: bool = False, source_path: str = "", target_path: str = "") -> Plan:
    plan = Plan(source, target, source_path or source, target_path or target, prune=prune)
    rules = _keep_rules(keep)
    target_docs = {rel: _parse(rel, data, target) for rel, data in target_files.items() if carried(rel)}
    by_identity = {_identity(m): (rel, m) for rel, docs in target_docs.items() for m in docs}
    for rel in sorted(r for r in source_files if carried(r)):
        a_bytes = source_files[rel]
        a_docs = _parse(rel, a_bytes, source)
        file = FilePlan(rel, "added" if rel not in target_files else "changed")
        text = a_bytes.decode("utf-8-sig")
        intended = [json.loads(json.dumps(m.data)) for m in a_docs]
        edits: list[tuple[int, int, str]] = []
        in_place = not rel.endswith(".json")
        why = ""
        for index, a in enumerate(a_docs):
            for rule, paths in rules:
                if not _matches(rule, a):
                    continue
                counterpart, b_rel = None, rel
                for b in target_docs.get(rel, []):
                    if b.doc_index == a.doc_index and (b.group, b.kind) == (a.group, a.kind):
                        counterpart, b_rel = b, rel
                if counterpart is None and _identity(a) in by_identity:
                    b_rel, counterpart = by_identity[_identity(a)]
                if counterpart is None:
                    plan.notes.append(f"keep: {target} has no {describe(a)} (from {rel}); {source}'s values of "
                                      f"{', '.join(p for p, _ in paths)} are carried as they are: check them")
                    continue
                for written, tokens in paths:
                    a_path, a_value = resolve(a.data, tokens)
                    b_path, b_value = resolve(counterpart.data, tokens)
                    if a_value is _MISSING and b_value is _MISSING:
                        continue
                    file.kept.append(f"{describe(a)} {written}")
                    if a_value is not _MISSING and b_value is not _MISSING and a_value == b_value \
                            and type(a_value) is type(b_value):
                        continue
                    _set(intended[index], tokens, b_value)
                    span = None
                    if a_value is not _MISSING and b_value is not _MISSING:
                        a_span = value_span(text, a, a_path, a_value)
                        b_text = target_files[b_rel].decode("utf-8-sig")
                        b_span = value_span(b_text, counterpart, b_path, b_value)
                        if a_span and b_span:
                            span = (a_span[0], a_span[1], b_text[b_span[0]:b_span[1]])
                    if span is None:
                        in_place = False
                        missing_in = source if a_value is _MISSING else target
                        state = f"missing in {missing_in}" if _MISSING in (a_value, b_value) else "not a single-line value"
                        why = why or f"{written} of {describe(a)} is {state}"
                    else:
                        edits.append(span)
        new_text = text
        if in_place:
            for start, end, replacement in sorted(edits, reverse=True):
                new_text = new_text[:start] + replacement + new_text[end:]
            if edits and [m.data for m in _parse(rel, new_text.encode(), target)] != intended:
                in_place, why = False, "the in-place edit did not parse back to the intended values"
        if not in_place:
            new_text = render(rel, intended)
            file.reformatted = why
        file.text = new_text.encode()
        if rel in target_files:
            if file.text == target_files[rel]:
                file.status = "unchanged"
            else:
                file.changes = _changes(target_docs.get(rel, []), _parse(rel, file.text, target))
                if not file.changes:
                    file.status = "changed"  # only formatting or comments differ
        else:
            file.changes = [FieldChange(describe(m), "", "add", None, None) for m in _parse(rel, file.text, target)]
        plan.files.append(file)
    for rel in sorted(r for r in target_files if carried(r) and r not in source_files):
        plan.files.append(FilePlan(rel, "removed" if prune else "only-in-target",
                                   changes=[FieldChange(describe(m), "", "remove") for m in target_docs[rel]]
                                   if prune else []))
    return plan


def _changes(old_docs: list[Manifest], new_docs: list[Manifest]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    olds = {_identity(m): m for m in old_docs}
    matched = set()
    for i, new in enumerate(new_docs):
        old = olds.get(_identity(new))
        if old is None and i < len(old_docs) and id(old_docs[i]) not in matched and \
                (old_docs[i].group, old_docs[i].kind) == (new.group, new.kind):
            old = old_docs[i]
        if old is None:
            changes.append(FieldChange(describe(new), "", "add"))
            continue
        matched.add(id(old))
        changes += diff(old.data, new.data, describe(new))
    for old in old_docs:
        if id(old) not in matched:
            changes.append(FieldChange(describe(old), "", "remove"))
    return changes


def render(rel: str, documents: list) -> str:
    if rel.endswith(".json"):
        return json.dumps(documents[0] if documents else {}, indent=2) + "\n"
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


# -- in-place edits --------------------------------------------------------------------------


def value_span(text: str, manifest: Manifest, path: tuple, value: Any) -> tuple[int, int] | None:
    """(start, end) offsets of the value at `path` in `text`, for values that sit on one line
    (plain or quoted scalars, flow collections); None for block collections and block scalars."""
    if path not in manifest.positions:
        return None
    line, column = manifest.position(path, key=False)
    lines = text.split("\n")
    if line > len(lines):
        return None
    start = sum(len(previous) + 1 for previous in lines[:line - 1]) + column - 1
    if start >= len(text):
        return None
    first = text[start]
    if first in "|>&*!" or (isinstance(value, (dict, list)) and first not in "[{"):
        return None
    if isinstance(path[-1], int) and text[start:start + 2] in ("- ",):  # a block list item
        return None
    end = _scalar_end(text, start)
    if end is None or "\n" in text[start:end] and first not in "\"'[{":
        return None
    return start, end


def _scalar_end(text: str, start: int) -> int | None:
    first = text[start]
    if first == '"':
        i = start + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return i + 1
            i += 1
        return None
    if first == "'":
        i = start + 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    if first in "[{":
        depth, i, quote = 0, start, None
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\" and quote == '"':
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return None
    end = text.find("\n", start)
    end = len(text) if end == -1 else end
    segment = text[start:end]
    comment = segment.find(" #")
    if comment != -1:
        segment = segment[:comment]
    # a plain scalar inside a flow collection ends at , ] }
    return start + len(segment.rstrip())
