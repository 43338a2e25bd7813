"""The one loader: finds a repository's manifests and parses them safely, keeping every position.

Only this module opens and parses YAML (DESIGN.md invariant 1). libyaml composes the node graph;
we build the Python objects from it ourselves, because that is where duplicate keys become
visible, where alias expansion can be bounded, and where each key's line and column can be kept.
Every problem with the input is a finding at a file and line, never an exception.
"""

from __future__ import annotations

import fnmatch
import gc
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from wavegate.findings import Finding, ResourceRef
from wavegate.rules import declare, format_path

try:  # libyaml is what makes loading fast; the pure-Python loader is a correct fallback.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - only on builds of PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def _fast_resolving(base):
    """`base` with PyYAML's implicit resolver short-circuited, giving exactly its tags.

    libyaml calls the Python `resolve` for every scalar. A quoted scalar (implicit[0] false) and
    a plain scalar whose first character starts none of the implicit resolvers' patterns are
    strings without looking further; other plain scalars are resolved by PyYAML once per
    distinct value (the answer depends on nothing else when there are no path resolvers)."""
    resolvers = base.yaml_implicit_resolvers
    if None in resolvers or base.yaml_path_resolvers:  # wildcard or path resolvers: keep PyYAML's
        return base
    first = frozenset(key for key in resolvers if key)
    default = base.DEFAULT_SCALAR_TAG
    scalar = yaml.ScalarNode
    slow = base.resolve
    known: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is scalar:
            if not implicit[0] or (value and value[0] not in first):
                return default
            tag = known.get(value)
            if tag is None:
                tag = slow(self, kind, value, implicit)
                if len(known) < 100_000:
                    known[value] = tag
            return tag
        return slow(self, kind, value, implicit)

    return type("FastResolving" + base.__name__, (base,), {"resolve": resolve})


_Loader = _fast_resolving(_Loader)

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
# A real manifest expands to a few hundred nodes; a billion-laughs file to billions. The bound is
# generous for anything real and is reached in milliseconds by a bomb, since sizes are counted
# per node (memoised), never by expanding.
MAX_EXPANDED_NODES = 1_000_000
# Real manifests nest a few dozen levels at most; the bound keeps every recursive reader safe.
MAX_DEPTH = 200
MAX_KEY_TEXT = 1024
ALWAYS_EXCLUDED = (".git", ".gitlab-ci.yml", ".wavegate.yaml", ".pre-commit-config.yaml",
                   ".pre-commit-hooks.yaml", "node_modules", ".tox", ".venv", ".tools", ".gitlab-ci-local")
YAML_SUFFIXES = (".yaml", ".yml")

_F = "yaml"
SYNTAX = declare(
    "yaml-syntax", "error", "The file is not valid YAML",
    """Argo CD cannot render a directory that holds a file it cannot parse: the whole Application
    goes to ComparisonError and nothing in it syncs, not just the broken file.""",
    "metadata:\n  name: web\n   labels: {}   # indented one space too far",
    "metadata:\n  name: web\n  labels: {}", _F)
TAB_INDENT = declare(
    "yaml-tab-indent", "error", "A tab character is used for indentation",
    """YAML forbids tabs in indentation. Editors often show them like spaces, so the file looks right
    and still fails to parse in Argo CD.""",
    "metadata:\n\tname: web", "metadata:\n  name: web", _F)
DUPLICATE_KEY = declare(
    "yaml-duplicate-key", "error", "A mapping has the same key twice",
    """Most YAML parsers, including the one Argo CD and kubectl use, keep the last value silently, so
    the first one looks set but is not. Merging two edits often produces this.""",
    "spec:\n  replicas: 2\n  replicas: 3", "spec:\n  replicas: 3", _F)
ALIAS_BOMB = declare(
    "yaml-alias-bomb", "error", "Aliases expand to an unreasonable number of nodes",
    """A few lines of anchors and aliases can expand to billions of nodes ("billion laughs") and
    exhaust the memory of every tool that reads the file, including the Argo CD repo server.""",
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n# ... nine levels deep",
    "labels: &labels {team: web}\nselector: *labels", _F)
TOO_DEEP = declare(
    "yaml-too-deep", "error", "The document nests deeper than any real manifest",
    """Thousands of nested lists or mappings are never a real Kubernetes object; they are a way to
    crash the tools that read the file (each level is a recursive call somewhere).""",
    "a: [[[[[[[[[[[[ ... thousands of levels ... ]]]]]]]]]]]]", "a: [1, 2, 3]", _F)
TOO_LARGE = declare(
    "yaml-file-too-large", "error", "The file is larger than the configured limit",
    """Very large files are usually generated by mistake (a vendored chart, a dump) and slow every
    reader down. Raise `maxFileBytes` in .wavegate.yaml if the file is meant to be there.""",
    "# a 40 MB file of rendered charts committed by accident", "# only the manifests Argo CD should sync", _F)
INVALID_UTF8 = declare(
    "yaml-invalid-utf8", "error", "The file is not valid UTF-8",
    """Kubernetes manifests must be UTF-8. A file saved in another encoding parses differently, or
    not at all, in Argo CD.""",
    "description: caf\\xe9   # Latin-1 byte", "description: café    # UTF-8", _F)
SYMLINK_ESCAPE = declare(
    "yaml-symlink-escape", "error", "A symbolic link points outside the repository",
    """Argo CD refuses to render a repository with symlinks that leave it, and a link like that
    can make tools read files that are not part of the change under review.""",
    "manifests/secret.yaml -> /etc/kubernetes/admin.yaml", "manifests/secret.yaml (a regular file)", _F)
NOT_A_MAPPING = declare(
    "yaml-not-a-mapping", "error", "A YAML document is not a mapping",
    """Every document Argo CD applies must be one Kubernetes object, which is a mapping with
    apiVersion, kind and metadata. A list or a bare string at the top is rejected at sync.""",
    "- apiVersion: v1\n  kind: Namespace", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web", _F)
UNREADABLE = declare(
    "yaml-unreadable", "error", "A file or directory cannot be read",
    """wavegate could not read it (no permission, a link that points nowhere or in a loop), so
    nothing in it was checked. A broken or looping link in the repository also stops Argo CD's repo
    server from generating the Application's manifests.""",
    "manifests/app.yaml -> manifests/base.yaml -> manifests/app.yaml   # links in a loop",
    "manifests/app.yaml   # a regular file", _F)
NOT_A_FILE = declare(
    "yaml-not-a-regular-file", "info", "A path with a YAML name is not a regular file",
    """A named pipe, socket or device called `*.yaml` is not something git can store, so Argo CD never
    sees it; reading one could block forever. It is skipped, and said so.""",
    "mkfifo manifests/app.yaml", "manifests/app.yaml   # a regular file", _F)


@dataclass
class Manifest:
    """One YAML document that is a Kubernetes object, with the position of every key."""

    path: str
    doc_index: int
    data: dict
    positions: dict[tuple, tuple[int, int, int, int]] = field(repr=False, default_factory=dict)
    # What Kubernetes type metadata the document lacks (apiVersion, kind, metadata.name); a
    # document lacking any is kept apart (Repo.untyped) and judged by the validators.
    missing: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def metadata(self) -> dict:
        value = self.data.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str | None:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else None

    @property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else None

    @property
    def annotations(self) -> dict:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @property
    def labels(self) -> dict:
        value = self.metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.api_version, self.kind, self.namespace, self.name)

    def get(self, *path, default=None):
        """The value at `path` (keys and list indexes), or `default` when any step is missing."""
        node = self.data
        for part in path:
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return default
            elif not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def __getattr__(self, name: str):
        # `positions` of a manifest from `load` are computed when first asked for (from the file's
        # text, by the same builder), since most manifests never need them; see _Source.
        if name == "positions":
            source = self.__dict__.get("_source")
            if source is not None:
                self.positions = source.positions_of(self.doc_index)
                return self.positions
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def position(self, path: tuple = (), key: bool = True) -> tuple[int, int]:
        """1-based (line, column) of `path`'s key (or of its value with key=False).

        Falls back to the nearest ancestor that exists: a missing field is added under its parent.
        """
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        key_line, key_col, value_line, value_col = self.positions.get(path, (1, 1, 1, 1))
        return (key_line, key_col) if key else (value_line, value_col)


@dataclass
class Repo:
    """A loaded repository: its manifests, the YAML files looked at, and what could not be loaded."""

    root: Path
    manifests: list[Manifest] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    untyped: list[Manifest] = field(default_factory=list)

    def by_kind(self, kind: str, group: str | None = None) -> list[Manifest]:
        return [m for m in self.manifests if m.kind == kind and (group is None or m.group == group)]


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_expanded_nodes: int = MAX_EXPANDED_NODES


# Above this many files, parsing is split across worker processes (one per CPU, at most
# MAX_WORKERS); below it, starting them costs more than it saves. WAVEGATE_LOAD_WORKERS=1
# turns the workers off (and =N asks for N).
PARALLEL_MIN_FILES = 200
MAX_WORKERS = 8


def load(root: Path | str, exclude: tuple[str, ...] = (), limits: Limits = Limits(),
         only: list[str] | None = None) -> Repo:
    """Load every manifest under `root` (or just the repository-relative files in `only`)."""
    root = Path(root).resolve()
    repo = Repo(root=root)
    paths = only if only is not None else discover(root, exclude)
    # Parsing allocates millions of objects that all stay alive; the cyclic collector would scan
    # the growing repository again and again for garbage that parsing does not make (a fifth of
    # the loading time on 10,000 manifests). It runs again as usual afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        loaded = _load_files(root, paths, limits)
    finally:
        if enabled:
            gc.enable()
    for rel, (manifests, problems) in zip(paths, loaded):
        repo.files.append(rel)
        for manifest in manifests:
            (repo.untyped if manifest.missing else repo.manifests).append(manifest)
        repo.problems.extend(problems)
    return repo


def _workers(files: int) -> int:
    wanted = os.environ.get("WAVEGATE_LOAD_WORKERS", "")
    if wanted.strip().isdigit():
        return max(1, int(wanted))
    if files <= PARALLEL_MIN_FILES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _load_chunk(root: Path, paths: list[str], limits: Limits) -> list[tuple[list[Manifest], list[Finding]]]:
    return [load_file(root, rel, limits, lazy_positions=True) for rel in paths]


def _load_files(root: Path, paths: list[str], limits: Limits) -> list[tuple[list[Manifest], list[Finding]]]:
    """load_file for each path, in order; in worker processes when there are many."""
    workers = _workers(len(paths))
    if workers > 1 and len(paths) > 1:
        try:
            return _load_parallel(root, paths, limits, workers)
        except Exception:  # noqa: BLE001 - no processes here (sandbox, daemon process): load in this one
            pass
    return _load_chunk(root, paths, limits)


def _load_parallel(root: Path, paths: list[str], limits: Limits, workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    size = max(25, -(-len(paths) // (workers * 4)))  # a few chunks per worker, to even out
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    results: list[tuple[list[Manifest], list[Finding]]] = []
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        for chunk in pool.map(_load_chunk, [root] * len(chunks), chunks, [limits] * len(chunks)):
            results.extend(chunk)
    return results


def discover(root: Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Repository-relative, `/`-separated paths of every YAML file wavegate should read, sorted.

    Directories that cannot be listed are in the list too, so that loading them reports why."""
    found: list[str] = []

    def unreadable(error: OSError) -> None:
        where = os.path.relpath(error.filename, root).replace(os.sep, "/") if error.filename else "."
        found.append(where)

    for directory, dirnames, filenames in os.walk(root, onerror=unreadable):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(rel_dir + d, exclude, is_dir=True))
        for name in filenames:
            rel = rel_dir + name
            if name.endswith(YAML_SUFFIXES) and not is_excluded(rel, exclude):
                found.append(rel)
        # Symlinked directories are not walked (os.walk default); a link that leaves the
        # repository is still reported, since someone meant it to be read.
        for d in list(dirnames):
            if os.path.islink(os.path.join(directory, d)):
                found.append(rel_dir + d)
    return sorted(found)


def is_excluded(rel: str, patterns: tuple[str, ...], is_dir: bool = False) -> bool:
    parts = rel.split("/")
    if any(part in ALWAYS_EXCLUDED for part in parts[:-1]) or parts[-1] in ALWAYS_EXCLUDED:
        return True
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatchcase(rel, pattern):
            return True
        # A pattern naming a directory excludes everything below it.
        for i in range(1, len(parts)):
            if fnmatch.fnmatchcase("/".join(parts[:i]), pattern):
                return True
    return False


def read_yaml(path: Path | str, rel: str | None = None,
              limits: Limits = Limits()) -> tuple[list[Manifest], list[Finding]]:
    """Any YAML file (configuration, values, policy fixtures), with the same safety and positions."""
    path = Path(path)
    return load_file(path.parent.resolve(), path.name, limits, require_object=False, display=rel or str(path))


def load_file(root: Path, rel: str, limits: Limits = Limits(), require_object: bool = True,
              display: str | None = None, lazy_positions: bool = False) -> tuple[list[Manifest], list[Finding]]:
    """Parse one file. Pure apart from reading it; safe to run in a worker process (its results
    pickle). With lazy_positions, each manifest keeps the file's text and computes `positions`
    when first asked for."""
    manifests, problems = _load_file(root, rel, limits, require_object, lazy_positions)
    if display is not None and display != rel:
        for m in manifests:
            m.path = display
        problems = [Finding(**{**p.__dict__, "path": display}) for p in problems]
    return manifests, problems


def _load_file(root: Path, rel: str, limits: Limits, require_object: bool,
               lazy_positions: bool = False) -> tuple[list[Manifest], list[Finding]]:
    full = root / rel
    if full.is_symlink():
        try:
            target = full.resolve()
        except (OSError, RuntimeError):  # a loop of links (RuntimeError before Python 3.13)
            return [], [UNREADABLE.at_file(rel, message=f"{_shown(rel)} is a symbolic link in a loop "
                                                        f"({_shown(rel)} -> {_shown(os.readlink(full))} -> ...)",
                                           hint="Point the link at a real file, or remove it.")]
        if not target.is_relative_to(root):
            return [], [SYMLINK_ESCAPE.at_file(rel, message=f"{_shown(rel)} is a symbolic link to {_shown(os.readlink(full))}, outside the repository",
                                               hint="Replace the link with the file itself, or remove it.")]
        if target.is_dir():
            return [], []
    try:
        status = full.stat()
        if stat.S_ISDIR(status.st_mode):  # listed by discover because it cannot be read
            os.scandir(full).close()
            return [], []
        if not stat.S_ISREG(status.st_mode):
            return [], [NOT_A_FILE.at_file(rel, message=f"{_shown(rel)} is {_file_type(status.st_mode)}, not a regular file; "
                                                        "it was skipped",
                                           hint="Remove it; git cannot store it, so Argo CD never sees it.")]
        size = status.st_size
        if size > limits.max_file_bytes:
            return [], [TOO_LARGE.at_file(rel, message=f"{_shown(rel)} is {size:,} bytes, over the {limits.max_file_bytes:,}-byte limit",
                                          hint="Remove the file, exclude it in .wavegate.yaml, or raise maxFileBytes there.")]
        raw = full.read_bytes()
    except OSError as error:
        what = "directory" if full.is_dir() else "file"
        hint = ("Restore the file the link points to, or remove the link." if full.is_symlink() and not full.exists()
                else "Make it readable by the user running wavegate, or exclude it in .wavegate.yaml.")
        return [], [UNREADABLE.at_file(rel, message=f"cannot read {what} {_shown(rel)}: {error.strerror or error}",
                                       hint=hint)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return [], [INVALID_UTF8.at_file(rel, line, column,
                                         message=f"byte 0x{raw[error.start]:02x} at offset {error.start} is not valid UTF-8",
                                         hint="Save the file as UTF-8.")]
    return parse_documents(rel, text, limits, require_object, lazy_positions)


def _shown(path: str) -> str:
    """A path as a message shows it: as written unless it holds characters that would break the
    line it is on (a newline in a file name), which are escaped."""
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def parse_documents(rel: str, text: str, limits: Limits = Limits(),
                    require_object: bool = True, lazy_positions: bool = False,
                    lists: bool = True) -> tuple[list[Manifest], list[Finding]]:
    """Parse every document of `text`. With require_object=False any mapping is accepted
    (configuration, values and test files), not only Kubernetes objects. With lazy_positions,
    `positions` are computed from `text` when first asked for. A `kind: *List` document stands
    for its items, as in Argo CD (lists=False keeps it whole)."""
    source = _Source(rel, text, limits, require_object) if lazy_positions else None
    manifests: list[Manifest] = []
    problems: list[Finding] = []
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheap test first; the real one streams events
        too_deep = _first_too_deep(text)
        if too_deep is not None:
            return [], [TOO_DEEP.at_file(rel, too_deep[0], too_deep[1],
                                         message=f"the file nests more than {MAX_DEPTH} levels deep",
                                         hint="Flatten the structure; no Kubernetes object needs this depth.")]
    may_alias = "*" in text  # without an alias token every document is a tree
    loader = _Loader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is not None and not (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
                builder = _Builder(rel, index, limits, require_object, may_alias=may_alias,
                                   keep_positions=source is None)
                manifest, found = builder.document(node)
                if manifest is not None and source is not None:
                    del manifest.positions
                    manifest._source = source
                problems.extend(found)
                if manifest is not None and require_object and lists and _is_list(manifest):
                    items, found = _list_items(manifest, source)
                    manifests.extend(items)
                    problems.extend(found)
                elif manifest is not None:
                    manifests.append(manifest)
            index += 1
    except yaml.MarkedYAMLError as error:
        problems.append(_syntax_finding(rel, text, error))
    except yaml.YAMLError as error:  # errors without a position (reader errors)
        problems.append(SYNTAX.at_file(rel, message=f"{rel} is not valid YAML: {error}"))
    finally:
        loader.dispose()
    return manifests, problems


def _missing_type(manifest: Manifest) -> tuple[str, ...]:
    """The Kubernetes type metadata a document lacks (see Manifest.missing)."""
    data = manifest.data
    missing = [k for k in ("apiVersion", "kind") if not isinstance(data.get(k), str) or not data.get(k)]
    if not manifest.name and "generateName" not in manifest.metadata:
        missing.append("metadata.name")
    return tuple(missing)


def _is_list(manifest: Manifest) -> bool:
    # Argo CD's repo server applies the items of a list object and drops the list itself
    # (unstructured IsList/EachListItem); kubectl and kustomize do the same for `kind: *List`.
    return manifest.kind.endswith("List") and isinstance(manifest.data.get("items"), list)


def _list_items(wrapper: Manifest, source: _Source | None) -> tuple[list[Manifest], list[Finding]]:
    """The items of a list document, each a document of its own that keeps its own positions."""
    items: list[Manifest] = []
    problems: list[Finding] = []
    for i, data in enumerate(wrapper.data["items"]):
        if not isinstance(data, dict):
            positions = wrapper.positions if source is None else source.positions_of(wrapper.doc_index)
            line, column = positions.get(("items", i), positions.get((), (1, 1)))[:2]
            what = "a list" if isinstance(data, list) else "a scalar"
            problems.append(NOT_A_MAPPING.at_file(
                wrapper.path, line, column, field=f"items[{i}]",
                message=f"item {i + 1} of the {wrapper.kind} in document {wrapper.doc_index + 1} is {what}, "
                        "not a Kubernetes object; Argo CD fails to generate the manifests",
                hint="Each item must be one object with apiVersion, kind and metadata."))
            continue
        if not data:
            continue
        item = Manifest(wrapper.path, wrapper.doc_index, data)
        if source is None:
            item.positions = _ItemSource.of(wrapper.positions, i)
        else:
            del item.positions
            item._source = _ItemSource(source, i)
        item.missing = _missing_type(item)
        items.append(item)
    return items, problems


def _first_too_deep(text: str) -> tuple[int, int] | None:
    """Where nesting first exceeds MAX_DEPTH, found from the event stream, which (unlike
    composing) does not recurse: libyaml's composer would overflow the C stack on such input."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark.line + 1, event.start_mark.column + 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        # Newer libyaml stops at its own nesting limit (1000) before we reach ours.
        if "nesting depth" in str(error.problem) and error.problem_mark is not None:
            return error.problem_mark.line + 1, error.problem_mark.column + 1
        return None  # the composer reports the syntax error with its position
    except yaml.YAMLError:
        return None
    return None


def _syntax_finding(rel: str, text: str, error: yaml.MarkedYAMLError) -> Finding:
    mark = error.problem_mark or error.context_mark
    line = (mark.line + 1) if mark else 1
    column = (mark.column + 1) if mark else 1
    lines = text.splitlines()
    # libyaml reports a tab as "found character that cannot start any token" somewhere near it;
    # say what is really wrong and point at the tab.
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            stripped = lines[number - 1]
            indent = stripped[: len(stripped) - len(stripped.lstrip(" \t"))]
            if "\t" in indent:
                return TAB_INDENT.at_file(rel, number, indent.index("\t") + 1,
                                          message="a tab is used for indentation; YAML allows only spaces",
                                          hint="Replace the tab with spaces.")
    problem = " ".join(filter(None, [error.context, error.problem]))
    return SYNTAX.at_file(rel, line, column, message=f"invalid YAML: {problem}",
                          hint="Fix the syntax at this line; `yamllint` shows more detail.")


class _Source:
    """The text of one file, for the positions of its manifests when first asked for: parsed
    again by the same builder, once for all documents of the file."""

    __slots__ = ("rel", "text", "limits", "require_object", "_positions")

    def __init__(self, rel: str, text: str, limits: Limits, require_object: bool):
        self.rel, self.text, self.limits, self.require_object = rel, text, limits, require_object
        self._positions: dict[int, dict] | None = None

    def __reduce__(self):
        return _Source, (self.rel, self.text, self.limits, self.require_object)

    def positions_of(self, doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        if self._positions is None:
            manifests, _ = parse_documents(self.rel, self.text, self.limits, self.require_object, lists=False)
            self._positions = {m.doc_index: m.positions for m in manifests}
        return self._positions.get(doc_index, {})


class _ItemSource:
    """The positions of item `index` of a list document, from its file's _Source."""

    __slots__ = ("source", "index")

    def __init__(self, source: _Source, index: int):
        self.source, self.index = source, index

    def __reduce__(self):
        return _ItemSource, (self.source, self.index)

    def positions_of(self, doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        return self.of(self.source.positions_of(doc_index), self.index)

    @staticmethod
    def of(positions: dict, index: int) -> dict[tuple, tuple[int, int, int, int]]:
        prefix = ("items", index)
        found = {path[2:]: where for path, where in positions.items() if path[:2] == prefix}
        if () in found:  # the item itself: its first line, as a document's
            line, column = found[()][2:]
            found[()] = (line, column, line, column)
        return found


_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BINARY_TAG = "tag:yaml.org,2002:binary"


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


class _NotPlain(Exception):
    pass


_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class _Builder:
    """Builds plain Python data from one composed document, recording positions and problems."""

    _scalars = yaml.constructor.SafeConstructor()

    def __init__(self, rel: str, index: int, limits: Limits, require_object: bool = True, may_alias: bool = True,
                 keep_positions: bool = True):
        self.require_object = require_object
        self.may_alias = may_alias
        self.keep_positions = keep_positions
        self.rel = rel
        self.index = index
        self.limits = limits
        self.positions: dict[tuple, tuple[int, int, int, int]] = {}
        self.problems: list[Finding] = []
        self.sizes: dict[int, int] = {}
        self.manifest: Manifest | None = None
        self.duplicates: list[tuple] = []

    def document(self, node: yaml.Node) -> tuple[Manifest | None, list[Finding]]:
        start = node.start_mark
        data = self._plain_document(node)
        if data is None:  # the general path: sizes, depth and shape checked first
            try:
                size = self._expanded_size(node, set(), 0) if self.may_alias else self._tree_size(node)
            except _TooLarge:
                size = self.limits.max_expanded_nodes + 1
            except _TooDeep:
                return None, [TOO_DEEP.at_file(self.rel, start.line + 1, start.column + 1,
                                               message=f"document {self.index + 1} nests more than {MAX_DEPTH} levels deep",
                                               hint="Flatten the structure; no Kubernetes object needs this depth.")]
            if size > self.limits.max_expanded_nodes:
                return None, [ALIAS_BOMB.at_file(self.rel, start.line + 1, start.column + 1,
                                                 message=f"document {self.index + 1} expands to more than {self.limits.max_expanded_nodes:,} nodes through aliases",
                                                 hint="Remove the nested anchors and aliases; write the values out.")]
        if not isinstance(node, yaml.MappingNode):
            what = "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"
            return None, [NOT_A_MAPPING.at_file(self.rel, start.line + 1, start.column + 1,
                                                message=f"document {self.index + 1} is {what}, not a Kubernetes object",
                                                hint="Each document must be one object with apiVersion, kind and metadata.")]
        self.manifest = Manifest(self.rel, self.index, {}, self.positions)
        mark = (start.line + 1, start.column + 1)
        self.positions[()] = mark + mark
        if data is None:
            data = self._build(node, (), True)
        self.manifest.data = data
        for line, column, key, first, child_path in self.duplicates:
            self.problems.append(DUPLICATE_KEY.at_file(
                self.rel, line, column, resource=self.manifest.ref, field=format_path(child_path),
                message=f"key {key!r} appears twice in this mapping (first at line {first}); only this last value counts",
                hint="Delete one of the two, keeping the value you mean."))
        if not self.require_object:
            return self.manifest, self.problems
        if not data:  # an empty mapping `{}` is as harmless as an empty document
            return None, self.problems
        self.manifest.missing = _missing_type(self.manifest)
        return self.manifest, self.problems

    def _plain_document(self, root: yaml.Node) -> dict | None:
        """The data of a plain document in one pass, or None when the general path must build it.

        Plain: a mapping without aliases (a tree), merge keys, duplicate or non-scalar keys, at
        most MAX_DEPTH deep and of at most max_expanded_nodes nodes, and no positions wanted
        (they are computed later by the general path). For such a document the general path
        finds no problem and builds the same data; this pass skips its separate size count and
        the paths it keeps for positions and duplicates."""
        if self.may_alias or self.keep_positions or type(root) is not yaml.MappingNode:
            return None
        self._count = 0
        try:
            data = self._plain(root, 0)
        except _NotPlain:
            return None
        return data if self._count <= self.limits.max_expanded_nodes else None

    def _plain(self, node: yaml.Node, depth: int):
        self._count += 1
        kind = type(node)
        if kind is _ScalarNode:
            return node.value if node.tag == _STR_TAG else self._scalar(node)
        if depth >= MAX_DEPTH:  # its children would be too deep: the general path says so
            raise _NotPlain
        if kind is _MappingNode:
            result = {}
            for key_node, value_node in node.value:
                if type(key_node) is not _ScalarNode or key_node.tag == _MERGE_TAG:
                    raise _NotPlain
                self._count += 1
                key = key_node.value if key_node.tag == _STR_TAG else self._key(key_node)
                result[key] = self._plain(value_node, depth + 1)
            if len(result) != len(node.value):  # a duplicate key
                raise _NotPlain
            return result
        if kind is _SequenceNode:
            return [self._plain(child, depth + 1) for child in node.value]
        raise _NotPlain

    def _tree_size(self, root: yaml.Node) -> int:
        """_expanded_size of a document without aliases (a tree), counted without recursion.

        In a tree of at most max_expanded_nodes nodes no subtree is too large, so the answer is
        the node count, or _TooDeep when some node is deeper than MAX_DEPTH; anything larger
        takes the general path, which decides between the two exactly as for any document."""
        count, deepest = 0, 0
        stack = [(root, 0)]
        pop, push = stack.pop, stack.append
        sequence, mapping = yaml.SequenceNode, yaml.MappingNode
        while stack:
            node, depth = pop()
            count += 1
            if depth > deepest:
                deepest = depth
            kind = type(node)
            if kind is mapping or isinstance(node, mapping):
                for key, value in node.value:
                    push((key, depth + 1))
                    push((value, depth + 1))
            elif kind is sequence or isinstance(node, sequence):
                for child in node.value:
                    push((child, depth + 1))
        if count > self.limits.max_expanded_nodes:
            return self._expanded_size(root, set(), 0)
        if deepest > MAX_DEPTH:
            raise _TooDeep
        return count

    def _expanded_size(self, node: yaml.Node, stack: set[int], depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise _TooDeep
        if id(node) in stack:  # recursive alias: infinite expansion
            raise _TooLarge
        stack.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            size = 1
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._expanded_size(child, stack, depth + 1) for child in node.value)
        else:
            size = 1 + sum(self._expanded_size(k, stack, depth + 1) + self._expanded_size(v, stack, depth + 1)
                           for k, v in node.value)
        stack.discard(id(node))
        if size > self.limits.max_expanded_nodes:
            raise _TooLarge
        self.sizes[id(node)] = size
        return size

    def _build(self, node: yaml.Node, path: tuple, record: bool):
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, child in enumerate(node.value):
                child_path = path + (i,)
                if record and self.keep_positions:
                    mark = (child.start_mark.line + 1, child.start_mark.column + 1)
                    self.positions[child_path] = mark + mark
                items.append(self._build(child, child_path, record))
            return items
        return self._mapping(node, path, record)

    def _mapping(self, node: yaml.MappingNode, path: tuple, record: bool) -> dict:
        result: dict = {}
        merged: dict = {}
        seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in reversed(sources):
                    if isinstance(source, yaml.MappingNode):
                        merged.update(self._mapping(source, path, False))
                continue
            key = self._key(key_node)
            child_path = path + (key,)
            if key in seen and record:
                self.duplicates.append((key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        key, seen[key], child_path))
            seen[key] = key_node.start_mark.line + 1
            if record and self.keep_positions:
                self.positions[child_path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                              value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            result[key] = self._build(value_node, child_path, record)
        if merged:
            return {**merged, **result}
        return result

    def _key(self, node: yaml.Node):
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if isinstance(value, bool):  # JSON has only string keys; Kubernetes writes these as text
                return "true" if value else "false"
            return value if isinstance(value, str) else str(value) if value is not None else "null"
        # A mapping or list as a key (which Kubernetes' YAML cannot read) becomes its text, bounded:
        # nested ones re-escape the text of the keys inside, doubling it at every level.
        return str(self._build(node, (), False))[:MAX_KEY_TEXT]

    def _scalar(self, node: yaml.ScalarNode):
        # Kubernetes converts YAML to JSON, where timestamps and binary are plain strings.
        if node.tag in (_STR_TAG, _TIMESTAMP_TAG, _BINARY_TAG) or node.tag.startswith("!"):
            return node.value
        constructor = self._scalars.yaml_constructors.get(node.tag)
        if constructor is None:
            return node.value
        try:
            return constructor(self._scalars, node)
        except (yaml.YAMLError, ValueError):
            return node.value

