"""Who approved a repository's policy exceptions: read before the checks run (validators are pure).

In a merge-request pipeline (GitLab sets CI_MERGE_REQUEST_IID), an exception that the merge
request adds or changes in .wavegate.yaml counts only when a member of the policy set's approvers
group (`spec.exceptions.approvers`) approved the merge request, and that member is not its
author. What counts as unchanged: the same entry in .wavegate.yaml at the merge request's diff
base (CI_MERGE_REQUEST_DIFF_BASE_SHA, read with git); when that commit is not in the clone, every
exception is treated as new. The approvals and the group's members come from GitLab through
wavegate.gitlab; if they cannot be read, the new exceptions do not count, and the finding says why.

A job re-run after the approval reads the approvals again, so the same pipeline turns green.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from wavegate.record import field, record


@record(frozen=True)
class Review:
    merge_request: str | None = None  # "!12" in a merge-request pipeline, else None
    outside: str = ""  # why there is no merge request to look at (for the unverified finding)
    unchanged: frozenset[int] = field(default_factory=frozenset)  # exceptions the diff base already has
    approver: str | None = None  # "@alice (platform/security)": an approving member of the approvers group
    problem: str = ""  # why the new exceptions are not approved, completing "merge request !12, which ..."
    hint: str = ""


def review_exceptions(ctx, environ: Mapping[str, str] | None = None) -> Review | None:
    """The review for a checking context (its configuration, its policy set, its repository)."""
    if not (ctx.config.raw.get("exceptions") or []):
        return None
    from wavegate.policy.model import policies_for

    try:
        policies = policies_for(ctx)
    except (FileNotFoundError, NotADirectoryError):
        return None  # the policy check reports the missing directory
    return gather(ctx.config, policies, ctx.repo.root, environ)


def gather(config, policies, root: Path, environ: Mapping[str, str] | None = None) -> Review | None:
    """The review of the repository's exceptions, or None when it has none."""
    env = os.environ if environ is None else environ
    exceptions = [e for e in (config.raw.get("exceptions") or []) if isinstance(e, dict)]
    if not exceptions:
        return None
    iid = env.get("CI_MERGE_REQUEST_IID")
    if not iid:
        return Review(outside="in a GitLab CI pipeline that is not a merge-request pipeline" if env.get("GITLAB_CI")
                      else "not in a merge-request pipeline")
    merge_request = f"!{iid}"
    unchanged = _unchanged(exceptions, config.path, Path(root), env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"))
    if len(unchanged) == len(exceptions):
        return Review(merge_request=merge_request, unchanged=unchanged)
    group = policies.settings.approvers
    if not group:
        return Review(merge_request=merge_request, unchanged=unchanged,
                      problem="cannot be approved for exceptions: the policy set names no approvers group",
                      hint="Ask the policy owners to set spec.exceptions.approvers in their PolicySet (see "
                           "policies/README.md), or fix the object instead.")
    from wavegate.gitlab import GitLab, GitLabError

    try:
        gitlab = GitLab.from_env(environ=env)
        approval = gitlab.merge_request_approval(gitlab.project, gitlab.mr_iid)
        members = gitlab.group_member_ids(group)
    except GitLabError as error:
        return Review(merge_request=merge_request, unchanged=unchanged,
                      problem=f"wavegate could not check: {error}",
                      hint="Give the job a token that can read the merge request's approvals and the approvers "
                           "group's members (read_api), then run the job again.")
    approvers = [user for user in approval.approved_by if user["id"] in members and user["id"] != approval.author_id]
    if not approvers:
        others = [user for user in approval.approved_by if user["id"] not in members]
        seen = f" (approved only by {', '.join('@' + u['username'] for u in others)})" if others else ""
        return Review(merge_request=merge_request, unchanged=unchanged,
                      problem=f"no member of {group} other than its author has approved{seen}",
                      hint=f"Ask a member of the GitLab group {group} to approve the merge request, then run the "
                           "job again.")
    return Review(merge_request=merge_request, unchanged=unchanged,
                  approver=f"@{approvers[0]['username']} ({group})")


def _unchanged(exceptions: list[dict], config_path: Path | None, root: Path, base: str | None) -> frozenset[int]:
    """Indexes of the exceptions that .wavegate.yaml at `base` has too, entry for entry."""
    if not base or config_path is None:
        return frozenset()
    from wavegate.git import Git, GitError
    from wavegate.load import parse_documents

    try:
        git = Git(root, timeout=10)
        top = git.toplevel()
        rel = Path(config_path).resolve().relative_to(top.resolve()).as_posix()
        text = git.file_at(base, rel)
    except (GitError, ValueError):
        return frozenset()
    if text is None:
        return frozenset()
    documents, problems = parse_documents(rel, text.decode(errors="replace"), require_object=False)
    if problems or not documents or not isinstance(documents[0].data.get("exceptions"), list):
        return frozenset()
    before = [e for e in documents[0].data["exceptions"] if isinstance(e, dict)]
    return frozenset(i for i, entry in enumerate(exceptions) if entry in before)
