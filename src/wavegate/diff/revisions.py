"""Both revisions rendered by the one pipeline: the head (the working tree, or a revision) and the
base, each revision other than the working tree checked out in a temporary git worktree
(wavegate.git), so nothing is ever checked out over the person's files.

Both sides share the head's configuration (.wavegate.yaml, whose paths may lead out of the
repository: a base worktree has nothing beside it), the head's repository URL (so an Application's
sources are "this repository" at both revisions) and the head's render cache (so an Application
whose inputs did not change is not rendered twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from wavegate.config import CONFIG_NAME
from wavegate.diff.compare import Side, compare
from wavegate.diff.model import Diff
from wavegate.diff.normalize import status_setting
from wavegate.errors import UsageError
from wavegate.git import Git, GitError
from wavegate.record import record, replace

WORKING_TREE = "working tree"


@record
class Request:
    path: Path
    base: str
    head: str | None = None  # None: the working tree
    config_file: Path | None = None
    cache_dir: Path | None = None
    cache: bool = True
    debug: bool = False


def diff(request: Request, progress: Callable[[str], None] = lambda _: None) -> Diff:
    from wavegate.cache import Cache

    started = time.perf_counter()
    path = request.path
    if not path.is_dir():
        raise UsageError(f"{path}: no such directory; give the repository (or a folder of it) to compare")
    if not Git.is_repo(path):
        raise UsageError(f"{path} is not in a git repository: diff compares two revisions of one")
    git = Git(path)
    base_commit = _commit(git, request.base, "--base")
    head_commit = _commit(git, request.head, "--head") if request.head is not None else (git.rev_parse("HEAD") or "")
    relative = path.resolve().relative_to(git.toplevel().resolve())
    cache_dir = Cache.for_repository(path, request.cache_dir, enabled=request.cache).directory
    with ExitStack() as stack:
        head_root = path if request.head is None else stack.enter_context(git.worktree(head_commit)) / relative
        progress(f"rendering the head ({request.head or WORKING_TREE})")
        if request.config_file is None and (head_root / CONFIG_NAME).is_file():
            request = replace(request, config_file=(head_root / CONFIG_NAME).resolve())
        head, repo_url = _side(head_root, request, cache_dir, None, progress)
        base_tree = stack.enter_context(git.worktree(base_commit))
        progress(f"rendering the base ({request.base}, {base_commit[:8]})")
        base, _ = _side(base_tree / relative, request, cache_dir, repo_url, progress)
    progress("comparing")
    applications = compare(base, head)
    return Diff(base=request.base, head=request.head or WORKING_TREE, base_commit=base_commit,
                head_commit=head_commit if request.head is not None else "", applications=applications,
                seconds=time.perf_counter() - started)


def _commit(git: Git, rev: str, option: str) -> str:
    sha = git.rev_parse(rev)
    if sha is None:
        raise UsageError(f"{option} {rev}: no such commit in {git.root}; fetch it first (git fetch origin {rev})")
    return sha


def _side(root: Path, request: Request, cache_dir: Path | None, repo_url: str | None,
          progress: Callable[[str], None]) -> tuple[Side, str | None]:
    """One revision through prepare and render; a folder that does not exist there is empty."""
    from wavegate import pipeline
    from wavegate.load import Repo
    from wavegate.render.model import Rendering

    if not root.is_dir():
        return Side(Rendering(), Repo(root=root, manifests=[], files=[], problems=[], untyped=[])), repo_url
    options = pipeline.Options(root=root, config_file=request.config_file, repo_url=repo_url, debug=request.debug,
                               cache_dir=cache_dir, cache=cache_dir is not None, progress=progress)
    try:
        run = pipeline.render(pipeline.prepare(options))
    except GitError as error:
        raise UsageError(str(error)) from None
    assert run.rendering is not None and run.repo is not None and run.ctx is not None, "render() fills them"
    side = Side(run.rendering, run.repo, status_setting(run.repo, run.config.argocd_version))
    return side, run.ctx.repo_url
