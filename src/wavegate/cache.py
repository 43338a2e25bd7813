"""The cache kept between runs, like ruff's: `.wavegate_cache/` in the repository by default
(`--cache-dir`, `WAVEGATE_CACHE_DIR`; `--no-cache` turns it off).

Entries are addressed by a content hash of everything that decides them (the inputs' bytes, the
tool and its version, the arguments, wavegate's version), so an entry is never stale: a change
makes another key. Writing is atomic (a temporary file renamed into place), so two runs at once
at worst compute the same entry twice. The folder ignores itself in git (its own .gitignore) and
is marked with CACHEDIR.TAG for backup tools. Nothing in it is ever needed: deleting it costs one
slower run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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

    def _prepare(self) -> None:
        assert self.directory is not None
        if (self.directory / "CACHEDIR.TAG").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / ".gitignore").write_text("# wavegate's cache, never committed\n*\n", encoding="utf-8")
        (self.directory / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")


class Key:
    """Builds a cache key from everything that decides an entry."""

    def __init__(self, *parts: str):
        self._hash = hashlib.sha256()
        self.add("wavegate", __version__, *parts)

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
