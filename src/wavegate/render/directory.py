"""A plain directory source, read as Argo CD's repo-server reads it (findManifests).

Files directly in the directory (and below it with `recurse: true`, walked in lexical order) whose
names end in .yaml, .yml, .json or .jsonnet, filtered by `include` and `exclude` (globs matched
against the path relative to the directory; `*` crosses `/`, `{a,b}` gives alternatives), and not
containing the marker `+argocd:skip-file-rendering`.

- A YAML file gives its documents, each decoded as an object: a document without `kind` (or that
  is not a mapping) cannot be decoded. If that happens after another document of the file was
  decoded, or when the file's text contains `apiVersion:`, `kind:` and `metadata:`, the whole
  Application fails to render (ComparisonError); otherwise Argo CD ignores the file silently.
- A JSON file is one object; a second one, or one Argo CD cannot decode, fails the render.
- A Jsonnet file is evaluated with go-jsonnet (the implementation Argo CD uses), with the
  source's ext vars, top-level arguments and library paths; it gives an object or a list.
- `kind: List` documents give their items.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from wavegate.load import SKIP_RENDERING_MARKER, Listing, Manifest, is_excluded
from wavegate.record import field, record

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".jsonnet")
SKIP_MARKER = SKIP_RENDERING_MARKER.decode()
_LOOKS_LIKE_MANIFEST = ("apiVersion:", "kind:", "metadata:")


@record
class FileResult:
    """What Argo CD makes of one file of a directory source."""

    rel: str
    objects: list[Manifest] = field(default_factory=list)
    untyped: list[Manifest] = field(default_factory=list)  # decoded, but lacking apiVersion or name
    error: str = ""  # the render fails on this file (ComparisonError)
    error_line: int = 1
    ignored: str = ""  # Argo CD skips the file, and why
    skipped_manifest: str = ""  # ... and it looks as if it was meant to be applied


def files_read(root: Path, base: str, recurse: bool, include: str | None, exclude: str | None,
               excluded: tuple[str, ...] = (), listing: Listing | None = None) -> list[str]:
    """Repository-relative paths of the files a directory source at `base` reads, in Argo CD's
    order (filepath.Walk: lexical, depth first), before the skip marker is looked at. `listing`:
    the repository's directories as already read (wavegate.load.Listing)."""
    listing = listing or Listing(root)
    found: list[str] = []
    # Depth first, in lexical order: each folder's entries are taken in turn from a stack of
    # iterators. (A nested function that calls itself would be a reference cycle, left for the
    # cyclic collector on every call: 3,000 of them when 1,000 Applications render.)
    pending = [("", iter(listing.entries(base)))]
    while pending:
        rel_dir, entries = pending[-1]
        for name, _, is_dir, _, is_file in entries:
            if is_dir:
                if not recurse:
                    continue
            elif not name.endswith(MANIFEST_SUFFIXES) or not is_file:
                continue  # (Argo CD reads regular files only: a FIFO would block, a device never ends)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            repo_rel = f"{base}/{rel}" if base else rel
            if is_excluded(repo_rel, excluded, is_dir=is_dir):
                continue
            if is_dir:
                pending.append((rel, iter(listing.entries(repo_rel))))
                break  # (its entries before the rest of this folder's)
            if exclude and glob_match(exclude, rel):
                continue
            if include and not glob_match(include, rel):
                continue
            found.append(repo_rel)
        else:
            pending.pop()
    return found


def glob_match(pattern: str, text: str) -> bool:
    """github.com/gobwas/glob without separators (what Argo CD's util/glob compiles)."""
    compiled = _compile(pattern)
    return compiled is not None and compiled.fullmatch(text) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(_translate(pattern), re.DOTALL)
    except (re.error, ValueError):
        return None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError("unclosed [")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise ValueError("unclosed {")
    return "".join(out)


def read_file(rel: str, text: str | None, documents: list[Manifest], failed: bool) -> FileResult:
    """Argo CD's verdict on one YAML or JSON file, from what the loader made of it: `documents`
    are its mappings (typed or not) as the loader made them (`missing` names what each lacks),
    `failed` says a document could not be parsed or was not a mapping (the loader reported it)."""
    result = FileResult(rel)
    if text is not None and SKIP_MARKER in text:
        result.ignored = f"it contains {SKIP_MARKER}"
        return result
    if len(documents) == 1 and not failed and one_whole_object(rel, documents[0]):
        result.objects.append(documents[0])  # the usual file, one whole object: what the rest concludes
        return result
    ordered = documents if len(documents) < 2 else sorted(documents, key=lambda m: m.doc_index)
    by_index: dict[int, list[Manifest]] = {}
    for document in ordered:  # the items of a `kind: List` share their list's index
        by_index.setdefault(document.doc_index, []).append(document)
    decoded: list[Manifest] = []
    first_failure: Manifest | None = None
    broken = failed
    for index in range(max(by_index, default=-1) + 1):
        if index not in by_index:  # a document between them was not a mapping
            broken = True
            break
        bad = [d for d in by_index[index] if "kind" in d.missing]  # (the loader noted a kind that is no string, or empty)
        if bad:
            first_failure = bad[0]
            broken = True
            decoded.extend(d for d in by_index[index] if d not in bad)
            break
        decoded.extend(by_index[index])
    if rel.endswith(".json") and len(ordered) > 1:
        result.error = f"{rel} holds more than one object; a JSON file in a directory source must hold one"
        return result
    if broken:
        looks_like = text is not None and all(word in text for word in _LOOKS_LIKE_MANIFEST)
        if decoded or looks_like or rel.endswith(".json"):
            where = first_failure.position(())[0] if first_failure is not None else 1
            what = ("a document is not a Kubernetes object" if first_failure is None
                    else _kind_problem(first_failure))
            result.error = f"Argo CD cannot decode {rel}: {what}, so the whole Application fails to render"
            result.error_line = where
            # What decodes is still checked: the person fixes the file, and its other defects, at once.
            result.objects = [d for d in decoded if not d.missing]
            result.untyped = [d for d in decoded if d.missing]
            return result
        result.ignored = "Argo CD cannot decode it as a manifest and skips it (it does not look like one)"
        present = [word for word in _LOOKS_LIKE_MANIFEST if text is not None and word in text]
        if present and first_failure is not None:
            result.skipped_manifest = (
                f"Argo CD skips {rel} without a word: document {first_failure.doc_index + 1} has no kind, and the "
                f"file has {', '.join(present)} but not all of apiVersion:, kind: and metadata:, so nothing in it "
                "is applied")
            result.error_line = first_failure.position(())[0]
        return result
    for document in decoded:
        for item in _items(document):
            (result.untyped if item.missing else result.objects).append(item)
    return result


def one_whole_object(rel: str, document: Manifest) -> bool:
    """Whether `document`, the only one of a YAML file that parsed (without the skip marker), is
    what Argo CD applies of it: one object, with everything it needs, not a `kind: *List`."""
    return (document.doc_index == 0 and not document.missing and not rel.endswith(".json")
            and not document.kind.endswith("List"))


def _kind_problem(document: Manifest) -> str:
    kind = document.data.get("kind")
    number = document.doc_index + 1
    if kind is None or kind == "":
        return f"document {number} has no kind"
    what = "a number" if isinstance(kind, (int, float)) and not isinstance(kind, bool) else \
        "a boolean" if isinstance(kind, bool) else f"a {type(kind).__name__}"
    return f"document {number} has kind {kind!r}, {what}, where Kubernetes needs a string"


def _items(document: Manifest) -> list[Manifest]:
    """A `kind: List` document's items (Argo CD applies them one by one), else the document."""
    if not (document.kind.endswith("List") and isinstance(document.data.get("items"), list)):
        return [document]
    if document.kind != "List" and "spec" in document.data:
        return [document]
    items = []
    for i, item in enumerate(document.data["items"]):
        if isinstance(item, dict):
            items.append(_item(document, i, item))
    return items


def _item(document: Manifest, index: int, data: dict) -> Manifest:
    from wavegate.render.provenance import rendered_manifest

    def positions() -> dict:
        prefix = ("items", index)
        return {path[2:]: value for path, value in document.positions.items() if path[:2] == prefix} or \
            {(): document.position(prefix)}

    return rendered_manifest(document.path, document.doc_index, data, positions)


def evaluate_jsonnet(root: Path, rel: str, app_dir: str, jsonnet: dict, env: dict[str, str]) -> tuple[list[dict], str]:
    """The objects a .jsonnet file evaluates to, or the error Argo CD would show."""
    from wavegate.render.sourcetype import envsubst

    try:
        import _gojsonnet
    except ImportError:  # pragma: no cover - a dependency of wavegate
        return [], "the gojsonnet package is not installed (pip install gojsonnet)"
    ext_vars: dict[str, str] = {}
    ext_codes: dict[str, str] = {}
    tla_vars: dict[str, str] = {}
    tla_codes: dict[str, str] = {}
    for entry in jsonnet.get("extVars") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            target = ext_codes if entry.get("code") is True else ext_vars
            target[entry["name"]] = envsubst(str(entry.get("value", "")), env)
    for entry in jsonnet.get("tlas") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            target = tla_codes if entry.get("code") is True else tla_vars
            target[entry["name"]] = envsubst(str(entry.get("value", "")), env)
    paths = [str(root / app_dir)]
    for library in jsonnet.get("libs") or []:
        if isinstance(library, str):
            paths.append(str((root / library.lstrip("/")).resolve()))
    try:
        text = _gojsonnet.evaluate_file(str(root / rel), jpathdir=paths, ext_vars=ext_vars, ext_codes=ext_codes,
                                        tla_vars=tla_vars, tla_codes=tla_codes)
    except RuntimeError as error:
        return [], f"Failed to evaluate jsonnet {Path(rel).name!r}: {str(error).strip()}"
    try:
        value = json.loads(text)
    except ValueError as error:
        return [], f"Failed to unmarshal generated json {Path(rel).name!r}: {error}"
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)], ""
    if isinstance(value, dict):
        return [value], ""
    return [], f"Failed to unmarshal generated json {Path(rel).name!r}: not an object or a list of objects"
