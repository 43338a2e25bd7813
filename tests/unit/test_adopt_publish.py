"""wavegate adopt --publish: the GitLab project through wavegate.gitlab, the push through real git."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from tests.gitlab_server import GitLabServer
from wavegate.gitlab import GitLab, GitLabError
from wavegate.scaffold.adopt import AdoptError, publish

VALUES = {"git_username": "platform", "appname": "web"}


@pytest.fixture()
def gitlab():
    with GitLabServer() as server:
        server.add_namespace("platform")
        yield server


def connect(server):
    return GitLab(server.url, server.token, token_variable="GITLAB_TOKEN")


def test_create_project_creates_it_once(gitlab):
    gl = connect(gitlab)
    project = gl.create_project("platform", "web-cicd")
    assert project.created and project.path_with_namespace == "platform/web-cicd"
    assert project.http_url_to_repo == "https://gitlab.example.com/platform/web-cicd.git"
    again = gl.create_project("platform", "web-cicd")
    assert not again.created and again.id == project.id
    posts = [r for r in gitlab.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].body["namespace_id"] == gitlab._namespace("platform")["id"]


def test_create_project_in_an_unknown_namespace_is_one_token_free_line(gitlab):
    with pytest.raises(GitLabError) as error:
        connect(gitlab).create_project("nobody", "web-cicd")
    assert "404" in str(error.value) and "/namespaces/nobody" in str(error.value)
    assert gitlab.token not in str(error.value)


def test_git_http_env_keeps_the_token_off_command_lines_and_scrubs_it(gitlab):
    gl = connect(gitlab)
    env = gl.git_http_env("https://gitlab.example.com/platform/web-cicd.git")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://gitlab.example.com/.extraHeader"
    basic = env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic ")
    assert base64.b64decode(basic).decode() == f"oauth2:{gitlab.token}"
    assert gl.scrub(f"x {basic} {gitlab.token}") == "x [MASKED] [MASKED]"
    assert "GIT_CONFIG_COUNT" not in gl.git_http_env("/tmp/remote.git")


def test_publish_pushes_main_and_never_overwrites(tmp_path, gitlab):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "catalog-info.yaml").write_text("x: 1\n")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    assert publish(repo, VALUES, gitlab=connect(gitlab), push_url=str(remote)) == str(remote)
    assert "platform/web-cicd" in [p["path_with_namespace"] for p in gitlab.projects.values()]
    log = subprocess.run(["git", "--git-dir", str(remote), "log", "--format=%an|%s", "main"],
                         capture_output=True, text=True, check=True).stdout
    assert log.startswith("wavegate adopt|Adopt the CICDPipeline")
    other = tmp_path / "other"
    other.mkdir()
    (other / "a").write_text("a")
    with pytest.raises(AdoptError, match="git push failed"):
        publish(other, VALUES, push_url=str(remote))


def test_the_project_must_be_the_one_the_files_point_at(tmp_path):
    with pytest.raises(AdoptError, match="--gitlab-project team/web differs from platform/web-cicd"):
        publish(tmp_path, VALUES, project="team/web", push_url="x")


def test_a_git_failure_never_shows_the_token(tmp_path, gitlab, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "f").write_text("f")
    gl = connect(gitlab)
    # An unreachable https remote: git fails, and whatever it says is scrubbed.
    monkeypatch.setenv("GIT_CURL_VERBOSE", "1")
    monkeypatch.setenv("GIT_TRACE", "1")
    with pytest.raises(AdoptError) as error:
        publish(repo, VALUES, gitlab=gl, push_url="https://127.0.0.1:9/platform/web-cicd.git")
    text = str(error.value)
    assert "git push failed" in text
    assert gitlab.token not in text
    assert base64.b64encode(f"oauth2:{gitlab.token}".encode()).decode() not in text
    assert os.environ.get("GIT_CONFIG_COUNT") is None  # the process environment is untouched
