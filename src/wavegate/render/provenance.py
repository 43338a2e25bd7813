"""Provenance: for every field of a rendered object, the file and line a person edits.

A rendered object is a `Manifest` whose `path` and `doc_index` name the document it came from
and whose `positions` map each field to a line there, or to a line in another file (a patch, a
values file, the kustomization), written as a 5-tuple `(line, column, value_line, value_column,
file)`. Positions are computed when a finding first asks for them (most objects never need them).

Kustomize: kustomize records each object's file (origin annotations); a field equal to the
original document's is at its line there; a field a patch sets is at the patch's line (strategic
merge: the same field in the patch; JSON 6902: the operation whose path covers it); a field a
transformer sets (namePrefix, namespace, labels, images, replicas) is at that line of the
kustomization.

Helm: helm names each document's template (`# Source:`); lines of the rendered document are
aligned with the template's lines by their keys, and a value that a template line takes straight
from `.Values.x.y` points at the values file (the last one, by helm's precedence, that sets it)
when the rendered value is the one written there.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable

from wavegate.load import Manifest, parse_documents
from wavegate.record import field, record
from wavegate.regex import lazy_compile

Position = tuple  # (line, column, value_line, value_column[, file])


class LazyPositions:
    """Stands in for load._Source: computes a rendered object's positions when first asked."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], dict]):
        self.compute = compute

    def positions_of(self, _doc_index: int) -> dict:
        try:
            return self.compute()
        except Exception:  # noqa: BLE001 - a position is a convenience: never fail a check over it
            return {}


def rendered_manifest(path: str, doc_index: int, data: dict, compute: Callable[[], dict], app=None) -> Manifest:
    manifest = Manifest(path, doc_index, data)
    missing = [k for k in ("apiVersion", "kind") if not isinstance(data.get(k), str) or not data.get(k)]
    if not manifest.name and "generateName" not in manifest.metadata:
        missing.append("metadata.name")
    manifest.missing = tuple(missing)
    del manifest.positions
    manifest._source = LazyPositions(compute)
    manifest.app = app
    return manifest


def walk(data, prefix: tuple = ()):
    """Every (path, value) of `data`, parents before children."""
    yield prefix, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk(value, prefix + (i,))


def _get(data, path: tuple):
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return _MISSING
        elif not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Kustomize

@record
class PatchText:
    """One patch's documents with their positions, in the file (or kustomization) it is written in."""

    file: str
    documents: list[Manifest]
    line_offset: int = 0  # for an inline patch: the line of the kustomization where its text starts
    json6902: bool = False
    target: dict = field(default_factory=dict)


@record
class Transformers:
    """Where in the kustomizations the name/namespace/label/image/replica transformers are written."""

    file: str = ""
    lines: dict[str, Position] = field(default_factory=dict)  # field name -> position


def kustomize_positions(data: dict, base: Manifest | None, patches: list[PatchText],
                        transformers: Transformers) -> dict:
    positions: dict[tuple, Position] = {}
    base_positions = base.positions if base is not None else {}
    base_data = base.data if base is not None else None
    relevant = [p for p in patches if _patch_applies(p, data, base_data)]
    for path, value in walk(data):
        if base_data is not None and path in base_positions:
            original = _get(base_data, path)
            if original is not _MISSING and (isinstance(value, (dict, list)) or original == value):
                positions[path] = base_positions[path]
                continue
        found = _patched(path, relevant, data)
        if found is not None:
            positions[path] = found
            continue
        found = _transformed(path, transformers)
        if found is not None:
            positions[path] = found
    return positions


def _patch_applies(patch: PatchText, data: dict, base_data: dict | None) -> bool:
    kind, name = data.get("kind"), (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    target = patch.target
    if target:
        if target.get("kind") and not re.fullmatch(str(target["kind"]), str(kind or "")):
            return False
        if target.get("name") and isinstance(name, str) and not re.search(str(target["name"]), name):
            return False
        return True
    if patch.json6902:
        return False
    base_metadata = base_data.get("metadata") if isinstance(base_data, dict) else None
    base_name = base_metadata.get("name") if isinstance(base_metadata, dict) else None
    for document in patch.documents:
        if document.kind == kind and document.name in (base_name, name):
            return True
    return False


def _patched(path: tuple, patches: list[PatchText], data: dict) -> Position | None:
    for patch in reversed(patches):  # the last patch that sets a field wins
        if patch.json6902:
            for document in patch.documents:
                operations = document.data.get("__list__")
                for i, operation in enumerate(operations or []):
                    if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
                        continue
                    pointer = _pointer(operation["path"], data)
                    if pointer is not None and path[:len(pointer)] == pointer:
                        key = "value" if "value" in operation else "path"
                        return _shift(_nearest(document, ("__list__", i, key)), patch)
            continue
        for document in patch.documents:
            if path in document.positions and path not in ((), ("apiVersion",), ("kind",), ("metadata",),
                                                           ("metadata", "name")):
                return _shift(document.positions[path], patch)
    return None


def _nearest(document: Manifest, path: tuple) -> Position:
    """The position of `path` in `document`, or of its nearest ancestor that has one."""
    positions = document.positions
    while path not in positions and path:
        path = path[:-1]
    return positions.get(path, (1, 1, 1, 1))


def _shift(position: Position, patch: PatchText) -> Position:
    line, column, value_line, value_column = position[:4]
    offset = patch.line_offset
    return (line + offset, column, value_line + offset, value_column, patch.file)


def _pointer(text: str, data) -> tuple | None:
    """An RFC 6901 pointer as a path tuple (list indexes as ints, '-' as the last item)."""
    if not text.startswith("/"):
        return None
    parts: list = []
    node = data
    for raw in text[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            index = len(node) - 1 if token == "-" else int(token) if token.isdigit() else None
            if index is None:
                return tuple(parts)
            parts.append(index)
            node = node[index] if 0 <= index < len(node) else None
        else:
            parts.append(token)
            node = node.get(token) if isinstance(node, dict) else None
    return tuple(parts)


_TRANSFORMED = (
    (("metadata", "name"), ("namePrefix", "nameSuffix")),
    (("metadata", "namespace"), ("namespace",)),
    (("metadata", "labels"), ("labels", "commonLabels")),
    (("metadata", "annotations"), ("commonAnnotations",)),
    (("spec", "replicas"), ("replicas",)),
)


def _transformed(path: tuple, transformers: Transformers) -> Position | None:
    if not transformers.lines:
        return None
    for prefix, names in _TRANSFORMED:
        if path[:len(prefix)] == prefix:
            for name in names:
                if name in transformers.lines:
                    return transformers.lines[name]
    if path and path[-1] == "image" and "images" in transformers.lines:
        return transformers.lines["images"]
    if "selector" in path and ("labels" in transformers.lines or "commonLabels" in transformers.lines):
        return transformers.lines.get("commonLabels") or transformers.lines.get("labels")
    return None


def patch_text(file: str, text: str, line_offset: int = 0, json6902: bool | None = None,
               target: dict | None = None) -> PatchText:
    """A patch's documents, read by the one loader; a JSON 6902 list is kept under '__list__'."""
    documents, _ = parse_documents(file, text, require_object=False)
    if not documents:
        wrapped, _ = parse_documents(file, "__list__:\n" + _indent(text), require_object=False)
        if wrapped:
            return PatchText(file, [_unwrap(wrapped[0])], line_offset, True, target or {})
        return PatchText(file, [], line_offset, bool(json6902), target or {})
    return PatchText(file, documents, line_offset, bool(json6902), target or {})


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines()) + "\n"


def _unwrap(manifest: Manifest) -> Manifest:
    """Positions of the '__list__:' wrapper shifted back to the patch's own lines and columns."""
    shifted: dict[tuple, tuple[int, int, int, int]] = {}
    for path, (line, column, value_line, value_column) in manifest.positions.items():
        shifted[path] = (line - 1, max(1, column - 2), value_line - 1, max(1, value_column - 2))
    manifest.positions = shifted
    return manifest


# ---------------------------------------------------------------------------------------------
# Helm

_VALUES_REFERENCE = lazy_compile(r"\.Values((?:\.[A-Za-z_][\w-]*)+)")
_ONLY_ACTION = lazy_compile(r"^\s*(\{\{.*?\}\}\s*)+$")


@record
class ValuesSource:
    """One values file helm reads (lowest precedence first), with its positions."""

    file: str
    document: Manifest | None
    line_offset: int = 0  # for inline helm.values in the Application


def helm_positions(rendered_text: str, template_file: str, template_text: str | None,
                   values: list[ValuesSource]) -> dict:
    documents, _ = parse_documents(template_file, rendered_text, require_object=False)
    if not documents:
        return {}
    rendered = documents[0]
    if template_text is None:
        return {(): (1, 1, 1, 1)}
    template_lines = template_text.splitlines()
    rendered_lines = rendered_text.splitlines()
    mapping = _align(rendered_lines, template_lines)
    positions: dict[tuple, Position] = {}
    for path, (line, *_rest) in rendered.positions.items():
        target = mapping.get(line)
        if target is None:
            continue
        template_line = template_lines[target - 1] if 0 < target <= len(template_lines) else ""
        indent = len(template_line) - len(template_line.lstrip(" ")) + 1
        from_values = _values_position(template_line, rendered, path, values)
        positions[path] = from_values or (target, indent, target, indent)
    positions.setdefault((), (1, 1, 1, 1))
    return positions


def _key(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("- "):
        stripped = stripped[2:].strip()
    match = re.match(r"^([\"']?[\w./-]+[\"']?)\s*:", stripped)
    return match.group(1).strip("\"'") + ":" if match else stripped


def _align(rendered: list[str], template: list[str]) -> dict[int, int]:
    """1-based rendered line -> 1-based template line."""
    keep = [i for i, line in enumerate(template) if line.strip() and not _ONLY_ACTION.match(line)
            and not line.lstrip().startswith("#")]
    template_keys = [_key(template[i]) for i in keep]
    rendered_keys = [_key(line) for line in rendered]
    matcher = difflib.SequenceMatcher(a=rendered_keys, b=template_keys, autojunk=False)
    mapping: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            mapping[block.a + k + 1] = keep[block.b + k] + 1
    # Lines a helper or a range produced: the template line after the previous aligned one.
    previous_template = 0
    for number in range(1, len(rendered) + 1):
        if number in mapping:
            previous_template = mapping[number]
        elif rendered[number - 1].strip() and not rendered[number - 1].lstrip().startswith("#"):
            following = next((i + 1 for i in range(previous_template, len(template))
                              if template[i].strip() and not template[i].lstrip().startswith("#")), None)
            if following is not None:
                mapping[number] = following
    return mapping


def _values_position(template_line: str, rendered: Manifest, path: tuple, values: list[ValuesSource]) -> Position | None:
    references = _VALUES_REFERENCE.findall(template_line)
    if len(references) != 1:
        return None
    keys = tuple(references[0].strip(".").split("."))
    rendered_value = _get(rendered.data, path)
    for source in reversed(values):  # the last values file that sets the key is the one helm used
        if source.document is None:
            continue
        written = _get(source.document.data, keys)
        if written is _MISSING:
            continue
        if isinstance(written, (dict, list)) or _same_scalar(written, rendered_value):
            line, column, value_line, value_column = _nearest(source.document, keys)[:4]
            offset = source.line_offset
            return (line + offset, column, value_line + offset, value_column, source.file)
        return None  # the value is set there but not used as written (a function changed it)
    return None


def _same_scalar(written, rendered) -> bool:
    if written == rendered:
        return True
    return rendered is not _MISSING and str(written) == str(rendered)


def chart_file(chart_dir: str, helm_source: str) -> str:
    """The repository file of helm's `# Source: <chart>/templates/x.yaml` for a chart at
    `chart_dir` (the first segment is the chart's name, not a directory)."""
    _, _, rest = helm_source.partition("/")
    return posixpath.normpath(posixpath.join(chart_dir, rest)) if chart_dir else posixpath.normpath(rest)
