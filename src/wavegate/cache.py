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
- `get_value`/`put_value`: one value per key in marshal's format (whole runs).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import tempfile
import time
import zlib
from functools import lru_cache
from pathlib import Path

from wavegate import __version__

DEFAULT_DIR = ".wavegate_cache"
ENV = "WAVEGATE_CACHE_DIR"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# wavegate's cache: see https://bford.info/cachedir/\n"


class Cache:
    """A content-addressed store of JSON values under one directory (or nowhere, when off)."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    @classmethod
    def for_repository(cls, root: Path, option: str | Path | None = None, enabled: bool = True) -> "Cache":
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
            return json.loads((self.directory / namespace / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, namespace: str, key: str, value) -> None:
        if self.directory is None:
            return
        target = self.directory / namespace / key[:2] / f"{key}.json"
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(value, out)
            os.replace(temporary, target)
        except OSError:
            pass  # a cache that cannot be written is a slower run, not a failure

    def get_value(self, namespace: str, key: str):
        """A value put_value stored (marshal: plain data only), or None."""
        if self.directory is None:
            return None
        return _read_marshal(self.directory / namespace / key[:2] / f"{key}.marshal")

    def put_value(self, namespace: str, key: str, value) -> None:
        if self.directory is not None:
            self._write_marshal(self.directory / namespace / key[:2] / f"{key}.marshal", value)

    def files(self, name: str, root: Path, *scope) -> "FileStore | None":
        """The per-file results `name` of the repository at `root`, under `scope` (what else
        decides them); None when the cache is off."""
        if self.directory is None:
            return None
        return FileStore(self, self.directory / name / Key(str(root), *scope).hexdigest()[:32])

    def results(self, name: str, *scope) -> "ResultStore | None":
        """Values of `name` by key, under `scope`; None when the cache is off."""
        if self.directory is None:
            return None
        return ResultStore(self, self.directory / name / Key(*scope).hexdigest()[:32])

    def _write_marshal(self, target: Path, value) -> None:
        try:
            data = marshal.dumps(value)
        except ValueError:  # not plain data: nothing is kept
            return
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
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


def _read_marshal(path: Path):
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


@lru_cache(maxsize=1)
def code_identity() -> str:
    """wavegate's version and the size and modification time of every file of the package (code,
    shipped policies and schemas): a cache entry made by other code, or with other shipped data,
    is never used, even between two builds of one version."""
    package = Path(__file__).resolve().parent
    parts = [__version__]
    for directory, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            try:
                stat = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            parts.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_SHARDS = 16
_KEEP_RUNS = 5  # an entry nothing used in this many runs that rewrote its shard is dropped
# A file modified this shortly before its size and time were recorded may have changed again
# within the same clock tick: its stat is not trusted (git's "racily clean" entries).
_RACY_NS = 2_000_000_000


class _Shards:
    """Entries in _SHARDS files under one folder, each read when first needed and written back
    only when something in it changed (atomically). Each entry records the run that last used it;
    a rewritten shard drops those unused for _KEEP_RUNS runs."""

    def __init__(self, cache: Cache, folder: Path):
        self.cache, self.folder = cache, folder
        self._shards: dict[int, dict] = {}
        self._used: dict[int, set] = {}
        self._dirty: set[int] = set()
        self._run: int | None = None

    def _shard_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % _SHARDS

    def _entries(self, shard: int) -> dict:
        entries = self._shards.get(shard)
        if entries is None:
            loaded = _read_marshal(self.folder / f"{shard:02d}.marshal")
            entries = loaded if type(loaded) is dict else {}
            self._shards[shard] = entries
            self._used[shard] = set()
        return entries

    def _get(self, key: str):
        shard = self._shard_of(key)
        entry = self._entries(shard).get(key)
        if type(entry) is not tuple or len(entry) != 2:
            return None
        self._used[shard].add(key)
        return entry[1]

    def _put(self, key: str, value) -> None:
        shard = self._shard_of(key)
        self._entries(shard)[key] = (self.run, value)
        self._used[shard].add(key)
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
        run = self.run
        for shard in sorted(self._dirty):
            entries, used = self._shards[shard], self._used[shard]
            kept = {}
            for key, entry in entries.items():
                if key in used:
                    kept[key] = (run, entry[1])
                elif type(entry) is tuple and len(entry) == 2 and type(entry[0]) is int and entry[0] > run - _KEEP_RUNS:
                    kept[key] = entry
            self.cache._write_marshal(self.folder / f"{shard:02d}.marshal", kept)
        self.cache._write_marshal(self.folder / "run.marshal", run)
        self._dirty.clear()


class FileStore(_Shards):
    """Per-file results of one repository: each valid while the file's content hash is the one it
    was made from. `get` trusts a file whose size, modification time and inode are those recorded
    (unless it was modified just before they were recorded); `get_content` compares the hash."""

    def get(self, rel: str, stat: os.stat_result):
        entry = self._get(rel)
        if entry is None:
            return None
        size, mtime, inode, recorded, _digest, value = entry
        if (size, mtime, inode) == (stat.st_size, stat.st_mtime_ns, stat.st_ino) and mtime < recorded - _RACY_NS:
            return value
        return None

    def get_content(self, rel: str, digest: str):
        entry = self._get(rel)
        if entry is None or entry[4] != digest:
            return None
        return entry[5]

    def digest_of(self, rel: str, stat: os.stat_result) -> str | None:
        """The content hash recorded for `rel`, when its stat can be trusted (as in `get`)."""
        entry = self._get(rel)
        if entry is None:
            return None
        size, mtime, inode, recorded, digest, _value = entry
        if (size, mtime, inode) == (stat.st_size, stat.st_mtime_ns, stat.st_ino) and mtime < recorded - _RACY_NS:
            return digest
        return None

    def put(self, rel: str, stat: os.stat_result, digest: str, value) -> None:
        self._put(rel, (stat.st_size, stat.st_mtime_ns, stat.st_ino, time.time_ns(), digest, value))


class ResultStore(_Shards):
    """Values by key (a content hash of everything that decides the value)."""

    def get(self, key: str):
        return self._get(key)

    def put(self, key: str, value) -> None:
        self._put(key, value)


class Key:
    """Builds a cache key from everything that decides an entry."""

    def __init__(self, *parts: str):
        self._hash = hashlib.sha256()
        self.add("wavegate", code_identity(), *parts)

    def add(self, *parts) -> "Key":
        for part in parts:
            data = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode()
            self._hash.update(len(data).to_bytes(8, "big"))
            self._hash.update(data)
        return self

    def add_file(self, root: Path, rel: str) -> "Key":
        try:
            content = (root / rel).read_bytes()
        except OSError:
            content = b"\x00missing"
        return self.add(rel, content)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
