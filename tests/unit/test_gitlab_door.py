"""The GitLab door: python-gitlab's real HTTP stack against the loopback GitLab API."""

from __future__ import annotations

import threading

import pytest

from tests.gitlab_server import GitLabServer
from wavegate.gitlab import GitLab, GitLabError

TOKEN = "glpat-Secr3tTokenValue-doNotLeak"
MARKER = "<!-- wavegate:summary -->"


@pytest.fixture()
def server():
    with GitLabServer(token=TOKEN) as running:
        running.project_ = running.add_project("platform/web", branches=("main", "feature", "wavegate/promote-dev-to-staging"))
        running.add_merge_request(running.project_["id"], "feature", "main", title="Feature")
        yield running


def env(server, **extra):
    return {"CI_SERVER_URL": server.url, "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": str(server.project_["id"]),
            "CI_MERGE_REQUEST_IID": "1", **extra}


def door(server, **extra) -> GitLab:
    return GitLab.from_env(environ=env(server, **extra))


# -- configuration from CI variables --------------------------------------------------------------

@pytest.mark.parametrize("missing, named", [("CI_SERVER_URL", "CI_SERVER_URL"), ("GITLAB_TOKEN", "GITLAB_TOKEN")])
def test_from_env_names_the_missing_variable(server, missing, named):
    environ = env(server)
    del environ[missing]
    with pytest.raises(GitLabError, match=named):
        GitLab.from_env(environ=environ)


def test_project_and_merge_request_come_from_ci_and_name_their_variable_when_missing(server):
    gl = door(server)
    assert gl.project == str(server.project_["id"]) and gl.mr_iid == 1
    bare = GitLab.from_env(environ={"CI_SERVER_URL": server.url, "GITLAB_TOKEN": TOKEN})
    with pytest.raises(GitLabError, match="CI_PROJECT_ID"):
        _ = bare.project
    with pytest.raises(GitLabError, match="CI_MERGE_REQUEST_IID"):
        _ = bare.mr_iid
    by_path = GitLab.from_env(environ={"CI_SERVER_URL": server.url, "GITLAB_TOKEN": TOKEN, "CI_PROJECT_PATH": "platform/web"})
    assert by_path.project_info(by_path.project)["id"] == server.project_["id"]


def test_token_precedence_and_header(server):
    server.add_token("glpat-wavegate-specific-token")
    gl = GitLab.from_env(environ={**env(server), "WAVEGATE_GITLAB_TOKEN": "glpat-wavegate-specific-token"})
    assert gl.token_variable == "WAVEGATE_GITLAB_TOKEN"
    assert gl.current_user()["username"] == "wavegate-bot"
    assert server.requests[-1].auth == "PRIVATE-TOKEN"
    assert TOKEN not in repr(gl) and "glpat" not in repr(gl)


def test_job_token_reads_but_cannot_post_notes_and_says_what_to_do(server):
    server.add_token("job-token-value-123456", kind="job")
    environ = env(server)
    del environ["GITLAB_TOKEN"]
    gl = GitLab.from_env(environ={**environ, "CI_JOB_TOKEN": "job-token-value-123456"})
    assert gl.is_job_token
    assert gl.project_info(gl.project)["path_with_namespace"] == "platform/web"
    assert server.requests[-1].auth == "JOB-TOKEN"
    with pytest.raises(GitLabError) as caught:
        gl.upsert_summary_note(gl.project, 1, "body", MARKER)
    message = str(caught.value)
    assert "401 Unauthorized" in message and "CI_JOB_TOKEN" in message and "GITLAB_TOKEN" in message
    assert "job-token-value-123456" not in message


# -- the summary note ---------------------------------------------------------------------------

def test_note_is_created_once_then_updated_in_place(server):
    gl = door(server)
    first = gl.upsert_summary_note(gl.project, 1, f"{MARKER}\nfirst", MARKER)
    second = gl.upsert_summary_note(gl.project, 1, f"{MARKER}\nsecond", MARKER)
    assert first.created and not second.created and first.id == second.id
    notes = server.notes[(server.project_["id"], 1)]
    assert [n["body"] for n in notes] == [f"{MARKER}\nsecond"]
    again = gl.upsert_summary_note(gl.project, 1, f"{MARKER}\nsecond", MARKER)
    assert not again.changed and server.requests[-1].method == "GET"  # nothing written


def test_marker_is_found_beyond_the_first_page_and_system_notes_are_ignored(server):
    pid = server.project_["id"]
    server.add_note(pid, 1, f"{MARKER} mentioned by the system", system=True)
    for i in range(150):
        server.add_note(pid, 1, f"review comment {i}")
    ours = server.add_note(pid, 1, f"{MARKER}\nold summary")
    note = door(server).upsert_summary_note(pid, 1, f"{MARKER}\nnew summary", MARKER)
    assert note.id == ours["id"] and not note.created
    pages = [r.query.get("page", "1") for r in server.requests if r.method == "GET" and r.path.endswith("/notes")]
    assert pages == ["1", "2"]  # followed the Link header to page 2
    assert ours["body"] == f"{MARKER}\nnew summary"
    assert len(server.notes[(pid, 1)]) == 152


def test_marker_is_added_when_the_body_lacks_it(server):
    gl = door(server)
    gl.upsert_summary_note(gl.project, 1, "plain", MARKER)
    assert server.notes[(server.project_["id"], 1)][0]["body"].startswith(MARKER)


# -- errors: one line, the request named, no token --------------------------------------------

@pytest.mark.parametrize("status, body, expected", [
    (403, {"error": "insufficient_scope", "scope": "api"},
     "GitLab answered 403 Forbidden for POST /projects/{pid}/merge_requests/1/notes: the token (GITLAB_TOKEN) lacks api scope"),
    (500, None, "GitLab answered 500 Internal Server Error for POST /projects/{pid}/merge_requests/1/notes: GitLab failed; retry the job"),
    (403, {"message": "403 Forbidden"}, "may not change this"),
])
def test_api_errors_become_one_token_free_line(server, status, body, expected):
    server.fail(status, method="POST", path=r"/notes$", body=body)
    gl = door(server)
    with pytest.raises(GitLabError) as caught:
        gl.upsert_summary_note(gl.project, 1, "body", MARKER)
    message = str(caught.value)
    assert expected.format(pid=server.project_["id"]) in message
    assert "\n" not in message and TOKEN not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_unknown_token_unknown_mr_and_unreachable_server(server):
    bad = GitLab.from_env(environ={**env(server), "GITLAB_TOKEN": "glpat-not-known-anywhere"})
    with pytest.raises(GitLabError, match=r"401 Unauthorized for GET /projects/\d+: the token \(GITLAB_TOKEN\) was not accepted"):
        bad.project_info(bad.project)
    with pytest.raises(GitLabError, match=r"404 Not Found for GET /projects/\d+/merge_requests/99/notes"):
        door(server).upsert_summary_note(server.project_["id"], 99, "x", MARKER)
    with pytest.raises(GitLabError, match="404 Project Not Found"):
        door(server).project_info("nobody/nothing")
    dead = GitLab("http://127.0.0.1:9", TOKEN, token_variable="GITLAB_TOKEN")
    with pytest.raises(GitLabError, match="cannot reach GitLab at http://127.0.0.1:9") as caught:
        dead.project_info("a/b")
    assert TOKEN not in str(caught.value)


def test_a_server_echoing_the_token_is_scrubbed(server):
    server.fail(500, path="/notes", body={"message": f"boom: PRIVATE-TOKEN {TOKEN} rejected"})
    with pytest.raises(GitLabError) as caught:
        door(server).upsert_summary_note(server.project_["id"], 1, "x", MARKER)
    assert TOKEN not in str(caught.value) and "[MASKED]" in str(caught.value)


def test_no_token_is_401(server):
    import requests

    answer = requests.get(f"{server.url}/api/v4/projects/{server.project_['id']}", timeout=5)
    assert answer.status_code == 401 and answer.json() == {"message": "401 Unauthorized"}
    answer = requests.get(f"{server.url}/api/v4/user", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["username"] == "wavegate-bot"


# -- promotion's calls --------------------------------------------------------------------------

def test_branch_exists(server):
    gl = door(server)
    assert gl.branch_exists("platform/web", "feature") and not gl.branch_exists("platform/web", "nope")


def test_merge_request_created_then_idempotent_then_updated(server):
    gl = door(server)
    source, target = "wavegate/promote-dev-to-staging", "main"
    assert gl.find_open_mr("platform/web", source, target) is None
    mr = gl.create_or_update_mr("platform/web", source, target, "Promote dev to staging", "body", ["wavegate", "promotion"])
    assert mr.created and mr.iid == 2 and mr.labels == ("wavegate", "promotion")
    writes = len([r for r in server.requests if r.method != "GET"])
    same = gl.create_or_update_mr("platform/web", source, target, "Promote dev to staging", "body", ["promotion", "wavegate"])
    assert not same.created and not same.changed and same.iid == 2
    assert len([r for r in server.requests if r.method != "GET"]) == writes
    changed = gl.create_or_update_mr("platform/web", source, target, "Promote dev to staging", "new body", ["wavegate"])
    assert changed.changed and server.merge_requests[server.project_["id"]][2]["description"] == "new body"
    assert server.labels[server.project_["id"]] >= {"wavegate", "promotion"}
    assert gl.find_open_mr("platform/web", source, target).iid == 2


def test_racing_creates_end_with_one_merge_request(server):
    source, target = "wavegate/promote-dev-to-staging", "main"
    results, errors = [], []

    def run():
        try:
            results.append(door(server).create_or_update_mr("platform/web", source, target, "Promote", "b", ["w"]))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    open_mrs = [m for m in server.merge_requests[server.project_["id"]].values() if m["source_branch"] == source]
    assert len(open_mrs) == 1 and {r.iid for r in results} == {open_mrs[0]["iid"]}


def test_conflict_on_create_falls_back_to_updating_the_existing_one(server):
    pid = server.project_["id"]
    source = "wavegate/promote-dev-to-staging"
    # Someone else's MR appears between our lookup and our create: GitLab answers 409.
    server.fail(200, method="GET", path=r"/merge_requests$", times=1, body=[])
    server.add_merge_request(pid, source, "main", title="Opened by someone else")
    mr = door(server).create_or_update_mr(pid, source, "main", "Promote", "b", ["w"])
    assert not mr.created and mr.changed and mr.title == "Promote"
    assert len(server.merge_requests[pid]) == 2


def test_approval_rule_created_kept_and_changed(server):
    gl = door(server)
    pid = server.project_["id"]
    first = gl.set_approval_rule(pid, 1, "wavegate: prod", 2)
    assert first.changed
    assert not gl.set_approval_rule(pid, 1, "wavegate: prod", 2).changed
    third = gl.set_approval_rule(pid, 1, "wavegate: prod", 3)
    assert third.changed and third.id == first.id
    rules = server.approval_rules[(pid, 1)]
    assert [(r["name"], r["approvals_required"], r["rule_type"]) for r in rules] == [("wavegate: prod", 3, "regular")]


def test_read_api_token_cannot_write(server):
    server.add_token("glpat-read-only-token-value", scopes=("read_api",))
    gl = GitLab.from_env(environ={**env(server), "GITLAB_TOKEN": "glpat-read-only-token-value"})
    with pytest.raises(GitLabError, match="lacks api scope"):
        gl.set_approval_rule(server.project_["id"], 1, "x", 1)
