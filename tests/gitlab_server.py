"""A loopback GitLab REST API for tests: only the endpoints wavegate calls, with GitLab's shapes.

No GitLab server can run here, so tests talk to this one through python-gitlab's real HTTP stack
(requests, sockets, JSON, pagination headers). It is a stdlib `http.server` in a thread on
127.0.0.1 with an ephemeral port, holding its state in memory.

Endpoints (all under /api/v4), with response shapes from GitLab's REST API documentation
(projects, merge requests, notes, merge request approvals, branches, users):

    GET  /user
    GET  /namespaces/:id                                (numeric id or url-encoded full path)
    POST /projects                                      (name, path, namespace_id, visibility;
                                                         400 when the path is taken)
    GET  /projects/:id                                  (numeric id or url-encoded path)
    GET  /projects/:id/repository/branches/:branch
    GET  /projects/:id/merge_requests                   (state, source_branch, target_branch,
                                                         labels, order_by, sort filters)
    POST /projects/:id/merge_requests                   (409 when an open MR has the same source)
    GET  /projects/:id/merge_requests/:iid
    PUT  /projects/:id/merge_requests/:iid
    GET  /projects/:id/merge_requests/:iid/notes        (sort, order_by)
    POST /projects/:id/merge_requests/:iid/notes        (400 past 1,000,000 characters, as GitLab)
    GET  /projects/:id/merge_requests/:iid/notes/:note_id
    PUT  /projects/:id/merge_requests/:iid/notes/:note_id  (likewise)
    GET  /projects/:id/merge_requests/:iid/approval_rules
    POST /projects/:id/merge_requests/:iid/approval_rules
    PUT  /projects/:id/merge_requests/:iid/approval_rules/:rule_id
    GET  /projects/:id/merge_requests/:iid/approvals    (who approved: `approved_by`, every tier)
    GET  /groups/:id/members/all                        (numeric id or url-encoded full path; members of
                                                         the group and of its parent groups)

Approvals and group members are set up with `approve(project_id, mr_iid, user)`,
`add_group(full_path, members)` and `add_group_member`; nobody approves through the API here
(wavegate never does).

Authentication: a request needs `PRIVATE-TOKEN`, `JOB-TOKEN` or `Authorization: Bearer` with a
token the server knows (`tokens`), else 401 `{"message": "401 Unauthorized"}`. A token with only
`read_api` scope gets 403 `insufficient_scope` on writes, as GitLab answers. A CI job token is
accepted only on the read endpoints listed in `JOB_TOKEN_ALLOWED` (GitLab accepts job tokens on an
allowlist of endpoints; notes, merge request writes and approval rules are not on it); elsewhere it
gets 401, as an unauthenticated request would.

Lists use GitLab's offset pagination: `page`/`per_page` (default 20, at most 100) and the
`X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link`
headers python-gitlab follows. Unknown projects, merge requests, notes, rules and branches get 404.

Failure injection for error paths: `server.fail(status, method=..., path=..., times=...)`.
Every request is recorded in `server.requests` (method, path, query, which auth header), never
with the token's value.

    with GitLabServer() as server:
        project = server.add_project("platform/web")
        mr = server.add_merge_request(project["id"], "feature", "main")
        ... GitLab.from_env(url=server.url, token=server.token) ...
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

DEFAULT_TOKEN = "glpat-loopback-test-token-0123456789"
NOTE_LIMIT = 1_000_000  # characters of a note's body, as GitLab's Note model validates it
JOB_TOKEN_ALLOWED = (
    ("GET", re.compile(r"^/projects/[^/]+$")),
    ("GET", re.compile(r"^/projects/[^/]+/repository/branches/[^/]+$")),
)


@dataclass
class Identity:
    """Who a token authenticates as, and what it may do."""

    user: dict
    kind: str = "private"  # private (personal/project/group access token), job, oauth
    scopes: frozenset[str] = frozenset({"api"})


@dataclass
class Failure:
    status: int
    method: str | None
    path: re.Pattern | None
    times: int | None  # None: every matching request
    body: dict | list | None


@dataclass
class Request:
    method: str
    path: str  # under /api/v4, still url-encoded
    query: dict
    auth: str | None  # the header that carried the token, never its value
    body: dict | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GitLabServer:
    """The emulator. Start with `start()` or a `with` block; `url` is the base python-gitlab wants."""

    def __init__(self, token: str = DEFAULT_TOKEN, host_url: str | None = None):
        self.token = token
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.users: dict[int, dict] = {}
        bot = self.add_user("wavegate-bot", name="wavegate bot", bot=True)
        self.tokens: dict[str, Identity] = {token: Identity(user=bot)}
        self.projects: dict[int, dict] = {}
        self.branches: dict[int, dict[str, dict]] = {}
        self.merge_requests: dict[int, dict[int, dict]] = {}
        self.notes: dict[tuple[int, int], list[dict]] = {}
        self.approval_rules: dict[tuple[int, int], list[dict]] = {}
        self.labels: dict[int, set[str]] = {}
        self.namespaces: dict[int, dict] = {}
        self.groups: dict[int, dict] = {}
        self.group_members: dict[int, list[dict]] = {}  # group id -> members (user fields + access_level)
        self.approvals: dict[tuple[int, int], list[dict]] = {}  # (project id, mr iid) -> approving users
        self.requests: list[Request] = []
        self.failures: list[Failure] = []
        self.git_dirs: dict[int, str] = {}  # project id -> git repository whose branches it has
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._host_url = host_url

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> GitLabServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="gitlab-loopback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GitLabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server URL (what `CI_SERVER_URL` holds)."""
        if self._host_url:
            return self._host_url
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- state set-up --------------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def add_user(self, username: str, name: str | None = None, bot: bool = False) -> dict:
        uid = self._next_id()
        user = {"id": uid, "username": username, "name": name or username, "state": "active",
                "locked": False, "avatar_url": None, "web_url": f"https://gitlab.example.com/{username}",
                "created_at": _now(), "bot": bot}
        self.users[uid] = user
        return user

    def add_token(self, token: str, user: dict | None = None, kind: str = "private",
                  scopes: tuple[str, ...] = ("api",)) -> None:
        self.tokens[token] = Identity(user=user or next(iter(self.users.values())), kind=kind, scopes=frozenset(scopes))

    def add_project(self, path: str = "platform/web", default_branch: str = "main",
                    branches: tuple[str, ...] = ("main",)) -> dict:
        pid = self._next_id()
        namespace, _, name = path.rpartition("/")
        web = f"https://gitlab.example.com/{path}"
        project = {
            "id": pid, "description": None, "name": name, "name_with_namespace": path.replace("/", " / "),
            "path": name, "path_with_namespace": path, "created_at": _now(), "default_branch": default_branch,
            "tag_list": [], "topics": [], "ssh_url_to_repo": f"git@gitlab.example.com:{path}.git",
            "http_url_to_repo": f"{web}.git", "web_url": web, "readme_url": None, "forks_count": 0,
            "avatar_url": None, "star_count": 0, "last_activity_at": _now(), "visibility": "private",
            "namespace": {"id": pid * 1000, "name": namespace, "path": namespace.rpartition("/")[2],
                          "kind": "group", "full_path": namespace, "parent_id": None, "avatar_url": None,
                          "web_url": f"https://gitlab.example.com/groups/{namespace}"},
            "merge_requests_enabled": True, "archived": False, "empty_repo": False,
        }
        with self._lock:
            self.projects[pid] = project
            self.branches[pid] = {}
            self.merge_requests[pid] = {}
            self.labels[pid] = set()
        for branch in dict.fromkeys((default_branch, *branches)):
            self.add_branch(pid, branch)
        return project

    def add_branch(self, project_id: int, name: str, sha: str | None = None) -> dict:
        project = self.projects[project_id]
        sha = sha or f"{self._next_id():040x}"
        branch = {
            "name": name, "merged": False, "protected": name == project["default_branch"],
            "default": name == project["default_branch"], "developers_can_push": False,
            "developers_can_merge": False, "can_push": True,
            "web_url": f"{project['web_url']}/-/tree/{quote(name, safe='')}",
            "commit": {"id": sha, "short_id": sha[:8], "created_at": _now(), "parent_ids": [],
                       "title": "commit", "message": "commit", "author_name": "A", "author_email": "a@example.com",
                       "authored_date": _now(), "committer_name": "A", "committer_email": "a@example.com",
                       "committed_date": _now(), "web_url": f"{project['web_url']}/-/commit/{sha}"},
        }
        self.branches[project_id][name] = branch
        return branch

    def link_repository(self, project_id: int, git_dir) -> None:
        """Make the project's branches those of a (bare) git repository, read on every request, so
        that branches pushed with real git exist for the merge request endpoints as on GitLab."""
        self.git_dirs[project_id] = str(git_dir)

    def _sync_branches(self, project_id: int) -> None:
        git_dir = self.git_dirs.get(project_id)
        if git_dir is None:
            return
        import subprocess

        out = subprocess.run(["git", "--git-dir", git_dir, "for-each-ref", "--format=%(refname:short) %(objectname)",
                              "refs/heads"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name, sha = line.rsplit(" ", 1)
            branch = self.branches[project_id].get(name)
            if branch is None or branch["commit"]["id"] != sha:
                self.add_branch(project_id, name, sha)

    def add_merge_request(self, project_id: int, source_branch: str, target_branch: str = "main",
                          title: str = "Change", description: str = "", labels: list[str] | None = None,
                          state: str = "opened", author: dict | None = None) -> dict:
        with self._lock:
            mrs = self.merge_requests[project_id]
            iid = max(mrs, default=0) + 1
            project = self.projects[project_id]
            author = author or next(iter(self.users.values()))
            mr = {
                "id": self._next_id(), "iid": iid, "project_id": project_id, "title": title,
                "description": description, "state": state, "created_at": _now(), "updated_at": _now(),
                "merged_by": None, "merge_user": None, "merged_at": None, "closed_by": None, "closed_at": None,
                "target_branch": target_branch, "source_branch": source_branch, "user_notes_count": 0,
                "upvotes": 0, "downvotes": 0, "author": self._user_ref(author), "assignees": [], "assignee": None,
                "reviewers": [], "source_project_id": project_id, "target_project_id": project_id,
                "labels": list(labels or []), "draft": False, "work_in_progress": False, "milestone": None,
                "merge_when_pipeline_succeeds": False, "merge_status": "can_be_merged",
                "detailed_merge_status": "mergeable", "sha": f"{self._next_id():040x}", "merge_commit_sha": None,
                "squash_commit_sha": None, "discussion_locked": None, "should_remove_source_branch": None,
                "force_remove_source_branch": False, "reference": f"!{iid}",
                "references": {"short": f"!{iid}", "relative": f"!{iid}",
                               "full": f"{project['path_with_namespace']}!{iid}"},
                "web_url": f"{project['web_url']}/-/merge_requests/{iid}",
                "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                               "human_total_time_spent": None},
                "squash": False, "has_conflicts": False, "blocking_discussions_resolved": True,
                "task_completion_status": {"count": 0, "completed_count": 0},
            }
            mrs[iid] = mr
            self.labels[project_id].update(mr["labels"])
            self.notes[(project_id, iid)] = []
            self.approval_rules[(project_id, iid)] = []
            return mr

    def add_note(self, project_id: int, mr_iid: int, body: str, author: dict | None = None,
                 system: bool = False) -> dict:
        with self._lock:
            mr = self.merge_requests[project_id][mr_iid]
            author = author or next(iter(self.users.values()))
            note = {
                "id": self._next_id(), "type": None, "body": body, "attachment": None,
                "author": self._user_ref(author), "created_at": _now(), "updated_at": _now(),
                "system": system, "noteable_id": mr["id"], "noteable_type": "MergeRequest",
                "project_id": project_id, "noteable_iid": mr_iid, "resolvable": False,
                "confidential": False, "internal": False, "commands_changes": {},
            }
            self.notes[(project_id, mr_iid)].append(note)
            if not system:
                mr["user_notes_count"] += 1
            return note

    def add_group(self, full_path: str, members: list[tuple[dict, int]] = ()) -> dict:
        """A group with members given as (user, access_level): 10 guest ... 50 owner."""
        gid = self._next_id()
        name = full_path.rpartition("/")[2]
        parent = next((g["id"] for g in self.groups.values() if g["full_path"] == full_path.rpartition("/")[0]), None)
        group = {"id": gid, "web_url": f"https://gitlab.example.com/groups/{full_path}", "name": name, "path": name,
                 "description": "", "visibility": "private", "full_name": full_path.replace("/", " / "),
                 "full_path": full_path, "parent_id": parent, "created_at": _now()}
        with self._lock:
            self.groups[gid] = group
            self.group_members[gid] = []
        for user, level in members:
            self.add_group_member(gid, user, level)
        return group

    def add_group_member(self, group_id: int, user: dict, access_level: int = 30) -> None:
        with self._lock:
            self.group_members[group_id].append({**self._user_ref(user), "access_level": access_level,
                                                 "created_at": _now(), "expires_at": None,
                                                 "membership_state": "active"})

    def approve(self, project_id: int, mr_iid: int, user: dict) -> None:
        """`user` approves the merge request (as the Approve button does)."""
        with self._lock:
            approved = self.approvals.setdefault((project_id, mr_iid), [])
            if all(u["id"] != user["id"] for u in approved):
                approved.append(self._user_ref(user))

    def fail(self, status: int, method: str | None = None, path: str | None = None,
             times: int | None = 1, body: dict | list | None = None) -> None:
        """Answer `status` to matching requests (`path`: a regex searched in the /api/v4 path)."""
        with self._lock:
            self.failures.append(Failure(status, method.upper() if method else None,
                                         re.compile(path) if path else None, times, body))

    @staticmethod
    def _user_ref(user: dict) -> dict:
        return {k: user[k] for k in ("id", "username", "name", "state", "locked", "avatar_url", "web_url")}

    # -- request handling ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, query: dict, headers, body: dict | None):
        """(status, json body, extra headers) for one request."""
        auth, identity = self._authenticate(headers)
        with self._lock:
            self.requests.append(Request(method, raw_path, query, auth, body))
            failure = self._failure_for(method, raw_path)
        if failure is not None:
            reason = HTTPStatus(failure.status).phrase
            payload = failure.body if failure.body is not None else {"message": f"{failure.status} {reason}"}
            return failure.status, payload, {}
        if identity is None:
            return 401, {"message": "401 Unauthorized"}, {}
        if identity.kind == "job" and not any(m == method and p.match(raw_path) for m, p in JOB_TOKEN_ALLOWED):
            return 401, {"message": "401 Unauthorized"}, {}
        if method != "GET" and "api" not in identity.scopes:
            return 403, {"error": "insufficient_scope",
                         "error_description": "The request requires higher privileges than provided by the access token.",
                         "scope": "api"}, {}
        segments = [unquote(s) for s in raw_path.strip("/").split("/")]
        with self._lock:
            return self._route(method, segments, query, body or {}, identity)

    def _authenticate(self, headers) -> tuple[str | None, Identity | None]:
        for header in ("PRIVATE-TOKEN", "JOB-TOKEN"):
            value = headers.get(header)
            if value is not None:
                identity = self.tokens.get(value)
                if header == "JOB-TOKEN" and identity is not None and identity.kind != "job":
                    identity = None
                return header, identity
        value = headers.get("Authorization")
        if value and value.startswith("Bearer "):
            return "Authorization", self.tokens.get(value[len("Bearer "):])
        return None, None

    def _failure_for(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.method and failure.method != method:
                continue
            if failure.path and not failure.path.search(path):
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
            return failure
        return None

    def _project(self, ref: str) -> dict | None:
        if ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p["path_with_namespace"] == ref), None)

    def _route(self, method: str, seg: list[str], query: dict, body: dict, identity: Identity):
        if seg == ["user"] and method == "GET":
            return 200, self.users[identity.user["id"]], {}
        if seg[:1] == ["namespaces"] and len(seg) == 2 and method == "GET":
            namespace = self._namespace(seg[1])
            return (200, namespace, {}) if namespace else (404, {"message": "404 Namespace Not Found"}, {})
        if seg == ["projects"] and method == "POST":
            return self._create_project(body)
        if seg[:1] == ["groups"] and len(seg) == 4 and seg[2:] == ["members", "all"] and method == "GET":
            return self._all_members(seg[1], query)
        if len(seg) < 2 or seg[0] != "projects":
            return 404, {"error": "404 Not Found"}, {}
        project = self._project(seg[1])
        if project is None:
            return 404, {"message": "404 Project Not Found"}, {}
        pid = project["id"]
        rest = seg[2:]
        self._sync_branches(pid)
        if not rest and method == "GET":
            return 200, project, {}
        if rest[:2] == ["repository", "branches"] and len(rest) == 3 and method == "GET":
            branch = self.branches[pid].get(rest[2])
            return (200, branch, {}) if branch else (404, {"message": "404 Branch Not Found"}, {})
        if rest[:1] != ["merge_requests"]:
            return 404, {"error": "404 Not Found"}, {}
        if len(rest) == 1:
            if method == "GET":
                return self._list_mrs(pid, query)
            if method == "POST":
                return self._create_mr(pid, body, identity)
            return 405, {"message": "405 Method Not Allowed"}, {}
        if not rest[1].isdigit() or int(rest[1]) not in self.merge_requests[pid]:
            return 404, {"message": "404 Not found"}, {}
        mr = self.merge_requests[pid][int(rest[1])]
        sub = rest[2:]
        if not sub:
            if method == "GET":
                return 200, mr, {}
            if method == "PUT":
                return self._update_mr(pid, mr, body)
            return 405, {"message": "405 Method Not Allowed"}, {}
        if sub[0] == "notes":
            return self._notes(pid, mr, sub[1:], method, query, body, identity)
        if sub[0] == "approval_rules":
            return self._rules(pid, mr, sub[1:], method, query, body)
        if sub == ["approvals"] and method == "GET":
            return 200, self._approvals(pid, mr, identity), {}
        return 404, {"error": "404 Not Found"}, {}

    # namespaces and project creation

    def add_namespace(self, full_path: str, kind: str = "group") -> dict:
        """A group (or user) namespace projects can be created in (POST /projects namespace_id)."""
        nid = self._next_id()
        namespace = {"id": nid, "name": full_path.rpartition("/")[2], "path": full_path.rpartition("/")[2],
                     "kind": kind, "full_path": full_path, "parent_id": None, "avatar_url": None,
                     "web_url": f"https://gitlab.example.com/{'groups/' if kind == 'group' else ''}{full_path}"}
        with self._lock:
            self.namespaces[nid] = namespace
        return namespace

    def _namespace(self, ref: str) -> dict | None:
        known = list(getattr(self, "namespaces", {}).values())
        known += [p["namespace"] for p in self.projects.values()]
        if ref.isdigit():
            return next((n for n in known if n["id"] == int(ref)), None)
        return next((n for n in known if n["full_path"] == ref), None)

    def _create_project(self, body: dict):
        name = body.get("name") or body.get("path")
        if not name:
            return 400, {"message": "name is missing"}, {}
        namespace = self._namespace(str(body.get("namespace_id", "")))
        if namespace is None:
            return 404, {"message": "404 Namespace Not Found"}, {}
        path = f"{namespace['full_path']}/{body.get('path') or name}"
        if any(p["path_with_namespace"] == path for p in self.projects.values()):
            return 400, {"message": {"name": ["has already been taken"], "path": ["has already been taken"]}}, {}
        project = self.add_project(path, branches=())
        project["namespace"] = dict(namespace)
        project["visibility"] = body.get("visibility", "private")
        project["empty_repo"] = True
        self.branches[project["id"]] = {}  # a new project has no branches until the first push
        return 201, project, {}

    # merge requests

    def _list_mrs(self, pid: int, query: dict):
        items = list(self.merge_requests[pid].values())
        state = query.get("state", "all")
        if state != "all":
            items = [m for m in items if m["state"] == state]
        for key in ("source_branch", "target_branch"):
            if key in query:
                items = [m for m in items if m[key] == query[key]]
        if query.get("labels"):
            wanted = set(query["labels"].split(","))
            items = [m for m in items if wanted <= set(m["labels"])]
        order = query.get("order_by", "created_at")
        items.sort(key=lambda m: (m.get(order) or "", m["id"]), reverse=query.get("sort", "desc") == "desc")
        return self._page(items, query)

    def _create_mr(self, pid: int, body: dict, identity: Identity):
        missing = [k for k in ("source_branch", "target_branch", "title") if not body.get(k)]
        if missing:
            return 400, {"error": f"{missing[0]} is missing"}, {}
        if body["source_branch"] not in self.branches[pid]:
            return 400, {"message": {"source_branch": ["is invalid"]}}, {}
        for mr in self.merge_requests[pid].values():
            if mr["state"] == "opened" and mr["source_branch"] == body["source_branch"] \
                    and mr["target_branch"] == body["target_branch"]:
                return 409, {"message": [f"Another open merge request already exists for this source branch: !{mr['iid']}"]}, {}
        mr = self.add_merge_request(pid, body["source_branch"], body["target_branch"], body["title"],
                                    body.get("description") or "", _labels(body.get("labels")),
                                    author=self.users[identity.user["id"]])
        return 201, mr, {}

    def _update_mr(self, pid: int, mr: dict, body: dict):
        for key in ("title", "description", "target_branch"):
            if key in body:
                mr[key] = body[key]
        if "labels" in body:
            mr["labels"] = _labels(body["labels"])
            self.labels[pid].update(mr["labels"])
        if body.get("state_event") in ("close", "reopen"):
            mr["state"] = "closed" if body["state_event"] == "close" else "opened"
        mr["updated_at"] = _now()
        return 200, mr, {}

    # notes

    def _notes(self, pid: int, mr: dict, sub: list[str], method: str, query: dict, body: dict,
               identity: Identity):
        notes = self.notes[(pid, mr["iid"])]
        if not sub:
            if method == "GET":
                order = query.get("order_by", "created_at")
                items = sorted(notes, key=lambda n: (n[order], n["id"]), reverse=query.get("sort", "desc") == "desc")
                return self._page(items, query)
            if method == "POST":
                if not body.get("body"):
                    return 400, {"error": "body is missing"}, {}
                if len(body["body"]) > NOTE_LIMIT:
                    return 400, _too_long(), {}
                return 201, self.add_note(pid, mr["iid"], body["body"], author=self.users[identity.user["id"]]), {}
            return 405, {"message": "405 Method Not Allowed"}, {}
        note = next((n for n in notes if sub[0].isdigit() and n["id"] == int(sub[0])), None)
        if note is None or len(sub) > 1:
            return 404, {"message": "404 Note Not Found"}, {}
        if method == "GET":
            return 200, note, {}
        if method == "PUT":
            if note["author"]["id"] != identity.user["id"]:
                return 403, {"message": "403 Forbidden"}, {}
            if not body.get("body"):
                return 400, {"error": "body is missing"}, {}
            if len(body["body"]) > NOTE_LIMIT:
                return 400, _too_long(), {}
            note["body"] = body["body"]
            note["updated_at"] = _now()
            return 200, note, {}
        return 405, {"message": "405 Method Not Allowed"}, {}

    # approval rules

    def _rules(self, pid: int, mr: dict, sub: list[str], method: str, query: dict, body: dict):
        rules = self.approval_rules[(pid, mr["iid"])]
        if not sub:
            if method == "GET":
                return self._page(rules, query)
            if method == "POST":
                if not body.get("name") or "approvals_required" not in body:
                    return 400, {"error": "name is missing" if not body.get("name") else "approvals_required is missing"}, {}
                rule = {"id": self._next_id(), "name": body["name"], "rule_type": "regular",
                        "eligible_approvers": [], "approvals_required": int(body["approvals_required"]),
                        "source_rule": None, "users": [], "groups": [], "contains_hidden_groups": False,
                        "section": None, "overridden": False}
                rules.append(rule)
                return 201, rule, {}
            return 405, {"message": "405 Method Not Allowed"}, {}
        rule = next((r for r in rules if sub[0].isdigit() and r["id"] == int(sub[0])), None)
        if rule is None or len(sub) > 1:
            return 404, {"message": "404 Not found"}, {}
        if method == "PUT":
            for key in ("name", "approvals_required"):
                if key in body:
                    rule[key] = int(body[key]) if key == "approvals_required" else body[key]
            return 200, rule, {}
        if method == "GET":
            return 200, rule, {}
        return 405, {"message": "405 Method Not Allowed"}, {}

    # approvals and group members

    def _approvals(self, pid: int, mr: dict, identity: Identity) -> dict:
        approved = list(self.approvals.get((pid, mr["iid"]), []))
        return {"id": mr["id"], "iid": mr["iid"], "project_id": pid, "title": mr["title"],
                "description": mr["description"], "state": mr["state"], "created_at": mr["created_at"],
                "updated_at": mr["updated_at"], "merge_status": mr["merge_status"], "approved": bool(approved),
                "approvals_required": 0, "approvals_left": 0, "require_password_to_approve": False,
                "approved_by": [{"user": user} for user in approved], "suggested_approvers": [], "approvers": [],
                "approver_groups": [], "user_has_approved": any(u["id"] == identity.user["id"] for u in approved),
                "user_can_approve": True, "approval_rules_left": [], "has_approval_rules": False,
                "merge_request_approvers_available": False, "multiple_approval_rules_available": False,
                "invalid_approvers_rules": []}

    def _all_members(self, ref: str, query: dict):
        group = (self.groups.get(int(ref)) if ref.isdigit()
                 else next((g for g in self.groups.values() if g["full_path"] == ref), None))
        if group is None:
            return 404, {"message": "404 Group Not Found"}, {}
        members: dict[int, dict] = {}
        path = group["full_path"]
        for other in self.groups.values():  # the group's own members and those of its ancestors
            if path == other["full_path"] or path.startswith(other["full_path"] + "/"):
                for member in self.group_members[other["id"]]:
                    known = members.get(member["id"])
                    if known is None or known["access_level"] < member["access_level"]:
                        members[member["id"]] = member
        return self._page(sorted(members.values(), key=lambda m: m["id"]), query)

    # pagination

    def _page(self, items: list, query: dict):
        try:
            page = max(1, int(query.get("page", 1)))
            per_page = min(100, max(1, int(query.get("per_page", 20))))
        except ValueError:
            return 400, {"error": "page is invalid"}, {}
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(total),
                   "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else ""}
        base = {k: v for k, v in query.items() if k not in ("page", "per_page")}
        links = []
        if page < pages:
            links.append(("next", page + 1))
        if page > 1:
            links.append(("prev", page - 1))
        links += [("first", 1), ("last", pages)]
        headers["Link"] = ", ".join(
            f'<{{base}}?{urlencode({**base, "page": n, "per_page": per_page})}>; rel="{rel}"' for rel, n in links)
        return 200, chunk, headers


def _too_long() -> dict:
    """GitLab's answer to a note over the limit (Note validates `note` length; the API returns the
    model's errors as the message)."""
    return {"message": {"note": [f"is too long (maximum is {NOTE_LIMIT} characters)"]}}


def _labels(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [v.strip() for v in str(value).split(",") if v.strip()]


class _Handler(BaseHTTPRequestHandler):
    server_state: GitLabServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        if raw:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(400, {"error": "invalid JSON"}, {})
                    return
            else:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.path.startswith("/api/v4/"):
            self._send(404, {"error": "404 Not Found"}, {})
            return
        api_path = parts.path[len("/api/v4"):]
        status, payload, headers = self.server_state.handle(method, api_path, query, self.headers, body)
        if "Link" in headers:
            headers["Link"] = headers["Link"].replace("{base}", f"{self.server_state.url}/api/v4{api_path}")
        self._send(status, payload, headers)

    def _send(self, status: int, payload, headers: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")
