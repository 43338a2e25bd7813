"""The one GitLab door (DESIGN.md invariant 6): only this module talks to the GitLab API.

It goes through python-gitlab, reads the token here and nowhere else, and never prints or logs
it: every failure becomes a `GitLabError` with one token-free line such as

    GitLab answered 403 Forbidden for POST /projects/12/merge_requests/3/notes: the token lacks api scope

Where things come from (GitLab CI predefined variables, unless passed explicitly):

    server        url=  or CI_SERVER_URL
    token         token= or WAVEGATE_GITLAB_TOKEN, else GITLAB_TOKEN, else CI_JOB_TOKEN
    project       CI_PROJECT_ID, else CI_PROJECT_PATH          (GitLab.project)
    merge request CI_MERGE_REQUEST_IID                          (GitLab.mr_iid)

Which token works for what:

- A project (or group) access token, or a personal access token, with the `api` scope, stored as
  a masked CI/CD variable `GITLAB_TOKEN` (or `WAVEGATE_GITLAB_TOKEN` when GITLAB_TOKEN is taken):
  summary notes need at least the Reporter role; opening and updating merge requests needs
  Developer (and `write_repository` to push the promotion branch, which git does, not this
  module); merge-request approval rules need a GitLab Premium project whose settings let MR
  authors edit approval rules. A `read_api` token can read but every write answers 403; it is
  enough for checking policy exceptions (the merge request's approvals, and the members of the
  approvers group, which the token's user must be able to see).
- `CI_JOB_TOKEN` (sent as `JOB-TOKEN`) is accepted only on GitLab's job-token allowlist; notes,
  merge requests and approval rules are not on it, so it fails with 401 there. It is tried last
  only so that read-only calls (project, branch) work without configuring anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

import gitlab as _pygitlab
import requests

from wavegate.record import record

TOKEN_VARIABLES = ("WAVEGATE_GITLAB_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN")
JOB_TOKEN_VARIABLE = "CI_JOB_TOKEN"
TIMEOUT = 10
PER_PAGE = 100
SCRUBBED = "[MASKED]"


class GitLabError(Exception):
    """A GitLab problem as one line that never contains the token."""


@record(frozen=True)
class Note:
    id: int
    body: str
    created: bool  # False when an existing note was updated (or left as it was)
    changed: bool = True


@record(frozen=True)
class MergeRequest:
    iid: int
    title: str
    description: str
    labels: tuple[str, ...]
    source_branch: str
    target_branch: str
    state: str
    web_url: str
    created: bool = False
    changed: bool = False

    @classmethod
    def of(cls, obj: Any, created: bool = False, changed: bool = False) -> MergeRequest:
        return cls(iid=obj.iid, title=obj.title, description=obj.description or "",
                   labels=tuple(getattr(obj, "labels", None) or ()), source_branch=obj.source_branch,
                   target_branch=obj.target_branch, state=obj.state, web_url=getattr(obj, "web_url", ""),
                   created=created, changed=changed)


@record(frozen=True)
class ApprovalRule:
    id: int
    name: str
    approvals_required: int
    changed: bool


@record(frozen=True)
class Approval:
    """Who wrote a merge request and who approved it (users as {id, username, name})."""

    author_id: int | None
    approved_by: tuple[dict, ...]


@record(frozen=True)
class Project:
    id: int
    path_with_namespace: str
    http_url_to_repo: str
    web_url: str
    created: bool = False

    @classmethod
    def of(cls, obj: Any, created: bool = False) -> Project:
        return cls(id=obj.id, path_with_namespace=obj.path_with_namespace, http_url_to_repo=obj.http_url_to_repo,
                   web_url=getattr(obj, "web_url", ""), created=created)


class GitLab:
    """A connection to one GitLab server with one token. Methods name their project explicitly
    (numeric id or `group/project` path); `project` and `mr_iid` are what CI says this job is for."""

    def __init__(self, url: str, token: str, *, token_variable: str = "given explicitly", project: str | None = None,
                 mr_iid: int | None = None, timeout: float = TIMEOUT, per_page: int = PER_PAGE):
        if not url:
            raise GitLabError("no GitLab server URL: set CI_SERVER_URL or pass the URL")
        if not token:
            raise GitLabError(f"no GitLab token: set one of {', '.join(TOKEN_VARIABLES)}")
        self.url = url.rstrip("/")
        self._token = token
        self.token_variable = token_variable
        self.is_job_token = token_variable == JOB_TOKEN_VARIABLE
        self._project = project
        self._mr_iid = mr_iid
        self.per_page = per_page
        self._last: tuple[str, str] | None = None
        session = requests.Session()
        session.hooks["response"].append(self._remember)
        self._gl = _pygitlab.Gitlab(self.url, private_token=None if self.is_job_token else token,
                                    job_token=token if self.is_job_token else None, session=session,
                                    timeout=timeout, retry_transient_errors=False, keep_base_url=True)

    def __repr__(self) -> str:  # never the token
        return f"GitLab(url={self.url!r}, token from {self.token_variable})"

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None, *,
                 environ: Mapping[str, str] | None = None, **options) -> GitLab:
        """A connection configured from GitLab CI's variables (see the module docstring)."""
        env = os.environ if environ is None else environ
        url = url or env.get("CI_SERVER_URL", "")
        if not url:
            raise GitLabError("CI_SERVER_URL is not set: run inside GitLab CI or pass the GitLab URL")
        variable = "given explicitly"
        if not token:
            for name in TOKEN_VARIABLES:
                if env.get(name):
                    token, variable = env[name], name
                    break
            else:
                raise GitLabError(f"no GitLab token: set {' or '.join(TOKEN_VARIABLES[:2])} (a masked CI/CD "
                                  f"variable holding an access token with api scope); {JOB_TOKEN_VARIABLE} "
                                  f"is not set either")
        project = env.get("CI_PROJECT_ID") or env.get("CI_PROJECT_PATH") or None
        iid = env.get("CI_MERGE_REQUEST_IID") or None
        if iid is not None and not iid.isdigit():
            raise GitLabError(f"CI_MERGE_REQUEST_IID is {iid!r}, not a merge request number")
        return cls(url, token, token_variable=variable, project=project, mr_iid=int(iid) if iid else None, **options)

    @property
    def project(self) -> str:
        if not self._project:
            raise GitLabError("CI_PROJECT_ID (or CI_PROJECT_PATH) is not set: say which project to use")
        return self._project

    @property
    def mr_iid(self) -> int:
        if self._mr_iid is None:
            raise GitLabError("CI_MERGE_REQUEST_IID is not set: this is not a merge request pipeline")
        return self._mr_iid

    # -- reads ---------------------------------------------------------------------------------

    def current_user(self) -> dict:
        """GET /user: whom the token authenticates as (a token check). Job tokens cannot call it."""
        with self._calling("GET", "/user"):
            self._gl.auth()
            if self._gl.user is None:  # auth() sets it or raises
                raise GitLabError(f"GET /user on {self.url} answered no user; check the token")
            return dict(self._gl.user.attributes)

    def project_info(self, project: str | int) -> dict:
        with self._calling("GET", f"/projects/{_enc(project)}"):
            return dict(self._gl.projects.get(project).attributes)

    def branch_exists(self, project: str | int, branch: str) -> bool:
        try:
            with self._calling("GET", f"/projects/{_enc(project)}/repository/branches/{_enc(branch)}"):
                self._gl.projects.get(project, lazy=True).branches.get(branch)
        except _NotFound:
            return False
        return True

    def merge_request_approval(self, project: str | int, mr_iid: int) -> Approval:
        """The merge request's author and the users who approved it (GET .../approvals; every tier)."""
        base = f"/projects/{_enc(project)}/merge_requests/{mr_iid}"
        manager = self._gl.projects.get(project, lazy=True).mergerequests
        with self._calling("GET", base):
            mr = manager.get(mr_iid)
        with self._calling("GET", f"{base}/approvals"):
            approvals = mr.approvals.get()
        users = tuple({"id": entry["user"]["id"], "username": entry["user"].get("username", ""),
                       "name": entry["user"].get("name", "")}
                      for entry in getattr(approvals, "approved_by", None) or [] if isinstance(entry, dict)
                      and isinstance(entry.get("user"), dict) and "id" in entry["user"])
        author = getattr(mr, "author", None)
        return Approval(author_id=author.get("id") if isinstance(author, dict) else None, approved_by=users)

    def group_member_ids(self, group: str | int) -> frozenset[int]:
        """Ids of the group's active members, inherited ones included (GET /groups/:id/members/all)."""
        path = f"/groups/{_enc(group)}/members/all"
        with self._calling("GET", path):
            members = self._gl.groups.get(group, lazy=True).members_all.list(iterator=True, per_page=self.per_page)
            return frozenset(m.id for m in members if getattr(m, "state", "active") == "active")

    # -- merge request summary note ------------------------------------------------------------

    def upsert_summary_note(self, project: str | int, mr_iid: int, body: str, marker: str) -> Note:
        """Update the merge request's note that contains `marker` (the oldest, if several), else
        create one. System notes are never touched. An unchanged body is not written again."""
        if marker not in body:
            body = f"{marker}\n{body}"
        base = f"/projects/{_enc(project)}/merge_requests/{mr_iid}/notes"
        mr = self._gl.projects.get(project, lazy=True).mergerequests.get(mr_iid, lazy=True)
        with self._calling("GET", base):
            existing = None
            for note in mr.notes.list(iterator=True, per_page=self.per_page, sort="asc", order_by="created_at"):
                if not getattr(note, "system", False) and marker in (note.body or ""):
                    existing = note
                    break
        if existing is None:
            with self._calling("POST", base):
                created = mr.notes.create({"body": body})
            return Note(id=created.id, body=body, created=True)
        if existing.body == body:
            return Note(id=existing.id, body=body, created=False, changed=False)
        with self._calling("PUT", f"{base}/{existing.id}"):
            existing.body = body
            existing.save()
        return Note(id=existing.id, body=body, created=False)

    # -- promotion -----------------------------------------------------------------------------

    def find_open_mr(self, project: str | int, source_branch: str, target_branch: str) -> MergeRequest | None:
        """The open merge request from `source_branch` into `target_branch`, if there is one."""
        with self._calling("GET", f"/projects/{_enc(project)}/merge_requests"):
            found = self._gl.projects.get(project, lazy=True).mergerequests.list(
                state="opened", source_branch=source_branch, target_branch=target_branch,
                per_page=self.per_page, get_all=False)
        for mr in found:  # filter again: old GitLab versions ignored the branch filters
            if mr.source_branch == source_branch and mr.target_branch == target_branch:
                return MergeRequest.of(mr)
        return None

    def create_or_update_mr(self, project: str | int, source: str, target: str, title: str,
                            description: str, labels: list[str] | tuple[str, ...] = ()) -> MergeRequest:
        """Open the merge request `source` -> `target`, or bring the open one up to date.

        Idempotent: when title, description and labels already match, nothing is written
        (`changed` is False). Two runs racing to create it end with one merge request: GitLab
        answers the loser 409, which then updates the winner's."""
        labels = list(dict.fromkeys(labels))
        existing = self.find_open_mr(project, source, target)
        if existing is None:
            path = f"/projects/{_enc(project)}/merge_requests"
            try:
                with self._calling("POST", path):
                    mr = self._gl.projects.get(project, lazy=True).mergerequests.create(
                        {"source_branch": source, "target_branch": target, "title": title,
                         "description": description, "labels": ",".join(labels)})
                return MergeRequest.of(mr, created=True, changed=True)
            except _Conflict:
                existing = self.find_open_mr(project, source, target)
                if existing is None:
                    raise GitLabError(f"GitLab answered 409 Conflict for POST {path} but shows no open "
                                      f"merge request from {source} into {target}") from None
        if (existing.title, existing.description, set(existing.labels)) == (title, description, set(labels)):
            return existing
        path = f"/projects/{_enc(project)}/merge_requests/{existing.iid}"
        with self._calling("PUT", path):
            manager = self._gl.projects.get(project, lazy=True).mergerequests
            updated = manager.update(existing.iid, {"title": title, "description": description,
                                                    "labels": ",".join(labels)})
        return MergeRequest(iid=existing.iid, title=updated.get("title", title),
                            description=updated.get("description", description),
                            labels=tuple(updated.get("labels", labels)), source_branch=source, target_branch=target,
                            state=updated.get("state", existing.state), web_url=updated.get("web_url", existing.web_url),
                            created=False, changed=True)

    def set_approval_rule(self, project: str | int, mr_iid: int, name: str, approvals_required: int) -> ApprovalRule:
        """Make the merge request's approval rule `name` require `approvals_required` approvals
        (created if missing, left alone if already so). Needs GitLab Premium."""
        base = f"/projects/{_enc(project)}/merge_requests/{mr_iid}/approval_rules"
        mr = self._gl.projects.get(project, lazy=True).mergerequests.get(mr_iid, lazy=True)
        with self._calling("GET", base):
            rules = mr.approval_rules.list(get_all=True, per_page=self.per_page)
        rule = next((r for r in rules if r.name == name), None)
        if rule is None:
            with self._calling("POST", base):
                created = mr.approval_rules.create({"name": name, "approvals_required": approvals_required})
            return ApprovalRule(created.id, name, approvals_required, changed=True)
        if rule.approvals_required == approvals_required:
            return ApprovalRule(rule.id, name, approvals_required, changed=False)
        with self._calling("PUT", f"{base}/{rule.id}"):
            # python-gitlab insists on the path's ids in the body too; GitLab accepts them there.
            mr.approval_rules.update(rule.id, {"id": rule.id, "merge_request_iid": mr_iid, "name": name,
                                               "approvals_required": approvals_required})
        return ApprovalRule(rule.id, name, approvals_required, changed=True)

    # -- projects (wavegate adopt --publish) ---------------------------------------------------

    def create_project(self, namespace_path: str, name: str, *, visibility: str = "private") -> Project:
        """Create the project `name` in the group or user namespace `namespace_path`, or return the
        existing one (`created` False): a re-run after a failed push must not fail here. git pushes
        to `http_url_to_repo`; it refuses to overwrite a branch that exists (no force push)."""
        full_path = f"{namespace_path}/{name}"
        try:
            with self._calling("GET", f"/projects/{_enc(full_path)}"):
                existing = self._gl.projects.get(full_path)
            return Project.of(existing, created=False)
        except GitLabError as error:
            if "answered 404 " not in str(error):
                raise
        with self._calling("GET", f"/namespaces/{_enc(namespace_path)}"):
            namespace = self._gl.namespaces.get(namespace_path)
        with self._calling("POST", "/projects"):
            project = self._gl.projects.create({"name": name, "path": name, "namespace_id": namespace.id,
                                                "visibility": visibility})
        return Project.of(project, created=True)

    def git_http_env(self, remote_url: str) -> dict[str, str]:
        """Environment for `git push` over HTTPS with this connection's token, scoped to the
        remote's host: git's GIT_CONFIG_* variables carry an Authorization header, so the token
        is in no command line, no remote URL and no .git/config."""
        import base64

        parts = urlsplit(remote_url)
        if parts.scheme not in ("http", "https"):
            return {"GIT_TERMINAL_PROMPT": "0"}
        user = "gitlab-ci-token" if self.is_job_token else "oauth2"
        basic = base64.b64encode(f"{user}:{self._token}".encode()).decode()
        return {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}

    # -- errors --------------------------------------------------------------------------------

    def _remember(self, response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        path = urlsplit(request.url or "").path
        api = urlsplit(self.url).path.rstrip("/") + "/api/v4"
        self._last = (request.method or "", path[len(api):] if path.startswith(api) else path)

    def _last_request(self) -> tuple[str, str] | None:
        # Read through a method: the response hook sets _last while _calling yields, which
        # narrowing inside _calling (after its `self._last = None`) cannot see.
        return self._last

    @contextmanager
    def _calling(self, method: str, path: str) -> Iterator[None]:
        """Turn whatever python-gitlab or requests raise inside into one GitLabError line."""
        self._last = None
        try:
            yield
        except (_NotFound, _Conflict):
            raise
        except _pygitlab.exceptions.GitlabError as error:
            method, path = self._last_request() or (method, path)
            code = error.response_code
            if code == 404 and method == "GET" and "/repository/branches/" in path:
                raise _NotFound() from None
            if code == 409 and method == "POST" and path.endswith("/merge_requests"):
                raise _Conflict() from None
            raise GitLabError(self.scrub(self._describe(method, path, error))) from None
        except requests.exceptions.RequestException as error:
            reason = type(error).__name__
            if isinstance(error, requests.exceptions.Timeout):
                reason = "timed out"
            elif isinstance(error, requests.exceptions.ConnectionError):
                reason = "connection failed"
            raise GitLabError(self.scrub(f"cannot reach GitLab at {self.url} for {method} {path}: {reason}; "
                                         f"check CI_SERVER_URL and the network")) from None

    def _describe(self, method: str, path: str, error: Exception) -> str:
        code = getattr(error, "response_code", None)
        if code is None:
            return f"GitLab request {method} {path} failed: {_one_line(str(error))}"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        said = _server_message(error)
        if said.lower() == f"{code} {phrase}".lower():  # GitLab's generic "404 Not found" adds nothing
            said = ""
        return f"GitLab answered {code} {phrase} for {method} {path}: {self._advice(code, said, method)}"

    def _advice(self, code: int, said: str, method: str) -> str:
        job = self.is_job_token
        if code == 401:
            if job:
                return ("CI_JOB_TOKEN is not accepted here; store an access token with api scope "
                        "in the masked CI/CD variable GITLAB_TOKEN")
            return f"the token ({self.token_variable}) was not accepted (expired, revoked, or for another GitLab)"
        if code == 403:
            if "insufficient_scope" in said or "scope" in said:
                return f"the token ({self.token_variable}) lacks api scope"
            if job:
                return "CI_JOB_TOKEN may not do this; use an access token with api scope in GITLAB_TOKEN"
            what = "read" if method == "GET" else "change"
            return (f"the token's user may not {what} this (notes need the Reporter role, merge requests "
                    f"Developer; approval rules need Premium)" + (f"; GitLab said: {said}" if said else ""))
        if code == 404:
            return "not found, or not visible to this token" + (f" ({said})" if said else "")
        if code == 429:
            return "rate limited; retry the job later"
        if code >= 500:
            return "GitLab failed; retry the job" + (f" ({said})" if said else "")
        return said or "unexpected answer"

    def scrub(self, text: str) -> str:
        """`text` without the token (also url-encoded), whatever produced it."""
        import base64

        encoded = {base64.b64encode(f"{user}:{self._token}".encode()).decode() for user in ("oauth2", "gitlab-ci-token")}
        for secret in {self._token, quote(self._token, safe=""), *encoded}:
            if secret:
                text = text.replace(secret, SCRUBBED)
        return text


def scrub_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` without the value of any token variable (for messages made outside a connection)."""
    env = os.environ if environ is None else environ
    for name in TOKEN_VARIABLES:
        value = env.get(name)
        if value:
            text = text.replace(value, SCRUBBED).replace(quote(value, safe=""), SCRUBBED)
    return text


class _NotFound(Exception):
    pass


class _Conflict(Exception):
    pass


def _enc(value: str | int) -> str:
    return quote(str(value), safe="")


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _server_message(error: Exception) -> str:
    message = getattr(error, "error_message", "") or ""
    if isinstance(message, (list, dict)):
        message = "; ".join(str(m) for m in (message.values() if isinstance(message, dict) else message))
    body = getattr(error, "response_body", b"") or b""
    if b"insufficient_scope" in body and "insufficient_scope" not in message:
        message = f"insufficient_scope {message}".strip()
    return _one_line(str(message))


__all__ = ["GitLab", "GitLabError", "scrub_env", "Note", "MergeRequest", "ApprovalRule", "Approval", "Project",
           "TOKEN_VARIABLES"]
