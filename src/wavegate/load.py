"""The one loader: finds a repository's manifests and parses them safely, keeping every position.

What it finds is wavegate.discovery's, what it makes is wavegate.manifest's (Manifest, Repo,
Limits); both are re-exported here, so callers import everything from wavegate.load.

Only the loader opens and parses YAML (DESIGN.md invariant 1): this module, the native loader it
tries first (wavegate.load_native, a C extension on libyaml) and its Python path for the rest
(wavegate.load_python). Both build the Python objects themselves, because that is where duplicate
keys become visible, where alias expansion can be bounded, and where each key's line and column
can be kept. Scalars and keys are typed as Kubernetes types them (sigs.k8s.io/yaml:
wavegate.kube_yaml), and what it refuses is refused. Every problem with the input is a finding at
a file and line, never an exception.
"""

from __future__ import annotations

import errno
import gc
import marshal
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from wavegate import load_native
from wavegate.cache import finding_from_plain, plain_finding
from wavegate.discovery import ALWAYS_EXCLUDED as ALWAYS_EXCLUDED
from wavegate.discovery import YAML_SUFFIXES as YAML_SUFFIXES
from wavegate.discovery import Listing, discover, native_listing
from wavegate.discovery import is_excluded as is_excluded
from wavegate.findings import Finding
from wavegate.load_rules import INVALID_UTF8, NOT_A_FILE, SYMLINK_ESCAPE, TOO_LARGE, UNREADABLE
from wavegate.load_rules import MAX_DEPTH as MAX_DEPTH  # (re-exported, with SYNTAX: callers import wavegate.load)
from wavegate.load_rules import SYNTAX as SYNTAX
from wavegate.manifest import DEFAULT_MAX_FILE_BYTES as DEFAULT_MAX_FILE_BYTES
from wavegate.manifest import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from wavegate.manifest import Limits, ListItemSource, Manifest, Repo, hold_type_metadata, kept_document

# Argo CD's repo-server reads no object from a file whose text has this (wavegate.render.directory);
# the loader, which reads every file anyway, notes which do (Repo.skip_marked).
SKIP_RENDERING_MARKER = b"+argocd:skip-file-rendering"
_UTF8_BOM = b"\xef\xbb\xbf"
# Above this many files, reading is split across worker processes (one per CPU, at most
# MAX_WORKERS; this process reads a share too); below it, starting them costs more than it saves.
# The native loader reads a file in a tenth of the Python path's time, so it needs more files to
# pay. WAVEGATE_LOAD_WORKERS=1 turns the workers off (and =N asks for N).
PARALLEL_MIN_FILES = 200
NATIVE_PARALLEL_MIN_FILES = 2000
# ... and when this process has other work to do meanwhile (load's `meanwhile`): a worker that
# parses while it does that work pays from a few hundred files.
MEANWHILE_PARALLEL_MIN_FILES = 300
MAX_WORKERS = 8


def load(root: Path | str, exclude: tuple[str, ...] = (), limits: Limits = Limits(),
         only: list[str] | None = None, cache=None, tree=None, lives_long: bool = False,
         meanwhile: Callable[[], Iterator[object]] | None = None) -> Repo:
    """Load every manifest under `root` (or just the repository-relative files in `only`). With a
    wavegate.cache.Cache, files whose content was parsed before are not parsed again. `tree`: a
    wavegate.cache.TreeState of `root` taken just before (its folders and content hashes are used).
    `lives_long`: what was loaded lives as long as the process (a command's run), so every object
    is frozen (gc.freeze) before the cyclic collector runs again: it never scans them, not even
    once to learn that they are all alive (40 ms on 10,000 manifests). `meanwhile`: steps of work
    that need none of the files (the caller's, done later otherwise), taken one by one while worker
    processes parse them and there is parsing left; only when they do (a step that fails ends them:
    the caller meets the error again where it does that work)."""
    root = Path(root).resolve()
    skip_marked: set[str] = set()
    listing = Listing(root, tree.directories) if tree is not None else (native_listing(root) or Listing(root))
    repo = Repo(root=root, skip_marked=skip_marked, listing=listing)
    paths = only if only is not None else discover(root, exclude, repo.listing)
    store = cache.files("parse", root, limits.max_file_bytes, limits.max_expanded_nodes) if cache is not None else None
    # Parsing allocates millions of objects that all stay alive; the cyclic collector would scan
    # the growing repository again and again for garbage that parsing does not make (a fifth of
    # the loading time on 10,000 manifests). It runs again as usual afterwards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        if store is None:
            loaded = _load_files(root, paths, limits, meanwhile)
        else:
            loaded, repo.digests, repo.parsed = _load_cached(root, paths, limits, store,
                                                             tree.stats if tree is not None else {}, meanwhile)
        for rel, (manifests, problems, marked) in zip(paths, loaded, strict=True):
            repo.files.append(rel)
            for manifest in manifests:
                (repo.untyped if manifest.missing else repo.manifests).append(manifest)
            repo.problems.extend(problems)
            if marked:
                skip_marked.add(rel)
        hold_type_metadata(repo.manifests)  # (every check reads them: held at once, before any worker forks)
        hold_type_metadata(repo.untyped)
        if lives_long:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
    return repo


def _load_cached(root: Path, paths: list[str], limits: Limits, store, tree: dict,
                 meanwhile: Callable[[], Iterator[object]] | None = None) -> tuple[list, dict[str, str], set[str]]:
    """_load_files, with each regular file's result kept in `store` (a wavegate.cache.FileStore)
    by its content hash: a file whose size, time and inode did not change is not read, one whose
    content did not change is not parsed. Also the content hash of each regular file, and the files
    parsed (not found in the store). `tree`: (size, mtime, inode, content hash) of files, just
    taken (wavegate.cache.tree_state)."""
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
    if missing and len(raws) == len(missing) and _workers(len(missing), meanwhile is not None) == 1:
        parsed = [_parse_raw(paths[i], raws[i], limits) for i in missing]
    else:
        parsed = _load_files(root, [paths[i] for i in missing], limits, meanwhile)
    for i, result in zip(missing, parsed, strict=True):
        results[i] = result
        if i in raws:
            store.put(paths[i], stats[i], digests[paths[i]], _to_store(result))
    store.save()
    return results, digests, {paths[i] for i in missing}


def _to_store(result: tuple[list[Manifest], list[Finding], bool]) -> tuple:
    """A file's result as plain data: per manifest its index, data, missing fields and where its
    positions come from: the native loader's table, or for the Python path's, whose positions come
    from the file's text when asked, None or (for an item of a `kind: *List`) the item's index."""
    manifests, problems, marked = result
    documents = []
    for m in manifests:
        source = m.__dict__.get("_source")
        where = source.table if type(source) is load_native.PositionTable else m.item
        documents.append((m.doc_index, m.data, m.missing, where))
    return (documents, [plain_finding(p) for p in problems], marked)


def _from_store(root: Path, rel: str, value, limits: Limits):
    try:
        documents, problems, marked = value
        manifests = []
        source = None
        for doc_index, data, missing, where in documents:
            manifest = Manifest(rel, doc_index, data, missing=tuple(missing))
            del manifest.positions
            if type(where) is bytes:
                manifest._source = load_native.PositionTable(where, data)
            else:
                source = source or _Source(rel, None, limits, True, root / rel)
                if where is None:
                    manifest._source = source
                else:
                    manifest.item = int(where)
                    manifest._source = ListItemSource(source, manifest.item)
            manifests.append(manifest)
        return manifests, [finding_from_plain(p) for p in problems], bool(marked)
    except (TypeError, ValueError):  # not what _to_store makes: parse the file again
        return None


def as_written(manifest: Manifest) -> bool:
    """Whether `manifest` is a document of its file as the loader read it (its data and positions
    are the file's own), not an object that a tool rendered."""
    return type(manifest.__dict__.get("_source")) in (_Source, load_native.PositionTable, ListItemSource)


def _workers(files: int, meanwhile: bool = False) -> int:
    """Processes to parse `files` files (this one included); `meanwhile`: this one has other work
    to do first, so a worker pays from fewer files."""
    wanted = os.environ.get("WAVEGATE_LOAD_WORKERS", "")
    if wanted.strip().isdigit():
        return max(1, int(wanted))
    if meanwhile and load_native.AVAILABLE:
        least = MEANWHILE_PARALLEL_MIN_FILES
    else:
        least = NATIVE_PARALLEL_MIN_FILES if load_native.AVAILABLE else PARALLEL_MIN_FILES
    if files <= least:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _load_chunk(root: Path, paths: list[str], limits: Limits) -> list[tuple[list[Manifest], list[Finding], bool]]:
    return [_read_file(root, rel, limits, True, True) for rel in paths]


def _load_files(root: Path, paths: list[str], limits: Limits,
                meanwhile: Callable[[], Iterator[object]] | None = None) -> list[tuple[list[Manifest], list[Finding], bool]]:
    """load_file for each path, in order; shared with worker processes when there are many (then
    this process does `meanwhile` first)."""
    workers = _workers(len(paths), meanwhile is not None)
    if workers > 1 and len(paths) > 1:
        try:
            return _load_parallel(root, paths, limits, workers, meanwhile)
        except Exception:  # noqa: BLE001 - no processes here (sandbox, daemon process): load in this one
            pass
    return _load_chunk(root, paths, limits)


# Files are dealt in chunks of this many (or more, for more chunks than wavegate.forked.Tickets
# holds), taken in turn by this process and the workers: a worker that starts late or runs on a
# busy CPU takes fewer, and nobody waits long for the last one.
CHUNK_FILES = 64


def _load_parallel(root: Path, paths: list[str], limits: Limits, workers: int,
                   meanwhile: Callable[[], Iterator[object]] | None = None):
    from wavegate.forked import Child, Tickets

    size = max(CHUNK_FILES, -(-len(paths) // Tickets.LIMIT))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    results: list[list | None] = [None] * len(chunks)
    tickets = Tickets(len(chunks))

    def load_taken(send: Callable[[bytes], None]) -> None:
        """A worker's part: each chunk it takes, sent as soon as it is read, as its files' results in
        plain data (the cache's form, _to_store), marshalled. Sending objects back pickled cost more
        than parsing them (measured: 1.5-2.1 s with two workers against 1.1-1.3 s in one process on
        10,000 files); marshal does it in C."""
        for i in tickets:
            send(marshal.dumps((i, [_to_store(result) for result in _load_chunk(root, chunks[i], limits)])))

    def take_sent(child: Child, wait: bool = False) -> None:
        """The chunks `child` has sent (`wait`: until it ends), made into this process's objects. Done
        between this process's own chunks, while the workers still parse, rather than after."""
        for message in child.messages(wait):
            i, stored = marshal.loads(message)
            results[i] = [found if (found := _from_store(root, rel, value, limits)) is not None
                          else _read_file(root, rel, limits, True, True)
                          for rel, value in zip(chunks[i], stored, strict=True)]

    children: list[Child] = []
    try:
        children = [child for _ in range(workers - 1) if (child := Child.fork_sending(load_taken)) is not None]
        steps = meanwhile() if children and meanwhile is not None else iter(())
        while True:
            try:
                next(steps)
            except Exception:  # noqa: BLE001 - the last step, or a failed one (its caller does it again and meets the error)
                break
            if not tickets.left():
                break  # (the workers are on their last files: what is left of it comes later)
            for child in children:
                take_sent(child)
        for i in tickets:  # this process's part, meanwhile
            results[i] = _load_chunk(root, chunks[i], limits)
            for child in children:
                take_sent(child)
        for child in children:
            take_sent(child, wait=True)
    finally:
        tickets.close()
        for child in children:
            child.stop()
    # (what a worker that died had taken is read here)
    return [result for i, chunk in enumerate(results)
            for result in (chunk if chunk is not None else _load_chunk(root, chunks[i], limits))]


def read_yaml(path: Path | str, rel: str | None = None, limits: Limits = Limits(),
              lazy_positions: bool = False) -> tuple[list[Manifest], list[Finding]]:
    """Any YAML file (configuration, values, policy fixtures), with the same safety and positions
    (`lazy_positions`: worked out when first asked for)."""
    path = Path(path)
    return load_file(path.parent.resolve(), path.name, limits, require_object=False, display=rel or str(path),
                     lazy_positions=lazy_positions)


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
    # (os.path.join's answer for a relative `rel`, the usual case, without its 1.5 us a file)
    full = os.path.join(root, rel) if os.path.isabs(rel) else f"{root}{os.sep}{rel}"
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
        chunk = os.read(fd, size + 1)  # (one byte more than fstat says: a file that grew is read on)
        if len(chunk) == size:  # (every byte its size says: no second read to find the end, on 10,000 files)
            return chunk
        chunks = [chunk]
        while chunk:  # (a file that grew since, or whose size says nothing: /proc)
            chunk = os.read(fd, 65536)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _parse_raw(rel: str, raw: bytes, limits: Limits, require_object: bool = True,
               lazy_positions: bool = True) -> tuple[list[Manifest], list[Finding], bool]:
    marked = SKIP_RENDERING_MARKER in raw
    bom = 3 if raw.startswith(_UTF8_BOM) else 0  # (as "utf-8-sig" decodes, without its Python-level codec)
    try:
        text = (raw[bom:] if bom else raw).decode()
    except UnicodeDecodeError as error:
        at = error.start + bom
        line = raw.count(b"\n", 0, at) + 1
        column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
        return [], [INVALID_UTF8.at_file(rel, line, column,
                                         message=f"byte 0x{raw[at]:02x} at offset {at} is not valid UTF-8",
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
    from wavegate import load_python  # (PyYAML is imported only for what the native loader does not read)

    source = _Source(rel, text, limits, require_object) if lazy_positions else None
    return load_python.parse_documents(rel, text, limits, require_object, source, lists)


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
        if kept_document(manifest, require_object):
            manifests.append(manifest)
    return manifests


def _holds_list(parsed: list) -> bool:
    """Whether a document the native loader read is a `kind: *List` (the Python path splits it)."""
    return any(isinstance(data, dict) and isinstance(data.get("kind"), str) and data["kind"].endswith("List")
               for _, data, _ in parsed)


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
