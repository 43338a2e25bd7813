"""Run on part of a repository: `--changed-since REV` and `--shard I/N`.

**Application** is the unit both work on, defined simply:

1. When the repository holds Argo CD Applications, each distinct directory that an Application's
   `source.path` (or `sources[].path`) names and that exists in the repository, for example
   `apps/web`. The file that declares Applications belongs to their application when they all
   point into the same one (so a shard sees the Application with the manifests it syncs).
2. Otherwise (a monorepo without Applications), each top-level directory under `apps/` or
   `environments/`, for example `apps/web` or `environments/dev`.

A file belongs to the application whose directory is the longest prefix of its path. Every other
file is **shared** (AppProjects, catalog-info.yaml, files declaring Applications of several
applications, anything at the root): every run loads shared files for context, and a sharded run
reports findings on them only in shard 1, so that the shards together report what one run does.

`--changed-since REV` selects the applications with a file changed in `git diff --name-only
REV...HEAD` (plus uncommitted and untracked files, for local runs), and everything when shared
configuration changed: `.wavegate.yaml`, `.gitlab-ci.yml`, the schema and policy paths of the
configuration, or any YAML/JSON file outside every application directory. Other files outside
applications (README.md, scripts) change nothing wavegate reads and select nothing. When only
some applications are selected, it reports the findings a full run gives in their files and
none in shared files (unchanged, and judged against applications the run does not load), so
nothing changed means no findings.

`--shard I/N` (1-based, like `CI_NODE_INDEX/CI_NODE_TOTAL` of GitLab's `parallel: N`; `auto`
reads those two variables) orders the applications by a stable hash of their directory (SHA-256,
never Python's salted `hash`) and deals them round-robin, so shards differ by at most one
application and the split is the same on every machine.

Limit: a check that compares two applications with each other (none does today) sees only
the applications in its shard.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from wavegate.findings import Finding
from wavegate.git import Git, GitError
from wavegate.load import Limits, discover, load
from wavegate.record import field, record
from wavegate.regex import lazy_compile

SHARED_FILES = (".wavegate.yaml", ".gitlab-ci.yml")
MONOREPO_PARENTS = ("apps", "environments")
READ_SUFFIXES = (".yaml", ".yml", ".json")
_APPLICATION_KIND = lazy_compile(r"^\s*kind:\s*[\"']?Application[\"']?\s*(#.*)?$", re.MULTILINE)


class SelectError(Exception):
    """A selection that cannot be made (bad --shard, git failing): one line, exit code 2."""


@record
class Layout:
    """The repository's applications: which directory each file belongs to."""

    files: list[str]
    dirs: list[str]
    owner: dict[str, str] = field(default_factory=dict)  # Application-declaring file -> its application

    def application_of(self, path: str) -> str | None:
        if path in self.owner:
            return self.owner[path]
        best = None
        for directory in self.dirs:
            if path.startswith(directory + "/") and (best is None or len(directory) > len(best)):
                best = directory
        return best


def layout(root: Path | str, exclude: tuple[str, ...] = (), limits: Limits = Limits(),
           files: list[str] | None = None) -> Layout:
    """Find the applications of the repository at `root` (see the module docstring)."""
    from wavegate.argocd.application import Application

    root = Path(root).resolve()
    files = discover(root, exclude) if files is None else files
    # Only files that mention `kind: Application` are parsed here (by the one loader).
    candidates = []
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _APPLICATION_KIND.search(text):
            candidates.append(rel)
    repo = load(root, exclude=exclude, limits=limits, only=candidates) if candidates else None
    declared: dict[str, set[str]] = {}
    dirs: set[str] = set()
    for app in Application.all_in(repo) if repo else []:
        for source in app.sources:
            if source.path and os.path.isdir(root / source.path):
                dirs.add(source.path)
                declared.setdefault(app.manifest.path, set()).add(source.path)
    if not dirs:
        for rel in files:
            parts = rel.split("/")
            if len(parts) > 2 and parts[0] in MONOREPO_PARENTS:
                dirs.add(f"{parts[0]}/{parts[1]}")
    owner = {path: next(iter(targets)) for path, targets in declared.items() if len(targets) == 1}
    return Layout(files=files, dirs=sorted(dirs), owner=owner)


def shard(paths: Iterable[str], index: int, total: int) -> list[str]:
    """The application directories of shard `index` of `total` (1-based), sorted."""
    if total < 1 or not 1 <= index <= total:
        raise SelectError(f"--shard {index}/{total}: write I/N with 1 <= I <= N")
    ordered = sorted(set(paths), key=lambda p: (hashlib.sha256(p.encode()).hexdigest(), p))
    return sorted(p for i, p in enumerate(ordered) if i % total == index - 1)


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """`I/N` as (I, N); `auto` reads CI_NODE_INDEX/CI_NODE_TOTAL (None when they are unset)."""
    env = os.environ if environ is None else environ
    if text.strip() == "auto":
        if not env.get("CI_NODE_INDEX") or not env.get("CI_NODE_TOTAL"):
            return None
        text = f"{env['CI_NODE_INDEX']}/{env['CI_NODE_TOTAL']}"
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise SelectError(f"--shard {text!r}: write I/N, for example 2/5, or auto (CI_NODE_INDEX/CI_NODE_TOTAL)")
    index, total = int(match[1]), int(match[2])
    if total < 1 or not 1 <= index <= total:
        raise SelectError(f"--shard {text!r}: I must be between 1 and N")
    return index, total


def filter_repo_files(files: Iterable[str], selected_dirs: Iterable[str], layout: Layout) -> list[str]:
    """The files to load for `selected_dirs`: theirs, and every shared file (for `load(only=)`)."""
    selected = set(selected_dirs)
    kept = []
    for rel in files:
        app = layout.application_of(rel)
        if app is None or app in selected:
            kept.append(rel)
    return kept


_NEEDS_REVISION = "--changed-since needs the revision in the clone (in GitLab CI set GIT_DEPTH: 0 or fetch it)"


def _lines(git: Git, *args: str) -> list[str]:
    try:
        out = git.run(*args)
    except GitError as error:
        if error.returncode is None:  # git did not run, or did not answer
            raise SelectError(str(error)) from None
        raise SelectError(f"{error}; {_NEEDS_REVISION}") from None
    return [line for line in out.splitlines() if line]


def changed_files(repo_root: Path | str, rev: str) -> list[str]:
    """Files changed since `rev` (`git diff --name-only REV...HEAD`, plus uncommitted and
    untracked ones), relative to `repo_root` and only those under it."""
    root = Path(repo_root).resolve()
    if rev.startswith("-"):
        raise SelectError(f"--changed-since {rev!r}: give a revision (a branch, tag or commit)")
    if not Git.is_repo(root):
        raise SelectError(f"--changed-since: {root} is not inside a git work tree")
    git = Git(root, timeout=60)
    committed = _lines(git, "diff", "--name-only", "--no-renames", "--relative", f"{rev}...HEAD", "--")
    local = _lines(git, "diff", "--name-only", "--no-renames", "--relative", "HEAD", "--")
    untracked = _lines(git, "ls-files", "--others", "--exclude-standard")
    return sorted(set(committed + local + untracked))


def changed_applications(repo_root: Path | str, rev: str, *, known_layout: Layout | None = None,
                         exclude: tuple[str, ...] = (), shared_paths: Iterable[str] = ()) -> set[str] | None:
    """The application directories touched since `rev`; None means everything (shared
    configuration changed). `shared_paths`: more repository-relative paths whose change means
    everything (the configuration's schemas and policies)."""
    root = Path(repo_root).resolve()
    found = known_layout or layout(root, exclude)
    shared = [p.rstrip("/") for p in shared_paths if p]
    touched: set[str] = set()
    for path in changed_files(root, rev):
        name = path.rsplit("/", 1)[-1]
        if path in SHARED_FILES or name == ".wavegate.yaml" or any(path == s or path.startswith(s + "/") for s in shared):
            return None
        app = found.application_of(path)
        if app is not None:
            touched.add(app)
        elif path.endswith(READ_SUFFIXES):
            return None
    return touched


@record
class Selection:
    """What a partial run loads (`files`, for `load(only=)`) and which findings it reports."""

    files: list[str]
    applications: list[str]
    layout: Layout
    reports_shared: bool
    description: str

    def keep(self, finding: Finding) -> bool:
        app = self.layout.application_of(finding.path)
        return self.reports_shared if app is None else app in self._selected

    def filter(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.keep(f)]

    @property
    def _selected(self) -> set[str]:
        return set(self.applications)


def plan(root: Path | str, *, exclude: tuple[str, ...] = (), limits: Limits = Limits(),
         changed_since: str | None = None, shard_spec: str | None = None,
         shared_paths: Iterable[str | Path] = (), environ: Mapping[str, str] | None = None) -> Selection | None:
    """The selection for `--changed-since` and `--shard` (None: check everything, as usual).

    `shared_paths` may be absolute; those outside `root` are ignored."""
    root = Path(root).resolve()
    position = parse_shard(shard_spec, environ) if shard_spec else None
    if not changed_since and position is None:
        return None
    found = layout(root, exclude, limits)
    relative = []
    for path in shared_paths:
        path = Path(path)
        full = path if path.is_absolute() else root / path
        try:
            relative.append(full.resolve().relative_to(root).as_posix())
        except ValueError:
            continue
    selected = list(found.dirs)
    described = []
    reports_shared = True
    if changed_since:
        touched = changed_applications(root, changed_since, known_layout=found, shared_paths=relative)
        if touched is None:
            described.append(f"shared configuration changed since {changed_since}: every application")
        else:
            selected = sorted(touched)
            described.append(f"{len(selected)} of {len(found.dirs)} applications changed since {changed_since}")
            # No shared file changed (that would select everything), and what checks say about
            # one (catalog-info.yaml against every Application) needs applications this run
            # does not load: report the selected applications' findings only.
            reports_shared = False
    if position is not None:
        index, total = position
        selected = shard(selected, index, total)
        reports_shared = reports_shared and index == 1
        described.append(f"shard {index}/{total}: {len(selected)} applications")
    return Selection(files=filter_repo_files(found.files, selected, found), applications=selected,
                     layout=found, reports_shared=reports_shared, description="; ".join(described))
