"""Where kustomize and helm run: a mirror of the repository made of hard links.

Argo CD runs its tools in a checkout of its own, and they write there: `kustomize edit set ...`
rewrites the kustomization for an Application's namePrefix or images, `helm dependency build`
fills charts/, and wavegate adds `buildMetadata: [originAnnotations]` to learn where each object
came from. None of that may touch the person's working tree. A mirror of hard links costs one
directory entry per file; a file that is about to change is first replaced by a copy of its own
(`writable`), so the original is never written through its link.

Kustomize refuses symbolic links that leave a kustomization's root, so the mirror cannot be made
of symlinks. Where hard links are not possible (another file system, a platform without them)
files are copied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from wavegate.load import ALWAYS_EXCLUDED
from wavegate.record import record

# A tool that runs longer than this is stopped; its source is reported as not rendered.
TOOL_TIMEOUT_SECONDS = 120


@record
class ToolResult:
    returncode: int
    stdout: str
    stderr: str
    command: str  # as a person would type it, with the mirror's path shown as the repository's
    timed_out: bool = False


class Workspace:
    """A hard-link mirror of `root`, made when first needed and removed by close()."""

    def __init__(self, root: Path, exclude: tuple[str, ...] = ()):
        self.root = root
        self.exclude = exclude
        self._dir: Path | None = None
        self._lock = threading.RLock()
        self._path_locks: dict[str, threading.Lock] = {}
        self._edited: set[str] = set()  # files a build has made its own and is rewriting (until restored)

    @property
    def path(self) -> Path:
        with self._lock:
            if self._dir is None:
                import tempfile

                self._dir = Path(tempfile.mkdtemp(prefix="wavegate-render-"))
                _mirror(self.root, self._dir, self.exclude)
            return self._dir

    def lock_for(self, rel_dir: str) -> threading.Lock:
        """One lock per directory: two renders that rewrite the same kustomization take turns."""
        with self._lock:
            return self._path_locks.setdefault(rel_dir, threading.Lock())

    @contextlib.contextmanager
    def locked(self, rel_dirs: Iterable[str]) -> Iterator[None]:
        """Every lock of `rel_dirs`, held together: a build rewrites its own kustomization while it
        runs (the Application's `kustomize edit set ...`, wavegate's origin annotations), and a
        build that reads that directory as a base meanwhile would read the rewritten file. The
        locks are taken in one order, so two builds never wait for each other's."""
        locks = [self.lock_for(rel_dir) for rel_dir in sorted(set(rel_dirs))]
        with contextlib.ExitStack() as held:
            for lock in locks:
                held.enter_context(lock)
            yield

    def writable(self, rel: str) -> Path:
        """The mirror's copy of `rel`, unlinked from the original so that writing it is safe."""
        target = self.path / rel
        with self._lock:
            self._edited.add(rel)
        if target.is_file():
            _unlinked(target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def private(self, rel_dir: str) -> Path:
        """Every file under `rel_dir` in the mirror replaced by a copy, once: for tools that may
        rewrite files there in place (helm writes charts/ and lock files). A file another build is
        rewriting meanwhile (a kustomization in a folder below) is its own copy already, and is
        left alone: copied now, it could be caught half written, and the half would replace it."""
        with self._lock:
            done = self.__dict__.setdefault("_private", set())
            if rel_dir in done:
                return self.path / rel_dir
            done.add(rel_dir)
        base = self.path / rel_dir
        for directory, _, filenames in os.walk(base):
            for name in filenames:
                target = Path(directory) / name
                if target.is_symlink() or not target.is_file():
                    continue  # links keep pointing where they did; special files are never rewritten
                with self._lock:
                    if target.relative_to(self.path).as_posix() not in self._edited:
                        _unlinked(target)
        return base

    def restore(self, rel: str) -> None:
        """Put the original back in the mirror (after a render that rewrote it)."""
        target = self.path / rel
        original = self.root / rel
        if original.exists():
            _replace(target, lambda temporary: _link_or_copy(original, temporary))
        elif target.exists() or target.is_symlink():
            target.unlink()
        with self._lock:
            self._edited.discard(rel)

    def run(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = TOOL_TIMEOUT_SECONDS) -> ToolResult:
        import subprocess

        shown = " ".join(_shell_quote(self.display(a)) for a in [Path(argv[0]).name, *argv[1:]])
        full_env = {**os.environ, **(env or {})}
        try:
            done = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            return ToolResult(-1, _text(error.stdout), _text(error.stderr), shown, timed_out=True)
        except OSError as error:
            return ToolResult(-1, "", f"{argv[0]}: {error.strerror}", shown)
        return ToolResult(done.returncode, done.stdout, self.display(done.stderr), shown)

    def display(self, text: str) -> str:
        """`text` with the mirror's path replaced by the repository-relative form."""
        if self._dir is None:
            return text
        text = text.replace(str(self._dir) + os.sep, "")
        return text.replace(str(self._dir), ".")

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def _replace(target: Path, make: Callable[[Path], object]) -> None:
    """`target` replaced by the file `make` writes beside it, in one step (a rename): another
    tool reading the mirror meanwhile finds the old file or the new one, never none."""
    temporary = target.with_name(f".{target.name}.wavegate-{os.getpid()}-{threading.get_ident()}")
    try:
        make(temporary)
        if temporary.exists() or temporary.is_symlink():
            os.replace(temporary, target)
        elif target.exists() or target.is_symlink():
            target.unlink()  # (nothing was made: an original that cannot be read is not in the mirror)
    finally:
        if temporary.exists() or temporary.is_symlink():
            temporary.unlink()


def _unlinked(target: Path) -> None:
    """`target` made a copy of its own, no longer a link to the original."""
    data = target.read_bytes()
    _replace(target, lambda temporary: temporary.write_bytes(data))


def _mirror(root: Path, target: Path, exclude: tuple[str, ...]) -> None:
    for directory, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(directory, root)
        dirnames[:] = [d for d in dirnames if d not in ALWAYS_EXCLUDED and d != ".wavegate_cache"]
        here = target if rel == "." else target / rel
        here.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            source = Path(directory) / name
            if source.is_symlink():
                # Links inside the repository keep working in the mirror (same relative layout).
                try:
                    os.symlink(os.readlink(source), here / name)
                except OSError:
                    pass
                continue
            _link_or_copy(source, here / name)
        for name in list(dirnames):
            if (Path(directory) / name).is_symlink():
                try:
                    os.symlink(os.readlink(Path(directory) / name), here / name)
                except OSError:
                    pass
                dirnames.remove(name)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        try:
            shutil.copy2(source, target)
        except OSError:
            pass  # unreadable: the tool reports it when it needs the file


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _shell_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_./=:,@+%" for c in arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


_UNREACHABLE = ("no cached repository", "no such host", "dial tcp", "could not download", "connection refused",
                "i/o timeout", "Unable to get an update", "failed to fetch", "TLS handshake timeout",
                "no repository definition", "context deadline exceeded", "Could not resolve host",
                "unable to access", "fatal: repository", "git fetch", "git clone", "failed to run '/usr/bin/git",
                "network is unreachable")


def unreachable(error: str) -> bool:
    """Whether a tool failed because something on the network (a chart repository, a registry, a
    remote Git repository) could not be reached: where this run has no network, it is not the
    repository's fault."""
    return any(marker in error for marker in _UNREACHABLE)
