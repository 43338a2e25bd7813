"""The one loader: finds a repository's manifests and parses them safely, keeping every position.

What it finds is wavegate.discovery's, what it makes is wavegate.manifest's (Manifest, Repo,
Limits); both are re-exported here, so callers import everything from wavegate.load.

Only this module opens and parses YAML (DESIGN.md invariant 1). libyaml composes the node graph;
we build the Python objects from it ourselves, because that is where duplicate keys become
visible, where alias expansion can be bounded, and where each key's line and column can be kept.
Scalars and keys are typed as Kubernetes types them (sigs.k8s.io/yaml: wavegate.kube_yaml), and
what it refuses is refused. Every problem with the input is a finding at a file and line, never
an exception.
"""

from __future__ import annotations

import errno
import gc
import marshal
import os
import re
import stat
from pathlib import Path

import yaml

from wavegate import kube_yaml, load_native
from wavegate.cache import finding_from_plain, plain_finding
from wavegate.discovery import ALWAYS_EXCLUDED as ALWAYS_EXCLUDED
from wavegate.discovery import YAML_SUFFIXES as YAML_SUFFIXES
from wavegate.discovery import Listing, discover
from wavegate.discovery import is_excluded as is_excluded
from wavegate.findings import Finding
from wavegate.manifest import DEFAULT_MAX_FILE_BYTES as DEFAULT_MAX_FILE_BYTES
from wavegate.manifest import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from wavegate.manifest import Limits, Manifest, Repo
from wavegate.rules import declare, format_path

try:  # libyaml is what makes loading fast; the pure-Python loader is a correct fallback.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - only on builds of PyYAML without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


def _go_resolving(base):
    """A `resolve` for `base` with go-yaml v2's resolution of plain scalars (kube_yaml.plain_tag), as
    sigs.k8s.io/yaml reads YAML for kubectl, Argo CD and the API server, instead of PyYAML's.

    libyaml calls `resolve` for every scalar. A quoted scalar (implicit[0] false) and a plain
    scalar whose first character starts no other type are strings without looking further;
    other plain scalars are resolved once per distinct value."""
    first = kube_yaml.RESOLVED_FIRST
    string, scalar, sequence = kube_yaml.STR, yaml.ScalarNode, yaml.SequenceNode
    sequence_tag, mapping_tag = base.DEFAULT_SEQUENCE_TAG, base.DEFAULT_MAPPING_TAG
    plain_tag = kube_yaml.plain_tag
    known: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is scalar:
            if not implicit[0] or (value and value[0] not in first and value != "<<"):
                return string
            tag = known.get(value)
            if tag is None:
                tag = plain_tag(value)
                if len(known) < 100_000:
                    known[value] = tag
            return tag
        return sequence_tag if kind is sequence else mapping_tag

    return resolve


class _Loader(_SafeLoader):
    """PyYAML's safe loader (libyaml's when built) resolving scalars as go-yaml v2 does."""

    resolve = _go_resolving(_SafeLoader)


class _TagKeepingLoader(yaml.composer.Composer, _Loader):
    """The same parser with PyYAML's composer in Python, for the two things libyaml's composer
    decides unlike go-yaml: the non-specific tag `!` (a string there, whatever it looks like;
    libyaml resolves it like an untagged scalar) and an anchor defined twice (go-yaml lets the
    later definition hold for later aliases; PyYAML refuses). Slower: only for files that need it."""

    def __init__(self, stream):
        _Loader.__init__(self, stream)
        yaml.composer.Composer.__init__(self)

    def compose_node(self, parent, index):
        event = self.peek_event()  # (a node's: compose_node is called only there)
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            if event.anchor not in self.anchors:
                # (types-PyYAML names only yaml.error.Mark; libyaml's events carry yaml._yaml.Mark, which serves too)
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)  # type: ignore[arg-type]  # libyaml's Mark
            return self.anchors[event.anchor]
        anchor = event.anchor if isinstance(event, yaml.NodeEvent) else None
        if isinstance(event, yaml.ScalarEvent):
            self.get_event()
            tag = event.tag if event.tag is not None else self.resolve(yaml.ScalarNode, event.value, event.implicit)
            start, end = event.start_mark, event.end_mark
            node = yaml.ScalarNode(tag, event.value, start, end, style=event.style)  # type: ignore[arg-type]  # libyaml's Mark
            if anchor is not None:
                self.anchors[anchor] = node
            return node
        # (types-PyYAML types these methods' `anchor` as a dict; PyYAML passes the anchor's name, as here)
        if isinstance(event, yaml.SequenceStartEvent):
            return self.compose_sequence_node(anchor)  # type: ignore[arg-type]  # the stub's anchor type is wrong
        return self.compose_mapping_node(anchor)  # type: ignore[arg-type]  # the stub's anchor type is wrong


# A tag at a node's start (after its anchor) as go-yaml scans it: `!` and every URI character,
# `,[]` too, where libyaml (in a flow collection) stops before them.
_TAG_TOKEN = re.compile(r"(?:&[^\s,\[\]{}]*\s+)?(!(?!<)[0-9A-Za-z_;/?:@&=+$,.!~*'()\[\]%-]*)")
_FLOW_TAG = re.compile(r"![0-9A-Za-z_;/?:@&=+$.!~*'()%-]*[,\[\]]")
# `!` as a whole tag (or its verbatim form `!<!>`): where libyaml's composer loses what go-yaml sees.
_NON_SPECIFIC_TAG = re.compile(r"(?:^|[\s\[\]{},?:-])!(?:<!>)?(?=[\s\[\]{},]|$)", re.M)

# Argo CD's repo-server reads no object from a file whose text has this (wavegate.render.directory);
# the loader, which reads every file anyway, notes which do (Repo.skip_marked).
SKIP_RENDERING_MARKER = b"+argocd:skip-file-rendering"
# Real manifests nest a few dozen levels at most; the bound keeps every recursive reader safe.
MAX_DEPTH = 200
MAX_KEY_TEXT = 1024

_F = "yaml"
SYNTAX = declare(
    id="yaml-syntax", family=_F, severity="error",
    title="The file is not valid YAML",
    rationale="""Argo CD cannot render a directory that holds a file it cannot parse: the whole Application
    goes to ComparisonError and nothing in it syncs, not just the broken file.""")
TAB_INDENT = declare(
    id="yaml-tab-indent", family=_F, severity="error",
    title="A tab character is used for indentation",
    rationale="""YAML forbids tabs in indentation. Editors often show them like spaces, so the file looks right
    and still fails to parse in Argo CD.""")
DUPLICATE_KEY = declare(
    id="yaml-duplicate-key", family=_F, severity="error",
    title="A mapping has the same key twice",
    rationale="""Most YAML parsers, including the one Argo CD and kubectl use, keep the last value silently, so
    the first one looks set but is not. Merging two edits often produces this.""")
ALIAS_BOMB = declare(
    id="yaml-alias-bomb", family=_F, severity="error",
    title="Aliases expand to an unreasonable number of nodes",
    rationale="""A few lines of anchors and aliases can expand to billions of nodes ("billion laughs") and
    exhaust the memory of every tool that reads the file, including the Argo CD repo server.
    Kubernetes' YAML parser (go-yaml) refuses far smaller ones too: a document of over 1,000
    nodes of which more than 99 % come from expanding aliases.""")
TOO_DEEP = declare(
    id="yaml-too-deep", family=_F, severity="error",
    title="The document nests deeper than any real manifest",
    rationale="""Thousands of nested lists or mappings are never a real Kubernetes object; they are a way to
    crash the tools that read the file (each level is a recursive call somewhere).""")
TOO_LARGE = declare(
    id="yaml-file-too-large", family=_F, severity="error",
    title="The file is larger than the configured limit",
    rationale="""Very large files are usually generated by mistake (a vendored chart, a dump) and slow every
    reader down. Raise `maxFileBytes` in .wavegate.yaml if the file is meant to be there.""")
INVALID_UTF8 = declare(
    id="yaml-invalid-utf8", family=_F, severity="error",
    title="The file is not valid UTF-8",
    rationale="""Kubernetes manifests must be UTF-8. A file saved in another encoding parses differently, or
    not at all, in Argo CD.""")
SYMLINK_ESCAPE = declare(
    id="yaml-symlink-escape", family=_F, severity="error",
    title="A symbolic link points outside the repository",
    rationale="""Argo CD refuses to render a repository with symlinks that leave it, and a link like that
    can make tools read files that are not part of the change under review.""")
NOT_A_MAPPING = declare(
    id="yaml-not-a-mapping", family=_F, severity="error",
    title="A YAML document is not a mapping",
    rationale="""Every document Argo CD applies must be one Kubernetes object, which is a mapping with
    apiVersion, kind and metadata. A list or a bare string at the top is rejected at sync.""")
NOT_JSON = declare(
    id="yaml-not-json", family=_F, severity="error",
    title="Kubernetes cannot turn this YAML into JSON",
    rationale="""kubectl, the Argo CD repo server and the API server convert each YAML document to JSON
    (sigs.k8s.io/yaml) before anything else, and refuse the whole document when that fails: a
    key that is null, a list or a mapping, or an integer above 2^63-1; a value `.inf` or `.nan`
    (JSON has no such numbers); a tag whose value does not fit it (`!!int abc`); a `<<` merge of
    something that is not a mapping. Argo CD reports the Application as ComparisonError.""")
UNREADABLE = declare(
    id="yaml-unreadable", family=_F, severity="error",
    title="A file or directory cannot be read",
    rationale="""wavegate could not read it (no permission, a link that points nowhere or in a loop), so
    nothing in it was checked. A broken or looping link in the repository also stops Argo CD's repo
    server from generating the Application's manifests.""")
NOT_A_FILE = declare(
    id="yaml-not-a-regular-file", family=_F, severity="info",
    title="A path with a YAML name is not a regular file",
    rationale="""A named pipe, socket or device called `*.yaml` is not something git can store, so Argo CD never
    sees it; reading one could block forever. It is skipped, and said so.""")


# Above this many files, reading is split across worker processes (one per CPU, at most
# MAX_WORKERS; this process reads a share too); below it, starting them costs more than it saves.
# The native loader reads a file in a tenth of the Python path's time, so it needs more files to
# pay. WAVEGATE_LOAD_WORKERS=1 turns the workers off (and =N asks for N).
PARALLEL_MIN_FILES = 200
NATIVE_PARALLEL_MIN_FILES = 2000
MAX_WORKERS = 8


def load(root: Path | str, exclude: tuple[str, ...] = (), limits: Limits = Limits(),
         only: list[str] | None = None, cache=None, tree=None) -> Repo:
    """Load every manifest under `root` (or just the repository-relative files in `only`). With a
    wavegate.cache.Cache, files whose content was parsed before are not parsed again. `tree`: a
    wavegate.cache.TreeState of `root` taken just before (its folders and content hashes are used)."""
    root = Path(root).resolve()
    skip_marked: set[str] = set()
    repo = Repo(root=root, skip_marked=skip_marked, listing=Listing(root, tree.directories if tree is not None else None))
    paths = only if only is not None else discover(root, exclude, repo.listing)
    store = cache.files("parse", root, limits.max_file_bytes, limits.max_expanded_nodes) if cache is not None else None
    # Parsing allocates millions of objects that all stay alive; the cyclic collector would scan
    # the growing repository again and again for garbage that parsing does not make (a fifth of
    # the loading time on 10,000 manifests). It runs again as usual afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        if store is None:
            loaded = _load_files(root, paths, limits)
        else:
            loaded, repo.digests = _load_cached(root, paths, limits, store, tree.stats if tree is not None else {})
    finally:
        if enabled:
            gc.enable()
    for rel, (manifests, problems, marked) in zip(paths, loaded, strict=True):
        repo.files.append(rel)
        for manifest in manifests:
            (repo.untyped if manifest.missing else repo.manifests).append(manifest)
        repo.problems.extend(problems)
        if marked:
            skip_marked.add(rel)
    return repo


def _load_cached(root: Path, paths: list[str], limits: Limits, store, tree: dict) -> tuple[list, dict[str, str]]:
    """_load_files, with each regular file's result kept in `store` (a wavegate.cache.FileStore)
    by its content hash: a file whose size, time and inode did not change is not read, one whose
    content did not change is not parsed. Also the content hash of each regular file. `tree`:
    (size, mtime, inode, content hash) of files, just taken (wavegate.cache.tree_state)."""
    from wavegate.cache import content_digest

    results: list = [None] * len(paths)
    top = str(root)
    stats: dict[int, tuple | os.stat_result] = {}
    unknown: list[int] = []
    digests: dict[str, str] = {}
    for i, rel in enumerate(paths):
        taken = tree.get(rel)
        if type(taken) is tuple and len(taken) == 4:  # a regular file whose content hash was just taken
            if taken[0] > limits.max_file_bytes:
                continue
            stats[i] = taken
            value = store.get_content(rel, taken[3])
            if value is not None and (found := _from_store(root, rel, value, limits)) is not None:
                results[i] = found
                digests[rel] = taken[3]
            else:
                unknown.append(i)
            continue
        try:
            status = os.lstat(os.path.join(top, rel))
        except OSError:
            continue  # the uncached path reports it
        if not stat.S_ISREG(status.st_mode) or status.st_size > limits.max_file_bytes:
            continue
        stats[i] = status
        known = store.get(rel, status)
        if known is None or (found := _from_store(root, rel, known[1], limits)) is None:
            unknown.append(i)
        else:
            results[i] = found
            digests[rel] = known[0]
    raws: dict[int, bytes] = {}
    for i in unknown:
        try:
            raw = _read_bytes(os.path.join(top, paths[i]), limits.max_file_bytes)
        except (OSError, _TooLargeFile, _NotRegular):
            continue
        digest = digests[paths[i]] = content_digest(raw)
        value = store.get_content(paths[i], digest)
        found = _from_store(root, paths[i], value, limits) if value is not None else None
        if found is None:
            raws[i] = raw
        else:
            results[i] = found
            store.put(paths[i], stats[i], digest, value)  # (touched: its time changed, not its content)
    missing = [i for i, found in enumerate(results) if found is None]
    if missing and len(raws) == len(missing) and _workers(len(missing)) == 1:
        parsed = [_parse_raw(paths[i], raws[i], limits) for i in missing]
    else:
        parsed = _load_files(root, [paths[i] for i in missing], limits)
    for i, result in zip(missing, parsed, strict=True):
        results[i] = result
        if i in raws:
            store.put(paths[i], stats[i], digests[paths[i]], _to_store(result))
    store.save()
    return results, digests


def _to_store(result: tuple[list[Manifest], list[Finding], bool]) -> tuple:
    """A file's result as plain data: per manifest its index, data, missing fields and position
    table (None for the Python path's, whose positions come from the file's text when asked)."""
    manifests, problems, marked = result
    documents = []
    for m in manifests:
        source = m.__dict__.get("_source")
        table = source.table if type(source) is load_native.PositionTable else None
        documents.append((m.doc_index, m.data, m.missing, table))
    return (documents, [plain_finding(p) for p in problems], marked)


def _from_store(root: Path, rel: str, value, limits: Limits):
    try:
        documents, problems, marked = value
        manifests = []
        source = None
        for doc_index, data, missing, table in documents:
            manifest = Manifest(rel, doc_index, data, missing=tuple(missing))
            del manifest.positions
            if table is not None:
                manifest._source = load_native.PositionTable(table, data)
            else:
                source = source or _Source(rel, None, limits, True, root / rel)
                manifest._source = source
            manifests.append(manifest)
        return manifests, [finding_from_plain(p) for p in problems], bool(marked)
    except (TypeError, ValueError):  # not what _to_store makes: parse the file again
        return None


def as_written(manifest: Manifest) -> bool:
    """Whether `manifest` is a document of its file as the loader read it (its data and positions
    are the file's own), not an object that a tool rendered."""
    return type(manifest.__dict__.get("_source")) in (_Source, load_native.PositionTable)


def _workers(files: int) -> int:
    wanted = os.environ.get("WAVEGATE_LOAD_WORKERS", "")
    if wanted.strip().isdigit():
        return max(1, int(wanted))
    if files <= (NATIVE_PARALLEL_MIN_FILES if load_native.AVAILABLE else PARALLEL_MIN_FILES):
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _load_chunk(root: Path, paths: list[str], limits: Limits) -> list[tuple[list[Manifest], list[Finding], bool]]:
    return [_read_file(root, rel, limits, True, True) for rel in paths]


def _load_files(root: Path, paths: list[str], limits: Limits) -> list[tuple[list[Manifest], list[Finding], bool]]:
    """load_file for each path, in order; shared with worker processes when there are many."""
    workers = _workers(len(paths))
    if workers > 1 and len(paths) > 1:
        try:
            return _load_parallel(root, paths, limits, workers)
        except Exception:  # noqa: BLE001 - no processes here (sandbox, daemon process): load in this one
            pass
    return _load_chunk(root, paths, limits)


def _load_share(root: Path, paths: list[str], limits: Limits) -> bytes:
    """A worker's share: its files' results as plain data, marshalled (the cache's form,
    _to_store). Sending objects back pickled cost more than parsing them (measured: 1.5-2.1 s with
    two workers against 1.1-1.3 s in one process on 10,000 files); marshal does it in C."""
    return marshal.dumps([_to_store(result) for result in _load_chunk(root, paths, limits)])


def _load_parallel(root: Path, paths: list[str], limits: Limits, workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    size = -(-len(paths) // workers)
    shares = [paths[i:i + size] for i in range(0, len(paths), size)]
    with ProcessPoolExecutor(max_workers=len(shares) - 1, mp_context=context) as pool:
        sent = [pool.submit(_load_share, root, share, limits) for share in shares[1:]]
        results = _load_chunk(root, shares[0], limits)  # this process's share, meanwhile
        for future, share in zip(sent, shares[1:], strict=True):
            for rel, value in zip(share, marshal.loads(future.result()), strict=True):
                found = _from_store(root, rel, value, limits)
                results.append(found if found is not None else _read_file(root, rel, limits, True, True))
    return results


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
    manifests, problems, _ = _read_file(root, rel, limits, require_object, lazy_positions)
    return manifests, problems


def _read_file(root: Path, rel: str, limits: Limits, require_object: bool,
               lazy_positions: bool) -> tuple[list[Manifest], list[Finding], bool]:
    """_load_file, and whether the file holds SKIP_RENDERING_MARKER."""
    full = os.path.join(root, rel)
    try:
        try:
            raw = _read_bytes(full, limits.max_file_bytes)
        except OSError as error:
            if error.errno != errno.ELOOP:  # (what O_NOFOLLOW says of a symbolic link)
                raise
            refused = _link_refused(root, rel, full)
            if refused is not None:
                return [], [refused], False
            raw = _read_bytes(full, limits.max_file_bytes, follow=True)
    except _NotRegular as other:
        if stat.S_ISDIR(other.mode):  # a link to a folder, or a folder discover listed
            return [], [], False
        return [], [NOT_A_FILE.at_file(rel, message=f"{_shown(rel)} is {_file_type(other.mode)}, not a regular file; "
                                                    "it was skipped",
                                       hint="Remove it; git cannot store it, so Argo CD never sees it.")], False
    except _TooLargeFile as large:
        return [], [TOO_LARGE.at_file(rel, message=f"{_shown(rel)} is {large.size:,} bytes, over the "
                                                   f"{limits.max_file_bytes:,}-byte limit",
                                      hint="Remove the file, exclude it in .wavegate.yaml, or raise maxFileBytes there.")], False
    except OSError as error:
        what = "directory" if os.path.isdir(full) else "file"
        hint = ("Restore the file the link points to, or remove the link."
                if os.path.islink(full) and not os.path.exists(full)
                else "Make it readable by the user running wavegate, or exclude it in .wavegate.yaml.")
        return [], [UNREADABLE.at_file(rel, message=f"cannot read {what} {_shown(rel)}: {error.strerror or error}",
                                       hint=hint)], False
    return _parse_raw(rel, raw, limits, require_object, lazy_positions)


def _link_refused(root: Path, rel: str, full: str) -> Finding | None:
    """Why a symbolic link is not read: a loop of links, or a target outside the repository."""
    try:
        target = Path(full).resolve()
    except (OSError, RuntimeError):  # a loop of links (RuntimeError before Python 3.13)
        return UNREADABLE.at_file(rel, message=f"{_shown(rel)} is a symbolic link in a loop "
                                               f"({_shown(rel)} -> {_shown(os.readlink(full))} -> ...)",
                                  hint="Point the link at a real file, or remove it.")
    if not target.is_relative_to(root):
        return SYMLINK_ESCAPE.at_file(rel, message=f"{_shown(rel)} is a symbolic link to {_shown(os.readlink(full))}, "
                                                   "outside the repository",
                                      hint="Replace the link with the file itself, or remove it.")
    return None


class _TooLargeFile(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


class _NotRegular(Exception):
    """Not a regular file (a folder, a named pipe, a socket, a device), by its mode."""

    def __init__(self, mode: int):
        super().__init__(mode)
        self.mode = mode


def _read_bytes(path: str, limit: int, follow: bool = False) -> bytes:
    """The bytes of the regular file at `path` (os-level calls: a third of the time of open() on
    10,000 small files). A symbolic link is refused (OSError ELOOP) unless `follow`; _NotRegular
    for anything but a regular file (opened without blocking, so a named pipe never hangs the
    read); _TooLargeFile when it is larger than `limit`."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise _NotRegular(status.st_mode)
        size = status.st_size
        if size > limit:
            raise _TooLargeFile(size)
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, max(size + 1, 65536))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size = 0
    finally:
        os.close(fd)


def _parse_raw(rel: str, raw: bytes, limits: Limits, require_object: bool = True,
               lazy_positions: bool = True) -> tuple[list[Manifest], list[Finding], bool]:
    marked = SKIP_RENDERING_MARKER in raw
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return [], [INVALID_UTF8.at_file(rel, line, column,
                                         message=f"byte 0x{raw[error.start]:02x} at offset {error.start} is not valid UTF-8",
                                         hint="Save the file as UTF-8.")], marked
    return (*parse_documents(rel, text, limits, require_object, lazy_positions), marked)


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
    if load_native.AVAILABLE and load_native.readable(text):
        parsed = load_native.parse(text, MAX_DEPTH, limits.max_expanded_nodes)
        if parsed is not None and not (lists and require_object and _holds_list(parsed)):
            return _native_manifests(rel, parsed, require_object, lazy_positions), []
        # else the Python path reads it, with every check and finding
    source = _Source(rel, text, limits, require_object) if lazy_positions else None
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheap test first; the real one streams events
        too_deep = _first_too_deep(text)
        if too_deep is not None:
            return [], [TOO_DEEP.at_file(rel, too_deep[0], too_deep[1],
                                         message=f"the file nests more than {MAX_DEPTH} levels deep",
                                         hint="Flatten the structure; no Kubernetes object needs this depth.")]
    # `!` alone as a tag, or an anchor defined twice, need the composer that keeps them.
    tag_keeping = "!" in text and _NON_SPECIFIC_TAG.search(text) is not None
    loader_class = _TagKeepingLoader if tag_keeping else _Loader
    stand_ins: dict[str, str] = {}
    for _ in range(_MAX_REREADS):
        try:
            return _parse(rel, text, limits, require_object, source, loader_class, stand_ins, lists=lists)
        except _AnchorDefinedAgain:
            loader_class = _TagKeepingLoader
        except RecursionError:  # the Python composer on absurd nesting: the fast one reports it
            loader_class = _Loader
        except _GoReadsOn as where:
            # libyaml stopped where go-yaml reads on: the character it stopped at becomes one
            # libyaml reads on at, put back in the values (same length: the same marks).
            stand_in = where.replacement
            if stand_in is None:
                original = text[where.index]
                stand_in = next((s for s, o in stand_ins.items() if o == original), None)
                if stand_in is None:
                    stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
                    stand_ins[stand_in] = original
            text = text[:where.index] + stand_in + text[where.index + 1:]
    return _parse(rel, text, limits, require_object, source, loader_class, stand_ins, reread=False, lists=lists)


def _native_manifests(rel: str, parsed: list, require_object: bool, lazy_positions: bool) -> list[Manifest]:
    """Manifests of the documents the native loader read, as the Python path makes them."""
    manifests = []
    for index, data, table in parsed:
        manifest = Manifest(rel, index, data)
        positions = load_native.PositionTable(table, data)
        if lazy_positions:
            del manifest.positions
            manifest._source = positions
        else:
            manifest.positions = positions.positions_of(index)
        if _kept(manifest, require_object):
            manifests.append(manifest)
    return manifests


def _holds_list(parsed: list) -> bool:
    """Whether a document the native loader read is a `kind: *List` (the Python path splits it)."""
    return any(isinstance(data, dict) and isinstance(data.get("kind"), str) and data["kind"].endswith("List")
               for _, data, _ in parsed)


def _kept(manifest: Manifest, require_object: bool) -> bool:
    """Whether a parsed mapping document is kept (with its `missing` set): with require_object,
    not an empty mapping `{}`, which is as harmless as an empty document."""
    if not require_object:
        return True
    data = manifest.data
    if not data:
        return False
    manifest.missing = _missing_type(manifest)
    return True


# A file is read again at most this many times (each time past one place where libyaml stops and
# go-yaml reads on); past that, libyaml's syntax error is reported.
_MAX_REREADS = 50


class _AnchorDefinedAgain(Exception):
    pass


class _GoReadsOn(Exception):
    """Where libyaml stops and go-yaml v2 reads on: in a flow collection, a plain scalar's `:`
    right before `,` `[` `]` `{` `}` (go-yaml keeps the `:` in the text); `\\'` in a
    double-quoted scalar (go-yaml's escape for `'`); `,` `[` `]` in a tag (go-yaml's tags may
    have them). `index`: the character to read on at; `replacement`: what to put there (in a
    tag, `.`: any tag with those characters is a tag go-yaml does not know, so is `.`), or None
    for a stand-in put back in the values."""

    def __init__(self, index: int, replacement: str | None = None):
        super().__init__(index)
        self.index, self.replacement = index, replacement


def _go_reads_on(text: str, error: yaml.MarkedYAMLError) -> _GoReadsOn | None:
    mark = error.problem_mark
    if mark is None or not 0 <= mark.index < len(text) - 1:
        return None
    if error.problem == "found unexpected ':'" and text[mark.index] == ":":
        return _GoReadsOn(mark.index)
    if error.problem == "found unknown escape character" and text[mark.index:mark.index + 2] == "\\'":
        return _GoReadsOn(mark.index)
    if error.context == "while scanning a tag" and error.problem == "did not find expected whitespace or line break" \
            and text[mark.index] in ",[]":
        return _GoReadsOn(mark.index, ".")
    return None


def _put_back(root: yaml.Node, stand_ins: dict[str, str]) -> None:
    """Scalar values with the characters their stand-ins replaced (a `\\'` escape: just `'`)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is _ScalarNode:
            for stand_in, original in stand_ins.items():
                if stand_in in node.value:
                    node.value = node.value.replace(stand_in + "'" if original == "\\" else stand_in,
                                                    "'" if original == "\\" else original)
        else:
            stack.extend(node.value if type(node) is _SequenceNode else [n for pair in node.value for n in pair])


def _parse(rel: str, text: str, limits: Limits, require_object: bool, source: _Source | None,
           loader_class: type, stand_ins: dict[str, str], reread: bool = True,
           lists: bool = True) -> tuple[list[Manifest], list[Finding]]:
    manifests: list[Manifest] = []
    problems: list[Finding] = []
    may_alias = "*" in text  # without an alias token every document is a tree
    # What libyaml parses and go-yaml does not: looked for only where the text has the characters.
    go_syntax = text if ("?" in text and ("[" in text or "{" in text)) or "\\/" in text \
        or ("!" in text and _FLOW_TAG.search(text)) else None
    directives = _yaml_directives(rel, text) if "%YAML" in text else {}
    loader = loader_class(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if stand_ins and node is not None:
                _put_back(node, stand_ins)
            if node is not None and not (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
                builder = _Builder(rel, index, limits, require_object, may_alias=may_alias,
                                   keep_positions=source is None, go_syntax=go_syntax,
                                   directive=directives.get(index))
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
        if loader_class is _Loader and "found duplicate anchor" in str(error.context):
            raise _AnchorDefinedAgain from None
        reads_on = _go_reads_on(text, error) if reread else None
        if reads_on is not None:
            raise reads_on from None
        problems.append(_syntax_finding(rel, text, error))
    except yaml.YAMLError as error:  # errors without a position (reader errors)
        problems.append(SYNTAX.at_file(rel, message=f"{rel} is not valid YAML: {error}"))
    finally:
        loader.dispose()
    return manifests, problems


def _yaml_directives(rel: str, text: str) -> dict[int, Finding]:
    """The documents whose `%YAML` directive go-yaml v2 refuses (it reads only 1.1; libyaml also
    1.2), by index, with the finding."""
    found: dict[int, Finding] = {}
    index = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                if event.version not in (None, (1, 1)):
                    version = ".".join(map(str, event.version))
                    found[index] = SYNTAX.at_file(
                        rel, event.start_mark.line + 1 if event.start_mark is not None else 1, 1,
                        message=f"%YAML {version}: Kubernetes' YAML parser reads only YAML 1.1 "
                                "(found incompatible YAML document)",
                        hint="Remove the %YAML directive.")
            elif isinstance(event, yaml.DocumentEndEvent):
                index += 1
    except yaml.YAMLError:
        pass  # the composer reports it
    return found


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
                    mark = event.start_mark
                    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
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
    again by the same builder, once for all documents of the file. (For a file whose result came
    from the cache, `text` is None and the file is read then.)"""

    __slots__ = ("rel", "text", "limits", "require_object", "file", "_positions")

    def __init__(self, rel: str, text: str | None, limits: Limits, require_object: bool, file: Path | None = None):
        self.rel, self.text, self.limits, self.require_object = rel, text, limits, require_object
        self.file = file
        self._positions: dict[int, dict] | None = None

    def __reduce__(self):
        return _Source, (self.rel, self.text, self.limits, self.require_object, self.file)

    def positions_of(self, doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        if self._positions is None:
            if self.text is None:
                try:
                    self.text = self.file.read_bytes().decode("utf-8-sig") if self.file is not None else ""
                except (OSError, UnicodeDecodeError):
                    self.text = ""
            manifests, _ = parse_documents(self.rel, self.text, self.limits, self.require_object, lists=False)
            self._positions = {m.doc_index: m.positions for m in manifests}
        return self._positions.get(doc_index, {})


_MERGE_TAG = kube_yaml.MERGE
_NULL_TAG = kube_yaml.NULL
_STR_TAG = kube_yaml.STR
_MERGE_KEY_TAGS = (kube_yaml.MERGE, kube_yaml.NON_SPECIFIC)
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


class _TooAliased(Exception):
    pass


class _Unconvertible:
    """Stands for a key or value that JSON cannot hold, in the data being built: Kubernetes
    refuses the document only if one is still there once all of it is decoded."""

    __slots__ = ("where", "message", "hint", "text")

    def __init__(self, where: tuple[int, int], message: str, hint: str, text: str):
        self.where, self.message, self.hint, self.text = where, message, hint, text

    def __str__(self) -> str:  # in the field path of a finding below a refused key
        return self.text


_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


def _is_merge(mapping: yaml.MappingNode, index: int) -> bool:
    """go-yaml's isMerge for the index-th key of `mapping`: a plain (or `!`- or `!!merge`-tagged)
    `<<` scalar, written there; a quoted one, or an alias of a `<<` scalar, is an ordinary key."""
    key = mapping.value[index][0]
    if type(key) is not _ScalarNode or key.value != "<<" or key.tag not in _MERGE_KEY_TAGS:
        return False
    # An alias's node was written earlier: in a mapping every key and value written in place
    # starts where the one before it ended, or after.
    end = mapping.start_mark.index
    for i, (k, v) in enumerate(mapping.value):
        if k.start_mark.index < end:
            if i == index:
                return False
        else:
            end = k.end_mark.index
        if i == index:
            return True
        if v.start_mark.index >= end:
            end = v.end_mark.index
    return False


def _allowed_alias_ratio(decoded: int) -> float:
    """go-yaml v2's allowedAliasRatio (decode.go), float for float."""
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (float(decoded - 400_000) / 3_600_000.0)


class _Builder:
    """Builds plain Python data from one composed document, recording positions and problems.

    Scalars and keys are typed as Kubernetes types them (wavegate.kube_yaml); what it refuses
    (yaml-not-json) drops the document, like a syntax error, after every such problem in it is
    reported."""

    def __init__(self, rel: str, index: int, limits: Limits, require_object: bool = True, may_alias: bool = True,
                 keep_positions: bool = True, go_syntax: str | None = None, directive: Finding | None = None):
        # go_syntax: the file's text, when it has what libyaml parses and go-yaml refuses (_go_syntax)
        self.go_syntax = go_syntax
        self.directive = directive
        self.require_object = require_object
        self.may_alias = may_alias
        self.keep_positions = keep_positions
        self.rel = rel
        self.index = index
        self.limits = limits
        self.positions: dict[tuple, tuple[int, int, int, int]] = {}
        self.problems: list[Finding] = []
        self.sizes: dict[int, int] = {}
        self.aliased = False  # _expanded_size met a node twice
        self.manifest: Manifest | None = None
        self.duplicates: list[tuple] = []
        self.refused: set[tuple[int, int]] = set()
        self.unconvertible = False

    def document(self, node: yaml.Node) -> tuple[Manifest | None, list[Finding]]:
        start = node.start_mark
        if self.directive is not None:
            return None, [self.directive]
        if self.go_syntax is not None:
            self._go_syntax(node, self.go_syntax)
        data = self._plain_document(node)
        if data is None:  # the general path: sizes, depth and shape checked first
            try:
                size = self._expanded_size(node, set(), 0) if self.may_alias else self._tree_size(node)
                if self.aliased:
                    self._go_alias_budget(node)
            except _TooLarge:
                size = self.limits.max_expanded_nodes + 1
            except _TooDeep:
                return None, [TOO_DEEP.at_file(self.rel, start.line + 1, start.column + 1,
                                               message=f"document {self.index + 1} nests more than {MAX_DEPTH} levels deep",
                                               hint="Flatten the structure; no Kubernetes object needs this depth.")]
            except _TooAliased:
                return None, [ALIAS_BOMB.at_file(self.rel, start.line + 1, start.column + 1,
                                                 message=f"document {self.index + 1} is mostly aliases expanded: Kubernetes' "
                                                         "YAML reader refuses it (document contains excessive aliasing)",
                                                 hint="Remove the nested anchors and aliases; write the values out.")]
            if size > self.limits.max_expanded_nodes:
                return None, [ALIAS_BOMB.at_file(self.rel, start.line + 1, start.column + 1,
                                                 message=f"document {self.index + 1} expands to more than "
                                                         f"{self.limits.max_expanded_nodes:,} nodes through aliases",
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
        self.manifest.set_data(data)
        for line, column, key, first, child_path in self.duplicates:
            self.problems.append(DUPLICATE_KEY.at_file(
                self.rel, line, column, resource=self.manifest.ref, field=format_path(child_path),
                message=f"key {key!r} appears twice in this mapping (first at line {first}); only this last value counts",
                hint="Delete one of the two, keeping the value you mean."))
        if self.unconvertible:
            self._still_there(data)
        if self.refused:
            return None, self.problems
        return (self.manifest if _kept(self.manifest, self.require_object) else None), self.problems

    def _plain_document(self, root: yaml.Node) -> dict | None:
        """The data of a plain document in one pass, or None when the general path must build it.

        Plain: a mapping without aliases (a tree), merge keys, duplicate or non-scalar keys,
        anything Kubernetes refuses, at most MAX_DEPTH deep and of at most max_expanded_nodes
        nodes, and no positions wanted (they are computed later by the general path). For such a
        document the general path finds no problem and builds the same data; this pass skips its
        separate size count and the paths it keeps for positions and duplicates."""
        if self.may_alias or self.keep_positions or self.refused or type(root) is not yaml.MappingNode:
            return None
        self._count = 0
        try:
            data = self._plain(root, 0)
        except (_NotPlain, kube_yaml.NotJSON):
            return None
        return data if self._count <= self.limits.max_expanded_nodes else None

    def _plain(self, node: yaml.Node, depth: int):
        self._count += 1
        kind = type(node)
        if kind is _ScalarNode:
            return node.value if node.tag == _STR_TAG else kube_yaml.value(node.tag, node.value)
        if depth >= MAX_DEPTH:  # its children would be too deep: the general path says so
            raise _NotPlain
        if kind is _MappingNode:
            result = {}
            for key_node, value_node in node.value:
                if type(key_node) is not _ScalarNode or key_node.tag in _MERGE_KEY_TAGS:
                    raise _NotPlain
                self._count += 1
                key = key_node.value if key_node.tag == _STR_TAG else kube_yaml.key(key_node.tag, key_node.value)
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
            self.aliased = True
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

    def _go_alias_budget(self, root: yaml.Node) -> None:
        """_TooAliased where go-yaml v2 stops with "document contains excessive aliasing".

        go-yaml counts each node it decodes, and those decoded through an alias; it fails as soon
        as more than 100 came through aliases, more than 1,000 in all, and their share exceeds
        _allowed_alias_ratio. The same count here, but an alias's expansion is added at once: both
        counts grow by one per node inside it, so if the condition holds anywhere inside, it holds
        at its end. A node met again in the text's order is an alias; the first meeting defines it."""
        aliases: set[tuple[int, int]] = set()  # (id(parent), index of the child) that are aliases
        seen: set[int] = set()

        def mark(node):
            seen.add(id(node))
            children = node.value if type(node) is _SequenceNode else \
                [n for pair in node.value for n in pair] if type(node) is _MappingNode else ()
            for i, child in enumerate(children):
                if id(child) in seen:
                    aliases.add((id(node), i))
                else:
                    mark(child)

        mark(root)
        counts: dict[int, int] = {}

        def count(node) -> int:  # decode steps for one expansion of node
            known = counts.get(id(node))
            if known is None:
                known = 1
                if type(node) is _SequenceNode:
                    known += sum(((id(node), i) in aliases) + count(c) for i, c in enumerate(node.value))
                elif type(node) is _MappingNode:
                    for i, (k, v) in enumerate(node.value):
                        if _is_merge(node, i):
                            known += merged(v, (id(node), 2 * i + 1) in aliases)
                        else:
                            known += ((id(node), 2 * i) in aliases) + count(k)
                            known += ((id(node), 2 * i + 1) in aliases) + count(v)
                counts[id(node)] = known
            return known

        def merged(value, is_alias: bool) -> int:
            if is_alias or type(value) is _MappingNode:
                return is_alias + count(value)
            if type(value) is _SequenceNode:  # the list itself is not decoded, only its items
                return sum(((id(value), i) in aliases) + count(c) for i, c in enumerate(value.value))
            return 0

        decoded, through_aliases = 1, 0  # the document node

        def step(nodes: int, aliased: int) -> None:
            nonlocal decoded, through_aliases
            decoded += nodes
            through_aliases += aliased
            if through_aliases > 100 and decoded > 1000 and \
                    float(through_aliases) / float(decoded) > _allowed_alias_ratio(decoded):
                raise _TooAliased

        def occurrence(parent, index: int, child) -> None:
            if (id(parent), index) in aliases:
                step(1, 0)  # the alias node itself
                expansion = count(child)
                step(expansion, expansion)
            else:
                visit(child)

        def visit(node) -> None:
            step(1, 0)
            if type(node) is _SequenceNode:
                for i, child in enumerate(node.value):
                    occurrence(node, i, child)
            elif type(node) is _MappingNode:
                for i, (k, v) in enumerate(node.value):
                    if not _is_merge(node, i):
                        occurrence(node, 2 * i, k)
                        occurrence(node, 2 * i + 1, v)
                    elif (id(node), 2 * i + 1) in aliases or type(v) is not _SequenceNode:
                        occurrence(node, 2 * i + 1, v)
                    else:  # the items of a merged list, last first
                        for j in range(len(v.value) - 1, -1, -1):
                            occurrence(v, j, v.value[j])

        visit(root)

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
        assert isinstance(node, yaml.MappingNode), "a node is a scalar, a sequence or a mapping"
        return self._mapping(node, path, record)

    def _mapping(self, node: yaml.MappingNode, path: tuple, record: bool) -> dict:
        # As go-yaml: entries are set in order, so a key after `<<` overrides the merged one and a
        # key before it is overridden; the items of a merged list are merged last first.
        result: dict = {}
        seen: dict = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.value == "<<" and _is_merge(node, index):
                if value_node.start_mark.index < key_node.start_mark.index and type(value_node) is not _MappingNode:
                    self._refuse(value_node, "the merge key `<<` needs a mapping or a list of mappings, not an alias of "
                                             f"{'a list' if type(value_node) is _SequenceNode else 'a scalar'}",
                                 "Merge an anchored mapping (`<<: *defaults`), or write the keys out.")
                    continue
                self._merge(value_node, path, result)
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
        return result

    def _merge(self, value: yaml.Node, path: tuple, into: dict) -> None:
        sources = value.value[::-1] if type(value) is _SequenceNode else [value]
        for source in sources:
            if type(source) is not _MappingNode:
                what = "a list" if type(source) is _SequenceNode else f"`{source.value}`"
                self._refuse(source, f"the merge key `<<` needs a mapping or a list of mappings, not {what}",
                             "Merge an anchored mapping (`<<: *defaults`), or write the keys out.")
                continue
            into.update(self._mapping(source, path, False))

    def _key(self, node: yaml.Node):
        if type(node) is _ScalarNode:
            if node.tag == _STR_TAG:
                return node.value
            try:
                return kube_yaml.key(node.tag, node.value)
            except kube_yaml.NotJSON as refusal:
                return self._refuse(node, str(refusal), refusal.hint, refusal.decoding)
        what = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        return self._refuse(node, f"a mapping key is {what}; JSON keys, and so Kubernetes' keys, are text",
                            "Use a plain text key.")
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if isinstance(value, bool):  # JSON has only string keys; Kubernetes writes these as text
                return "true" if value else "false"
            return value if isinstance(value, str) else str(value) if value is not None else "null"
        # A mapping or list as a key (which Kubernetes' YAML cannot read) becomes its text, bounded:
        # nested ones re-escape the text of the keys inside, doubling it at every level.
        return str(self._build(node, (), False))[:MAX_KEY_TEXT]

    def _scalar(self, node: yaml.ScalarNode):
        if node.tag == _STR_TAG:
            return node.value
        try:
            return kube_yaml.value(node.tag, node.value)
        except kube_yaml.NotJSON as refusal:
            return self._refuse(node, str(refusal), refusal.hint, refusal.decoding)

    def _refuse(self, node: yaml.Node, message: str, hint: str, decoding: bool = True, rule=None):
        """Report what Kubernetes refuses (once per place, however often aliases repeat it); the
        document is dropped. What go-yaml refuses while decoding is refused at once; what only
        JSON cannot hold is a stand-in, refused if it is still in the data at the end."""
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not decoding:
            self.unconvertible = True
            return _Unconvertible(where, message, hint, str(node.value))
        if where not in self.refused:
            self.refused.add(where)
            self.problems.append((rule or NOT_JSON).at_file(self.rel, *where, message=message, hint=hint))
        return f"\0refused at {where[0]}:{where[1]}"

    def _still_there(self, data) -> None:
        """Refuse each _Unconvertible left in the built data."""
        stack = [data]
        while stack:
            item = stack.pop()
            if type(item) is dict:
                for key, value in item.items():
                    stack.append(key)
                    stack.append(value)
            elif type(item) is list:
                stack.extend(item)
            elif type(item) is _Unconvertible and item.where not in self.refused:
                self.refused.add(item.where)
                self.problems.append(NOT_JSON.at_file(self.rel, *item.where, message=item.message, hint=item.hint))

    def _go_syntax(self, root: yaml.Node, text: str) -> None:
        """Refuse what libyaml (which composed `root`) accepts and go-yaml v2 does not parse:
        a `?` inside a plain scalar in a flow collection (go-yaml ends the scalar there), the
        escape `\\/` in a double-quoted scalar. And _GoReadsOn for a tag right before `,` `[` `]`
        in a flow collection (go-yaml reads them as part of the tag). Only for files whose text
        has these characters."""
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, yaml.CollectionNode | None]] = [(root, None)]
        while stack:
            node, parent = stack.pop()
            if parent is not None and node.start_mark.index < parent.start_mark.index:
                continue  # an alias of a node defined before: judged where it is defined
            if id(node) in seen:
                continue
            seen.add(id(node))
            in_flow = parent is not None and parent.flow_style
            if type(node) is _ScalarNode:
                if in_flow and not node.style and "?" in node.value:
                    self._refuse(node, f"`{node.value}` has a `?` inside [ ] or {{ }}: Kubernetes' YAML parser (go-yaml) "
                                       "ends the text there and fails (did not find expected ',')",
                                 "Quote the text.", rule=SYNTAX)
                elif node.style == '"' and "\\/" in text[node.start_mark.index:node.end_mark.index]:
                    raw = text[node.start_mark.index:node.end_mark.index]
                    if any(m.group(1) == "/" for m in re.finditer(r"\\(.)", raw, re.S)):
                        self._refuse(node, "`\\/` is not an escape for Kubernetes' YAML parser (go-yaml: found unknown "
                                           "escape character)", "Write `/` without the backslash.", rule=SYNTAX)
            elif isinstance(node, yaml.CollectionNode):  # (every node that is not a scalar)
                children = node.value if type(node) is _SequenceNode else [n for pair in node.value for n in pair]
                stack.extend((child, node) for child in reversed(children))
            if in_flow and text[node.start_mark.index:node.start_mark.index + 1] in ("&", "!"):
                tag = _TAG_TOKEN.match(text, node.start_mark.index)
                if tag:  # libyaml ended the tag at the first of these; go-yaml reads on
                    stops = [i for i in range(tag.start(1), tag.end(1)) if text[i] in ",[]"]
                    if stops:
                        raise _GoReadsOn(stops[0], ".")
