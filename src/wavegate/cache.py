"""The cache kept between runs, like ruff's: `.wavegate_cache/` in the repository by default
(`--cache-dir`, `WAVEGATE_CACHE_DIR`; `--no-cache` turns it off).

Entries are addressed by a content hash of everything that decides them (the inputs' bytes, the
tool and its version, the arguments, wavegate's code), so an entry is never stale: a change makes
another key. Writing is atomic (a temporary file renamed into place), so two runs at once at worst
compute the same entry twice. The folder ignores itself in git (its own .gitignore) and is marked
with CACHEDIR.TAG for backup tools. Nothing in it is ever needed: deleting it costs one slower run.

What is kept:
- `get`/`put`: one JSON value per key (the render stage's kustomize and helm output).
- `files(...)`: a FileStore, per-file results of one repository (what the loader parsed), valid
  while the file's content hash is the same; the hash is taken again only for files whose size,
  modification time or inode changed, as git's index does.
- `results(...)`: a ResultStore, values by key in shards (per-object check results).
- `get_value`/`put_value`: one value per key in marshal's format (the ApplicationSet helper's
  answers; and, through a ProgramStore, long CEL programs as cel-expr-python serializes them).
- `RunStore`: the last run of a repository, answered again when its inputs are the same.

What no run uses goes away by itself: key-value entries unused for 30 days (`note_uses`), the
scopes of the per-file and per-object stores beyond the four used last, entries of a scope unused
in five runs that rewrote their shard, and the parse results of repositories that are gone.
"""

from __future__ import annotations

import json
import marshal
import os
import struct
import sys
import time
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from stat import S_IFMT, S_ISREG
from types import ModuleType
from typing import Any

try:  # CPython's own BLAKE2: importing hashlib loads OpenSSL too (3 ms a run; 18 ms when the library
    # is not in memory), a tenth of a run answered from the cache, and the cache needs nothing else
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python without the module: hashlib has the same
    from hashlib import blake2b

from wavegate import __version__
from wavegate.findings import Finding, ResourceRef, Severity

DEFAULT_DIR = ".wavegate_cache"
ENV = "WAVEGATE_CACHE_DIR"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# wavegate's cache: see https://bford.info/cachedir/\n"


class Cache:
    """A content-addressed store of JSON values under one directory (or nowhere, when off)."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    @classmethod
    def for_repository(cls, root: Path, option: str | Path | None = None, enabled: bool = True) -> Cache:
        if not enabled:
            return cls(None)
        chosen = option or os.environ.get(ENV) or root / DEFAULT_DIR
        return cls(Path(chosen))

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def get(self, namespace: str, key: str):
        if self.directory is None:
            return None
        try:
            value = json.loads((self.directory / namespace / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        _note_use(self.directory, namespace, key)
        return value

    def put(self, namespace: str, key: str, value) -> None:
        if self.directory is None:
            return
        target = self.directory / namespace / key[:2] / f"{key}.json"
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = _temporary_beside(target)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(value, out)
            os.replace(temporary, target)
        except OSError:
            return  # a cache that cannot be written is a slower run, not a failure
        _note_use(self.directory, namespace, key)

    def once(self, name: str) -> bool:
        """True the first time it is asked for `name` in this cache (a marker file remembers)."""
        if self.directory is None:
            return False
        marker = self.directory / f"said-{name}"
        try:
            self._prepare()
            with open(marker, "x", encoding="utf-8"):
                return True
        except OSError:  # said before (or nowhere to remember it: say nothing rather than every time)
            return False

    def get_value(self, namespace: str, key: str):
        """A value put_value stored (marshal: plain data only), or None."""
        if self.directory is None:
            return None
        value = _read_marshal(self.directory / namespace / key[:2] / f"{key}.marshal")
        if value is not None:
            _note_use(self.directory, namespace, key)
        return value

    def put_value(self, namespace: str, key: str, value) -> None:
        if self.directory is not None:
            self._write_marshal(self.directory / namespace / key[:2] / f"{key}.marshal", value)
            _note_use(self.directory, namespace, key)

    def note_uses(self, today: int | None = None) -> None:
        """Note in `used.marshal` the day of each use of a key-value entry (get, put, get_value,
        put_value) by this process since the last call; then, on the first such call of a day,
        remove the entries no run used for _UNUSED_DAYS days. An entry found without a note (made
        before notes were kept, or by a check's worker process, whose uses are not noted) gets
        one, so it is kept that long again. `today`: days since 1970 (for tests)."""
        used = _USED.pop(self.directory, set()) if self.directory is not None else set()
        if not used:
            return
        assert self.directory is not None
        today = int(time.time() // 86400) if today is None else today
        path = self.directory / "used.marshal"
        notes = _read_marshal(path)
        notes = notes if type(notes) is dict else {}
        changed = False
        for entry in used:
            if notes.get(entry) != today:
                notes[entry] = today
                changed = True
        if notes.get("") != today:
            notes = self._forget_unused(notes, today)
            notes[""] = today  # (the day of the last sweep)
            changed = True
        if changed:
            self._write_marshal(path, notes)

    def _forget_unused(self, notes: dict, today: int) -> dict:
        """`notes` for the key-value entries there are, without those unused too long, removed."""
        assert self.directory is not None
        kept: dict = {}
        for namespace in _listing(self.directory, folders=True):
            parts = _listing(namespace.path, folders=True)
            if any(len(part.name) != 2 for part in parts):
                continue  # (not a key-value namespace: the parse and check stores)
            for part in parts:
                for entry in _listing(part.path, folders=False):
                    key, suffix = os.path.splitext(entry.name)
                    if suffix not in (".json", ".marshal") or key.startswith(".tmp"):
                        continue
                    name = f"{namespace.name}/{key}"
                    day = notes.get(name)
                    if type(day) is not int:
                        day = today
                    if day < today - _UNUSED_DAYS:
                        try:
                            os.remove(entry.path)
                        except OSError:
                            pass
                        continue
                    kept[name] = day
        return kept

    def files(self, name: str, root: Path, *scope) -> FileStore | None:
        """The per-file results `name` of the repository at `root`, under `scope` (what else
        decides them; wavegate's code always does); None when the cache is off."""
        if self.directory is None:
            return None
        folder = blake2b(str(root).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
        return FileStore(self, self.directory / name / folder, Key(*scope).hexdigest(), root)

    def results(self, name: str, *scope) -> ResultStore | None:
        """Values of `name` by key, under `scope`; None when the cache is off."""
        if self.directory is None:
            return None
        return ResultStore(self, self.directory / name, Key(*scope).hexdigest())

    def _write_marshal(self, target: Path, value) -> None:
        try:
            data = marshal.dumps(value)
        except ValueError:  # not plain data: nothing is kept
            return
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = _temporary_beside(target)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except OSError:
            pass

    def _prepare(self) -> None:
        assert self.directory is not None
        if (self.directory / "CACHEDIR.TAG").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / ".gitignore").write_text("# wavegate's cache, never committed\n*\n", encoding="utf-8")
        (self.directory / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")


# A key-value entry (a tool's output, the ApplicationSet helper's answer, a CEL program) that no
# run used for this many days is removed (Cache.note_uses), as ruff forgets the files it has not
# seen for 30 days: its key holds every input, so only going back to old inputs would use it
# again. Uses are noted by day in the cache itself, not as the files' times, which the archives
# of CI caches do not always keep.
_UNUSED_DAYS = 30
_USED: dict[Path, set[str]] = {}  # cache folder -> "namespace/key" of the entries this process used


def _note_use(directory: Path, namespace: str, key: str) -> None:
    _USED.setdefault(directory, set()).add(f"{namespace}/{key}")


def note_uses() -> None:
    """Cache.note_uses for every cache this process used (the CLI calls it when a command ends)."""
    for directory in list(_USED):
        try:
            Cache(directory).note_uses()
        except OSError:
            _USED.pop(directory, None)  # (a cache that cannot be read or written: nothing to note)


def _listing(path: str | Path, folders: bool) -> list[os.DirEntry]:
    """The folders (or else the files) in `path`; none when it cannot be listed."""
    try:
        with os.scandir(path) as scan:
            return [entry for entry in scan
                    if (entry.is_dir(follow_symlinks=False) if folders else entry.is_file(follow_symlinks=False))]
    except OSError:
        return []


def _temporary_beside(target: Path) -> tuple[int, str]:
    """A new file in `target`'s folder, open for writing, and its path (written, then renamed over
    `target`): what tempfile.mkstemp does, without importing tempfile (3 ms of a run that writes)."""
    while True:
        path = os.path.join(target.parent, f".tmp-{os.urandom(8).hex()}")
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), path
        except FileExistsError:  # (another writer's name: draw again)
            continue


def _read_marshal(path: Path):
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


# Package folders no finding depends on: the rules' example repositories (documentation).
_NOT_CODE = ("__pycache__", "rule-examples")


@lru_cache(maxsize=1)
def code_identity() -> str:
    """wavegate's version and the size and modification time of every file of the package (code,
    shipped policies and schemas): a cache entry made by other code, or with other shipped data,
    is never used, even between two builds of one version."""
    package = str(Path(__file__).resolve().parent)
    parts = [__version__]
    pending = [""]
    while pending:  # (os.scandir: one system call a file less than os.walk and os.stat)
        rel = pending.pop()
        try:
            with os.scandir(os.path.join(package, rel) if rel else package) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir():
                    if entry.name not in _NOT_CODE:
                        pending.append(path)
                    continue
                if entry.name.endswith((".pyc", ".pyo")):
                    continue
                stat = entry.stat()
            except OSError:
                continue
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return blake2b("\n".join(parts).encode(), digest_size=32).hexdigest()


def content_digest(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


def paths_digest(paths) -> str:
    """A hash of the files at `paths` (each a file or a directory, walked) with their contents."""
    digest = blake2b(digest_size=16)
    for raw in paths:
        for file in _files_under(str(raw)):
            content = read_regular(file)
            content = b"\0missing" if content is None else content
            digest.update(f"{file}\0{len(content)}\0".encode("utf-8", "surrogateescape"))
            digest.update(content)
    return digest.hexdigest()


def _files_under(path: str) -> list[str]:
    """`path` itself, or the files under it when it is a folder; a path the system cannot look at
    (too long, unreadable) stands for itself (its content then reads as missing)."""
    try:
        if not os.path.isdir(path):
            return [path]
    except (OSError, ValueError):
        return [path]
    return sorted(os.path.join(folder, name) for folder, _, names in os.walk(path) for name in names)


def read_regular(file: str) -> bytes | None:
    """The bytes of a regular file (a link followed); None for anything else: missing, unreadable,
    or a named pipe or device, which is never read (a read would block or never end)."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        if not S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)


# The libraries whose answers checks keep (schemas, CEL, RE2, YAML).
_LIBRARIES = ("jsonschema-rs", "jsonschema", "kubernetes-validate", "cel-expr-python", "google-re2", "PyYAML")


@lru_cache(maxsize=1)
def runtime_identity() -> str:
    """The versions of _LIBRARIES. Each is read from the name of its `.dist-info` folder, the
    first on sys.path as the import system finds it: importlib.metadata, which parses every
    distribution's METADATA, costs a run that checks its cache 15 ms. A distribution found any
    other way (an egg, a path entry that is not a folder) is asked of importlib.metadata."""
    wanted = {_project(name): name for name in _LIBRARIES}
    found: dict[str, str | None] = {}
    for names in _path_listings():
        if names is None or len(found) == len(wanted):
            break  # (a zip: what it holds, and what follows it, is importlib.metadata's to say)
        for name in names:
            stem, _, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info"):
                continue
            project, _, named = stem.partition("-")
            project = _project(project)
            if project in wanted and project not in found:
                found[project] = named if suffix == "dist-info" and named else None
    versions = []
    for project, name in wanted.items():
        version = found.get(project)
        if version is None:
            from importlib import metadata

            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = "none"
        versions.append(f"{name}={version}")
    return ",".join(versions)


@lru_cache(maxsize=1)
def _path_listings() -> tuple[tuple[str, ...] | None, ...]:
    """The names in each folder of sys.path, in its order, where distributions are installed
    (runtime_identity, installed_packages); None for an entry that is not a folder (a zip). An
    entry that is missing or cannot be listed is left out."""
    listings: list[tuple[str, ...] | None] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as scan:
                listings.append(tuple(item.name for item in scan))
        except NotADirectoryError:
            listings.append(None)
        except OSError:
            continue
    return tuple(listings)


def _project(name: str) -> str:
    """A distribution's name as its folder names it (PEP 503 normalized, with underscores)."""
    return "_".join(part for part in name.lower().replace(".", "-").replace("_", "-").split("-") if part)


_SHARDS = 16
_KEEP_RUNS = 5  # an entry nothing used in this many runs that rewrote its shard is dropped
# The scopes a store keeps, the most recently used: a run reads its own scope's entries only, so
# more cost disk, not time (two configurations used in turn, the scope of the last upgrade).
_KEEP_SCOPES = 4
# A file modified this shortly before its size and time were recorded may have changed again
# within the same clock tick: its stat is not trusted (git's "racily clean" entries).
_RACY_NS = 2_000_000_000


class _Shards:
    """Entries in _SHARDS files in a folder per `scope` (a hash of what decides them besides their
    key: wavegate's code, the configuration, ...), read together when first needed and written
    back (atomically) only when something in them changed. A run reads only its scope's folder:
    entries of other scopes (before an upgrade, another configuration) would cost every run that
    reads the store, and a one-file change rewrites one shard, so they would linger for many runs.
    Each run that reads a scope marks its folder (its time); a save keeps the _KEEP_SCOPES folders
    marked last and removes the others. In a scope, an entry records the run that last used it,
    and a rewritten shard drops those unused for _KEEP_RUNS runs."""

    def __init__(self, cache: Cache, store: Path, scope: str):
        self.cache, self.store, self.scope = cache, store, scope
        self.folder = store / scope
        self._all: dict | None = None  # every shard's entries, for lookups
        # Each shard's entries as read (and put): a rewrite walks only its own shard, without
        # hashing every key of the store again to find which entries belong to it.
        self._shards: list[dict] = []
        self._used: set[str] = set()
        self._dirty: set[int] = set()
        self._run: int | None = None

    def _entries(self) -> dict:
        if self._all is None:
            self._all = {}
            for shard in range(_SHARDS):
                loaded = _read_marshal(self.folder / f"{shard:02d}.marshal")
                loaded = loaded if type(loaded) is dict else {}
                self._shards.append(loaded)
                self._all.update(loaded)
            try:
                os.utime(self.folder)  # (this scope is in use: see save)
            except OSError:
                pass  # (none yet)
        return self._all

    def _get(self, key: str):
        entry = self._entries().get(key)
        if type(entry) is not tuple or len(entry) != 2:
            return None
        self._used.add(key)
        return entry[1]

    def _put(self, key: str, value) -> None:
        entry = (self.run, value)
        self._entries()[key] = entry
        self._used.add(key)
        shard = zlib.crc32(key.encode("utf-8", "surrogateescape")) % _SHARDS
        self._shards[shard][key] = entry
        self._dirty.add(shard)

    @property
    def run(self) -> int:
        if self._run is None:
            marker = _read_marshal(self.folder / "run.marshal")
            self._run = (marker if type(marker) is int else 0) + 1
        return self._run

    def save(self) -> None:
        if not self._dirty:
            return
        run, used = self.run, self._used
        for shard in sorted(self._dirty):
            kept = {}
            for key, entry in self._shards[shard].items():
                if type(entry) is not tuple or len(entry) != 2:
                    continue
                if key in used:
                    kept[key] = (run, entry[1])
                elif type(entry[0]) is int and entry[0] > run - _KEEP_RUNS:
                    kept[key] = entry
            self.cache._write_marshal(self.folder / f"{shard:02d}.marshal", kept)
        self.cache._write_marshal(self.folder / "run.marshal", run)
        self._dirty.clear()
        self._forget_other_scopes()

    def _forget_other_scopes(self) -> None:
        """Remove the scope folders beyond the _KEEP_SCOPES marked last (this one was, just now),
        and the shards of the layout before scope folders, directly in the store's folder."""
        try:
            with os.scandir(self.store) as scan:
                entries = list(scan)
        except OSError:
            return
        scopes = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    scopes.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name == self.scope, entry))
                elif entry.name.endswith(".marshal"):
                    os.remove(entry.path)
            except OSError:
                continue
        if len(scopes) <= _KEEP_SCOPES:
            return
        import shutil

        scopes.sort(key=lambda found: (found[1], found[0]), reverse=True)
        for _, _, entry in scopes[_KEEP_SCOPES:]:
            shutil.rmtree(entry.path, ignore_errors=True)


class FileStore(_Shards):
    """Per-file results of one repository, each valid while the file's content hash is the one it
    was made from. `get` trusts a file whose size, modification time and inode are those recorded
    (unless it was modified just before they were recorded); `get_content` compares the hash.
    A new repository's folder notes its root; the folders of roots that no longer exist (the
    temporary worktrees of `wavegate diff`) are removed then."""

    def __init__(self, cache: Cache, store: Path, scope: str, root: Path):
        super().__init__(cache, store, scope)
        self.root = root

    def save(self) -> None:
        new = self._dirty and not (self.store / "root").exists()
        super().save()
        if new:
            try:
                (self.store / "root").write_text(str(self.root), encoding="utf-8")
            except OSError:
                return
            for other in self.store.parent.iterdir():
                try:
                    gone = other != self.store and not Path((other / "root").read_text(encoding="utf-8")).exists()
                except OSError:
                    continue
                if gone:
                    import shutil

                    shutil.rmtree(other, ignore_errors=True)

    def get(self, rel: str, stat: os.stat_result) -> tuple[str, object] | None:
        """(content hash, value) of `rel` when its stat can be trusted."""
        entry = self._get(rel)
        if entry is None:
            return None
        size, mtime, inode, recorded, digest, value = entry
        if (size, mtime, inode) == (stat.st_size, stat.st_mtime_ns, stat.st_ino) and mtime < recorded - _RACY_NS:
            return digest, value
        return None

    def get_content(self, rel: str, digest: str):
        entry = self._get(rel)
        if entry is None or entry[4] != digest:
            return None
        return entry[5]

    def put(self, rel: str, stat: os.stat_result | tuple, digest: str, value) -> None:
        """`stat`: os.stat's result, or (size, mtime in ns, inode)."""
        size, mtime, inode = (stat.st_size, stat.st_mtime_ns, stat.st_ino) if isinstance(stat, os.stat_result) else stat[:3]
        self._put(rel, (size, mtime, inode, time.time_ns(), digest, value))


class ResultStore(_Shards):
    """Values by key."""

    def get(self, key: str):
        return self._get(key)

    def put(self, key: str, value) -> None:
        self._put(key, value)


# What a run derives, each time the same, from inputs that seldom change: the CRD kro generates
# from an RGD, a policy's validations combined into one expression, Kubernetes' schema
# definitions read from their JSON. Kept between runs in the cache the pipeline names for the
# run (keep_derived); without one, worked out each time. Together about 20 ms of every run that is
# not a full hit (round 15).
_derived_cache: Cache | None = None


def keep_derived(cache: Cache | None) -> None:
    """Keep derived data (derived()) in `cache` from now on in this process; None stops it."""
    global _derived_cache
    _derived_cache = cache


def derived(kind: str, inputs: tuple, compute: Callable[[], Any]) -> Any:
    """compute(), plain data that depends only on `inputs` (and wavegate's code), kept under `kind`
    between runs when a cache is kept (keep_derived)."""
    cache = _derived_cache
    if cache is None or not cache.enabled:
        return compute()
    key = Key(kind, *inputs).hexdigest()
    found = cache.get_value("derived", key)
    if type(found) is tuple and len(found) == 1:
        return found[0]
    value = compute()
    cache.put_value("derived", key, (value,))  # (not plain data: nothing is kept)
    return value


class ProgramStore:
    """Compiled CEL programs (their serialized form, wavegate.cel.keep_programs) by environment and
    expression, one file each; a program compiled by another runtime or other wavegate code is
    never read back (the key holds both)."""

    def __init__(self, cache: Cache):
        self.cache = cache
        self._scope: str | None = None

    def _key(self, environment: str, expression: str) -> str:
        if self._scope is None:
            self._scope = Key("cel-program", runtime_identity()).hexdigest()
        return Key(self._scope, environment, expression).hexdigest()

    def get(self, environment: str, expression: str) -> bytes | None:
        value = self.cache.get_value("cel-programs", self._key(environment, expression))
        return value if isinstance(value, bytes) else None

    def put(self, environment: str, expression: str, serialized: bytes) -> None:
        self.cache.put_value("cel-programs", self._key(environment, expression), serialized)


class ObjectResults:
    """Per-object results of the checks that judge one object alone (validators.per_object), kept
    between runs. An object has a key when it is a document of a file as written (not rendered by
    a tool: wavegate.load.as_written) whose content hash the loader took: the file, that hash, the
    document's index (and the item's, in a `kind: *List`), the Application that syncs it and what
    the check adds (`extra`). `scope` stands for everything else that decides the results:
    wavegate's code, the configuration, the schemas and policies given, and what the check adds
    (`for_check`'s context). `as_written`:
    wavegate.load.as_written (passed in: the loader uses this module, so this one cannot import it)."""

    def __init__(self, cache: Cache, scope: str, digests: dict[str, str], as_written: Callable[[Any], bool]):
        self.cache, self.scope, self.digests, self.as_written = cache, scope, digests, as_written
        self._keys: dict[int, tuple[Any, str | None]] = {}  # id(manifest) -> (manifest, its key), for every check

    def for_check(self, name: str, *context) -> CheckResults | None:
        store = self.cache.results(f"checks-{name}", self.scope, *context)
        return CheckResults(store, self) if store is not None else None

    def compute_keys(self, manifests) -> None:
        """Work out every object's key now, once: before the checks' worker process forks, which
        would otherwise work them out again for its own checks."""
        for manifest in manifests:
            self.key(manifest)

    def key(self, manifest) -> str | None:
        """The object's key (None for an object that is not cached), the same for every check."""
        known = self._keys.get(id(manifest))
        if known is not None and known[0] is manifest:
            return known[1]
        digest = self.digests.get(manifest.path)
        if digest is None or not self.as_written(manifest):
            key = None
        else:
            app = manifest.app
            document = str(manifest.doc_index) if manifest.item is None else f"{manifest.doc_index}.{manifest.item}"
            key = "\0".join((manifest.path, digest, document, app.name if app is not None else ""))
        self._keys[id(manifest)] = (manifest, key)  # (the manifest kept: its id is not reused meanwhile)
        return key


class CheckResults:
    """One check's ObjectResults: `key(manifest)` (None for an object that is not cached), then
    `get`/`put` of its findings (or of any plain value), `save` when the check is done."""

    def __init__(self, store: ResultStore, objects: ObjectResults):
        self.store, self.objects = store, objects

    def key(self, manifest, *extra) -> str | None:
        key = self.objects.key(manifest)
        return key if key is None or not extra else "\0".join((key, *map(str, extra)))

    def get(self, key: str) -> list[Finding] | None:
        plain = self.store.get(key)
        if type(plain) is not list:
            return None
        if not plain:
            return []
        try:
            return [finding_from_plain(p) for p in plain]
        except (TypeError, ValueError):
            return None

    def put(self, key: str, findings: list[Finding]) -> None:
        self.store.put(key, [plain_finding(f) for f in findings])

    def get_value(self, key: str):
        return self.store.get(key)

    def put_value(self, key: str, value) -> None:
        self.store.put(key, value)

    def save(self) -> None:
        self.store.save()


def plain_finding(finding: Finding) -> tuple:
    """A finding as plain data (what marshal keeps)."""
    resource = finding.resource
    return (finding.rule, int(finding.severity), finding.message, finding.path, finding.line, finding.column,
            (resource.api_version, resource.kind, resource.namespace, resource.name) if resource else None,
            finding.hint, finding.field, finding.application)


def finding_from_plain(plain: tuple) -> Finding:
    rule, severity, message, path, line, column, resource, hint, field_path, application = plain
    return Finding(rule, Severity(severity), message, path, line, column,
                   ResourceRef(*resource) if resource else None, hint, field_path, application)


# Never read by a run, and large or changing all the time: left out of a repository's state.
_NOT_INPUTS = frozenset({".git", "node_modules", ".tox", ".venv", ".tools", ".gitlab-ci-local", DEFAULT_DIR,
                         "__pycache__"})


_native_tree: ModuleType | None
try:  # the walk in C, when it was built (setup.py; it needs only a C compiler)
    from wavegate import _native_tree
except ImportError:
    _native_tree = None

# What each walk yields, per folder: (prefix, its entries packed (_packed), whether every entry is a
# folder or a regular file). An entry has a kind: "d" (a folder), "l" (a symbolic link, not
# followed), "e" (lstat failed) or "f" (anything else, with its lstat).
_Walked = list[tuple[str, bytes, bool]]
_ENTRY = struct.Struct("<cqqQI")  # after the name and its NUL: kind, size, mtime_ns, inode, mode


def _packed(entries: list[tuple[bytes, bytes, int, int, int, int]]) -> bytes:
    """Entries (name, kind, size, mtime_ns, inode, mode) as _native_tree.c packs them: by name."""
    return b"".join(name + b"\0" + _ENTRY.pack(kind, size, mtime, inode, mode)
                    for name, kind, size, mtime, inode, mode in sorted(entries))


def _unpacked(blob: bytes) -> list[tuple[str, str, tuple[int, int, int], int]]:
    """(name, kind, (size, mtime_ns, inode), mode) of each packed entry."""
    if _native_tree is not None:
        return _native_tree.unpack(blob)
    found = []
    position = 0
    while position < len(blob):
        end = blob.index(b"\0", position)
        kind, size, mtime, inode, mode = _ENTRY.unpack_from(blob, end + 1)
        found.append((os.fsdecode(blob[position:end]), kind.decode(), (size, mtime, inode), mode))
        position = end + 1 + _ENTRY.size
    return found


class TreeState:
    """What tree_state found: `content`, a hash of every file's path and content; `stats`, each
    file's (size, mtime, inode, content hash) for the next time; `directories`, what each folder
    holds, as wavegate.load.Listing keeps it (the loader reads them instead of listing again; made
    when first asked for, since a run answered from the cache never asks)."""

    def __init__(self, content: str, stats: dict | Callable[[], dict | None] | None, walked: _Walked, links: dict,
                 signature: str | None, unchanged: bool = False):
        self.content, self.signature = content, signature
        self._stats, self._walked, self._links = stats, walked, links
        self._directories: dict[str, list[tuple[str, bool, bool, bool, bool]]] | None = None
        # Known by its signature alone: the stats are those of the state before, as they were kept.
        self.unchanged = unchanged

    @property
    def stats(self) -> dict:
        if callable(self._stats):
            self._stats = self._stats()
        return self._stats or {}

    @property
    def directories(self) -> dict[str, list[tuple[str, bool, bool, bool, bool]]]:
        if self._directories is None:
            self._directories = {}
            for prefix, blob, _ in self._walked:
                listed = []
                for name, kind, _, mode in _unpacked(blob):
                    if kind == "d":
                        listed.append((name, True, True, False, False))
                    elif kind == "l":
                        if prefix + name in self._links:
                            listed.append((name, *self._links[prefix + name]))
                    elif kind == "f":
                        listed.append((name, False, False, False, S_ISREG(mode)))
                listed.sort()
                self._directories[prefix[:-1]] = listed
        return self._directories


def tree_state(root: Path, known: dict | Callable[[], dict | None] | None = None, skip: Path | None = None,
               last: tuple[str, str, int] | None = None) -> TreeState | None:
    """The state of every file under `root` (.git, this cache (`skip`) and the folders in
    _NOT_INPUTS left out). A file whose stat is in `known` and was not modified just before it
    was recorded is not read again. None when the root cannot be listed or the tree has a link to a directory outside it
    (what it holds is not looked at here).

    `last`: (signature, content, recorded) of the tree state `known` holds. When every folder and
    file's stat is as then (the same signature), the content is too, and `known` (a dict, or what
    gives it when called) is not even read: what a run answered from the cache does on a large
    repository."""
    top = os.fspath(root)
    skipped = None  # the cache's folder, as a prefix, when it is inside the tree
    if skip is not None:
        relative = os.path.relpath(os.path.realpath(skip), os.path.realpath(top))
        skipped = None if relative.startswith("..") else relative.replace(os.sep, "/") + "/"
    walked = _walk_native(top, skipped) if _native_tree is not None else _walk(top, skipped)
    if walked is None:
        return None  # the root cannot be listed: nothing to compare (the run reports why)
    signature = _signature(walked)
    if last is not None and signature is not None and signature == last[0]:
        return TreeState(last[1], known, walked, {}, signature, unchanged=True)
    known = (known() if callable(known) else known) or {}
    limit = known.get("\0recorded", 0) - _RACY_NS
    compared = _native_tree.compare if _native_tree is not None else _compare
    stats, changed, others = compared(walked, known, limit)
    links: dict = {}  # a link's entry in its folder's listing (name left out)
    resolved_top = os.path.realpath(top)
    for rel, kind, _, mode in others:
        if kind == "f":  # a named pipe, a socket, a device: its type is its state
            stats[rel] = ("special", S_IFMT(mode))
        elif kind == "e":
            stats[rel] = ("unreadable",)
        elif kind == "l":
            path = os.path.join(top, rel)
            try:
                target = os.path.realpath(path)
                is_dir = os.path.isdir(target)
                links[rel] = (is_dir, False, True, not is_dir and os.path.isfile(target))
                if is_dir:
                    if target != resolved_top and not target.startswith(resolved_top + os.sep):
                        return None
                    stats[rel] = ("link", os.readlink(path))
                else:  # (never a blocking read: a link to a named pipe or a device is not read)
                    linked = read_regular(path)
                    stats[rel] = ("link", os.readlink(path),
                                  content_digest(linked) if linked is not None else "unreadable")
            except OSError:
                stats[rel] = ("unreadable",)
    for rel, now in changed:
        raw = read_regular(os.path.join(top, rel))
        stats[rel] = (*now, content_digest(raw)) if raw is not None else ("unreadable",)
    content = known.get("\0content")
    if changed or content is None or len(stats) != len(known) - 2 or any(rel not in known for rel in stats):
        hashed = blake2b(digest_size=16)
        for rel in sorted(stats):
            value = stats[rel]
            hashed.update(f"{rel}\0{value[3] if len(value) == 4 else value}\n".encode("utf-8", "surrogateescape"))
        content = hashed.hexdigest()
    recorded = stats["\0recorded"] = time.time_ns() if changed or len(stats) != len(known) - 2 else known["\0recorded"]
    stats["\0content"] = content
    # The signature stands for these contents only if no file was modified just before its content
    # was hashed (a change in the same clock tick leaves its stat as it was).
    if signature is not None and any(type(v) is tuple and len(v) == 4 and v[1] >= recorded - _RACY_NS
                                     for v in stats.values()):
        signature = None
    return TreeState(content, stats, walked, links, signature)


def _compare(walked: _Walked, known: dict, limit: int) -> tuple[dict, list, list]:
    """(stats, changed, others) of the walk against `known` (_native_tree.compare, in Python): each
    regular file whose (size, mtime_ns, inode) is known and older than `limit` keeps its known
    entry; the other regular files are `changed` as (rel, stat); every other entry but a folder is
    in `others` as (rel, kind, stat, mode)."""
    stats: dict = {}
    changed: list = []
    others: list = []
    get = known.get
    for prefix, blob, _ in walked:
        for name, kind, now, mode in _unpacked(blob):
            rel = prefix + name
            if kind == "f" and S_ISREG(mode):  # (most entries: kept short)
                previous = get(rel)
                if previous is not None and previous[:3] == now and now[1] < limit:
                    stats[rel] = previous
                else:
                    changed.append((rel, now))
            elif kind != "d":  # (a folder: the walk has been into it already)
                others.append((rel, kind, now, mode))
    return stats, changed, others


def _signature(walked: _Walked) -> str | None:
    """A hash of every folder's entries and every file's stat, or None when the tree holds
    something whose stat does not tell its content (a link, a file that cannot be lstat-ed, a
    named pipe)."""
    if not all(simple for _, _, simple in walked):
        return None
    # (hashed byte by byte: marshal's output depends on how often each object is referenced)
    hashed = blake2b(digest_size=16)
    for prefix, blob, _ in sorted(walked):
        hashed.update(b"%s\0%d\0%s" % (prefix.encode("utf-8", "surrogateescape"), len(blob), blob))
    return hashed.hexdigest()


def _walk_native(top: str, skipped: str | None) -> _Walked | None:
    assert _native_tree is not None
    folders = _native_tree.scan(top, skipped, sorted(_NOT_INPUTS))
    if folders is None:
        return None
    # (a folder that cannot be listed may hold anything: no signature stands for it)
    return [(prefix, blob if listed else b"", simple and listed) for prefix, listed, blob, simple in folders]


def _walk(top: str, skipped: str | None) -> _Walked | None:
    walked: _Walked = []
    pending = [(top, "")]
    while pending:
        path, prefix = pending.pop()
        entries: list = []
        try:
            scan = os.scandir(path)
        except OSError:
            if not prefix:
                return None
            walked.append((prefix, b"", False))
            continue
        with scan:
            for entry in scan:
                name = os.fsencode(entry.name)
                try:
                    if entry.is_symlink():
                        entries.append((name, b"l", 0, 0, 0, 0))
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        entries.append((name, b"d", 0, 0, 0, 0))
                        inner = prefix + entry.name + "/"
                        if entry.name not in _NOT_INPUTS and inner != skipped:
                            pending.append((entry.path, inner))
                        continue
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    entries.append((name, b"e", 0, 0, 0, 0))
                    continue
                entries.append((name, b"f", stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_mode))
        walked.append((prefix, _packed(entries),
                       all(kind == b"d" or (kind == b"f" and S_ISREG(mode)) for _, kind, _, _, _, mode in entries)))
    return walked


class RunStore:
    """The last `wavegate validate` of one repository, kept with what decided it: asked again with
    the same inputs (every file under the root by content, the options, wavegate's code, the
    installed packages, files outside the root it read, the tools it ran), it answers without
    running. One record per repository root; a run of other inputs replaces it. The first record
    of a root removes those of roots that no longer exist (the checkouts of other CI jobs, the
    worktrees of `wavegate diff`), as the parse results of a gone root are removed."""

    def __init__(self, cache: Cache, root: Path):
        if cache.directory is None:
            raise ValueError("RunStore needs an enabled cache")
        self.cache, self.root = cache, root
        self.path = cache.directory / "runs" / f"{blake2b(os.fsencode(root), digest_size=16).hexdigest()}.marshal"
        self._record: dict | None = None

    @property
    def record(self) -> dict:
        if self._record is None:
            loaded = _read_marshal(self.path)
            self._record = loaded if type(loaded) is dict else {}
        return self._record

    def get(self, key: str):
        record = self.record
        if record.get("key") != key:
            return None
        for path, digest in record.get("externals", ()):
            if paths_digest([path]) != digest:
                return None
        for name, identity in record.get("tools", ()):
            if tool_identity(name) != identity:
                return None
        return record.get("value")

    @property
    def last_tree(self) -> tuple[str, str, int] | None:
        """(signature, content, recorded) of the tree state the record's stats hold."""
        tree = self.record.get("tree")
        return tuple(tree) if type(tree) is list and len(tree) == 3 else None

    def stats(self) -> dict | None:
        """Each file's stat and content hash when the record was made (a file of its own: a run
        answered from the cache does not read it when nothing was touched)."""
        loaded = _read_marshal(self._stats_path)
        return loaded if type(loaded) is dict else None

    @property
    def _stats_path(self) -> Path:
        return self.path.with_suffix(".stats")

    def put(self, key: str, tree: TreeState, value, externals: list[str], tools: list[str]) -> None:
        record = {"key": key, "value": value, "tree": [tree.signature, tree.content, tree.stats.get("\0recorded", 0)],
                  "externals": [(str(path), paths_digest([path])) for path in externals],
                  "tools": [(name, tool_identity(name)) for name in tools], "root": os.fsencode(self.root)}
        first = not self.path.exists()
        self.cache._write_marshal(self._stats_path, tree.stats)
        self.cache._write_marshal(self.path, record)
        if first:
            self._forget_gone_roots()

    def _forget_gone_roots(self) -> None:
        for entry in _listing(self.path.parent, folders=False):
            if not entry.name.endswith(".marshal") or entry.path == str(self.path):
                continue
            root = (_read_marshal(Path(entry.path)) or {}).get("root")
            if type(root) is bytes and not os.path.isdir(root):
                for gone in (entry.path, entry.path[:-len(".marshal")] + ".stats"):
                    try:
                        os.remove(gone)
                    except OSError:
                        pass

    def update_stats(self, tree: TreeState) -> None:
        """Keep newer stats of the same contents (touched files), so they are not read again."""
        if self.record and not tree.unchanged:
            self.cache._write_marshal(self._stats_path, tree.stats)
            self.cache._write_marshal(self.path, {**self.record, "tree": [tree.signature, tree.content,
                                                                           tree.stats.get("\0recorded", 0)]})


def tool_identity(name: str, binary: Path | None = None) -> str:
    """Where the tool `name` is found (or `binary`, when given) and its size and time (a rebuild
    changes them), or `none`."""
    from wavegate.tools import ToolNotFoundError, find_tool

    try:
        binary = binary or find_tool(name)
        stat = binary.stat()
    except (ToolNotFoundError, OSError):
        return "none"
    return f"{binary}:{stat.st_size}:{stat.st_mtime_ns}"


@lru_cache(maxsize=1)
def installed_packages() -> str:
    """The names (with versions) of the packages installed where Python finds modules: an upgrade
    of any library changes it."""
    names = [name for listing in _path_listings() if listing is not None for name in listing
             if name.endswith((".dist-info", ".egg-info", ".egg-link", ".pth"))]
    return blake2b("\n".join(sorted(names)).encode(), digest_size=16).hexdigest()


class Key:
    """Builds a cache key from everything that decides an entry."""

    def __init__(self, *parts: object):
        self._hash = blake2b(digest_size=32)
        self.add("wavegate", code_identity(), *parts)

    def add(self, *parts: object) -> Key:
        for part in parts:
            data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode()
            self._hash.update(len(data).to_bytes(8, "big"))
            self._hash.update(data)
        return self

    def add_file(self, root: Path, rel: str) -> Key:
        content = read_regular(os.path.join(root, rel))
        return self.add(rel, b"\x00missing" if content is None else content)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
