"""Real git, through subprocess: the one place wavegate runs git.

Promotion, rollback and history, `--changed-since` (wavegate.select), `adopt --publish`
(wavegate.scaffold.adopt), `diff --base` (a worktree of the base revision, wavegate.diff) and the
repository URL fallback (wavegate.config) all go through `Git`.
Every command runs with `GIT_TERMINAL_PROMPT=0` (git never waits for a password) and a timeout.
A command that fails raises one `GitError` whose message names the git subcommand and quotes
git's own `fatal:`/`error:` line, passed through the `scrub` hook so that a token given in `env`
(wavegate.gitlab's `git_http_env`) never reaches a message.

Nothing here touches the working tree or the checked-out branch except `adopt`'s plain
`init`/`add`/`commit`. Promotion commits are built with plumbing (a temporary index, `write-tree`,
`commit-tree`) from a base commit, so a promotion can be prepared while a person has uncommitted
work, and two runs never share an index.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, overload

from wavegate.record import field, record

WAVEGATE_IDENTITY = ("wavegate", "wavegate@localhost")


# Global options that come before the subcommand and take a separate value (`git -c k=v commit`).
_OPTIONS_WITH_VALUE = frozenset({"-c", "-C", "--git-dir", "--work-tree", "--namespace", "--exec-path",
                                 "--config-env"})


class GitError(Exception):
    """A git command failed (or could not run): `git <subcommand> failed: <git's fatal line>`.

    `command` is the subcommand, `reason` git's own `fatal:`/`error:` line (or why git did not
    run), `returncode` git's exit code (None when it did not run or timed out). All of it has
    been through the `Git`'s scrub hook."""

    def __init__(self, command: str, reason: str, returncode: int | None = None, message: str | None = None):
        super().__init__(message or f"git {command} failed: {reason}")
        self.command = command
        self.reason = reason
        self.returncode = returncode


@record(frozen=True)
class Commit:
    sha: str
    time: int  # committer time, seconds since the epoch
    author: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)
    tree: str = ""
    parents: tuple[str, ...] = ()


class Git:
    """git in the directory `root`.

    `env`: variables added to every command (e.g. credentials as `GIT_CONFIG_*` headers, kept off
    command lines); `scrub`: applied to every message built from git's output (GitError and
    `push`'s message), so that nothing from `env` is shown; `timeout`: seconds per command."""

    def __init__(self, root: Path | str, *, env: dict[str, str] | None = None,
                 scrub: Callable[[str], str] | None = None, timeout: float = 120):
        self.root = Path(root)
        self.env = dict(env or {})
        self.scrub = scrub or (lambda text: text)
        self.timeout = timeout

    @staticmethod
    def is_repo(path: Path | str) -> bool:
        try:
            return Git(path, timeout=10).query("rev-parse", "--is-inside-work-tree") == "true"
        except GitError:
            return False

    def _run(self, args: tuple[str, ...], input: bytes | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
        """git `args`, whatever its exit code; GitError only when git cannot run or times out."""
        full_env = {**os.environ, **self.env, **(env or {}), "GIT_TERMINAL_PROMPT": "0"}
        try:
            return subprocess.run(["git", "-C", str(self.root), *args], input=input, capture_output=True,
                                  env=full_env, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise GitError(subcommand(args), f"no answer after {self.timeout:g} s") from None
        except OSError as error:
            raise GitError(subcommand(args), self.scrub(str(error)),
                           message=self.scrub(f"cannot run git: {error}")) from None

    @overload
    def run(self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True,
            text: Literal[True] = True) -> str: ...

    @overload
    def run(self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True,
            text: Literal[False]) -> bytes: ...

    def run(self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True,
            text: bool = True) -> str | bytes:
        done = self._run(args, input=input, env=env)
        if check and done.returncode != 0:
            reason = self.scrub(_fatal(done.stderr.decode(errors="replace")))
            raise GitError(subcommand(args), reason, done.returncode)
        return done.stdout.decode() if text else done.stdout

    def ok(self, *args: str, env: dict | None = None) -> bool:
        return self._run(args, env=env).returncode == 0

    def query(self, *args: str) -> str | None:
        """git's output, stripped, when it succeeds with some; None when it fails or says nothing."""
        done = self._run(args)
        return done.stdout.decode(errors="replace").strip() or None if done.returncode == 0 else None

    # -- reading -------------------------------------------------------------------------------

    def toplevel(self) -> Path:
        return Path(self.run("rev-parse", "--show-toplevel").strip())

    def rev_parse(self, rev: str) -> str | None:
        return self.query("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def tree_of(self, rev: str, path: str = "") -> str | None:
        return self.query("rev-parse", "--verify", "--quiet", f"{rev}^{{tree}}" if not path else f"{rev}:{path}")

    def current_branch(self) -> str | None:
        return self.query("symbolic-ref", "--quiet", "--short", "HEAD")

    def remote_url(self, name: str = "origin") -> str | None:
        return self.query("remote", "get-url", name)

    def has_remote(self, name: str) -> bool:
        return name in self.run("remote").split()

    def remote_default_branch(self, remote: str) -> str | None:
        done = self._run(("ls-remote", "--symref", remote, "HEAD"))
        for line in done.stdout.decode(errors="replace").splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split()[1].removeprefix("refs/heads/")
        return None

    def ls_remote(self, remote: str, branch: str) -> str | None:
        out = self.run("ls-remote", remote, f"refs/heads/{branch}")
        for line in out.splitlines():
            sha, ref = line.split("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    def fetch(self, remote: str, *branches: str) -> None:
        specs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in branches]
        self.run("fetch", "--quiet", "--no-tags", remote, *specs)

    def file_at(self, rev: str, path: str) -> bytes | None:
        """The content of `path` (relative to the top level) at `rev`; None when either is missing."""
        done = self._run(("cat-file", "blob", f"{rev}:{path}"))
        return done.stdout if done.returncode == 0 else None

    def files_at(self, rev: str, folder: str) -> dict[str, bytes]:
        """Every file under `folder` at `rev`, by path relative to `folder` (`/`-separated)."""
        folder = folder.strip("/")
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--", folder + "/" if folder != "." else ".",
                           text=False)
        entries = []
        for item in listing.split(b"\0"):
            if not item:
                continue
            meta, raw_path = item.split(b"\t", 1)
            mode, kind, sha = meta.decode().split()
            if kind == "blob":
                entries.append((raw_path.decode(), sha))
        if not entries:
            return {}
        batch = self.run("cat-file", "--batch", input="".join(f"{sha}\n" for _, sha in entries).encode(), text=False)
        files: dict[str, bytes] = {}
        offset = 0
        prefix = "" if folder == "." else folder + "/"
        for path, _ in entries:
            header_end = batch.index(b"\n", offset)
            size = int(batch[offset:header_end].split()[2])
            start = header_end + 1
            files[path[len(prefix):]] = batch[start:start + size]
            offset = start + size + 1
        return files

    def archive_to(self, rev: str, dest: Path) -> None:
        """The tree of `rev`, written into the directory `dest` (no .git)."""
        import tarfile  # only promotion needs it; not imported on every `wavegate validate`

        data = self.run("archive", "--format=tar", rev, text=False)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")

    @contextmanager
    def worktree(self, rev: str) -> Iterator[Path]:
        """A detached checkout of `rev` in a temporary folder, removed afterwards (with its entry in
        .git/worktrees): the person's files, index and branch are never touched."""
        folder = Path(tempfile.mkdtemp(prefix="wavegate-rev-"))
        tree = folder / "tree"
        try:
            self.run("worktree", "add", "--detach", "--quiet", str(tree), rev)
            yield tree
        finally:
            self._run(("worktree", "remove", "--force", str(tree)))
            shutil.rmtree(folder, ignore_errors=True)
            self._run(("worktree", "prune"))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", ancestor, descendant)

    def commits(self, rev_range: str, path: str | None = None) -> list[Commit]:
        """Commits in `rev_range`, newest first, with their trailers."""
        fmt = "%H%x1f%ct%x1f%an <%ae>%x1f%s%x1f%T%x1f%P%x1f%(trailers:unfold,only)%x1e"
        args = ["log", f"--format={fmt}", rev_range]
        if path:
            args += ["--", path]
        out = self.run(*args)
        found = []
        for entry in out.split("\x1e"):
            entry = entry.strip("\n")
            if not entry:
                continue
            sha, ctime, author, subject, tree, parents, trailers = entry.split("\x1f")
            found.append(Commit(sha, int(ctime), author, subject, parse_trailers(trailers), tree,
                                tuple(parents.split())))
        return found

    # -- writing -------------------------------------------------------------------------------

    def commit_folder(self, base: str, folder: str, *, write: dict[str, bytes] | None = None,
                      remove: Sequence[str] = (), restore_from: str | None = None) -> str:
        """The tree of `base` with `folder` changed: files written (paths relative to `folder`),
        files removed, or, with `restore_from`, the folder replaced by its state at that commit.
        Returns the new tree's sha (nothing is committed yet)."""
        folder = folder.strip("/")
        with tempfile.TemporaryDirectory(prefix="wavegate-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("read-tree", base, env=env)
            if restore_from is not None:
                self.run("rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", folder, env=env)
                if self.tree_of(restore_from, folder):
                    self.run("read-tree", f"--prefix={folder}/", f"{restore_from}:{folder}", env=env)
            if remove:
                self.run("rm", "--cached", "--quiet", "--ignore-unmatch", "--",
                         *[f"{folder}/{rel}" for rel in remove], env=env)
            lines = []
            for rel, data in sorted((write or {}).items()):
                sha = self.run("hash-object", "-w", "--stdin", input=data).strip()
                lines.append(f"100644 {sha}\t{folder}/{rel}\n")
            if lines:
                self.run("update-index", "--add", "--index-info", input="".join(lines).encode(), env=env)
            return self.run("write-tree", env=env).strip()

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.run(*args, input=message.encode(), env=self._identity()).strip()

    def _identity(self) -> dict:
        """The configured identity, or wavegate's when git has none (a bare CI runner)."""
        if self.ok("config", "user.email") or os.environ.get("GIT_AUTHOR_EMAIL"):
            return {}
        name, email = WAVEGATE_IDENTITY
        return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}

    def push(self, remote: str, commit: str, branch: str, expect: str | None) -> tuple[bool, str]:
        """Push `commit` to `branch` only if the remote branch is still `expect` (None: must not
        exist). Returns (pushed, git's message); never overwrites what someone else pushed."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expect or ''}"
        done = self._run(("push", "--porcelain", lease, remote, f"{commit}:refs/heads/{branch}"))
        said = (done.stdout + done.stderr).decode(errors="replace").strip()
        return done.returncode == 0, self.scrub(said)

    def update_ref(self, ref: str, commit: str, expect: str | None) -> bool:
        return self.ok("update-ref", ref, commit, expect or "0" * 40)


def parse_trailers(text: str) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and " " not in key.strip():
            trailers[key.strip()] = value.strip()
    return trailers


def subcommand(args: tuple[str, ...] | list[str]) -> str:
    """The git subcommand in `args` (`commit` in `-c user.name=x commit -m m`)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return " ".join(args[:1]) or "(no subcommand)"


def _fatal(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else "no message"
