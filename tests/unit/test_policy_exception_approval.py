"""Exceptions no one can forge: in a merge-request pipeline, an exception the merge request adds or
changes counts only when a member of the policy set's approvers group approved the merge request.

Real git (the diff base is a real commit), python-gitlab against the loopback GitLab API
(tests/gitlab_server.py: the merge request's approvals, the group's members), and `wavegate
validate` as a pipeline runs it, with GitLab CI's variables.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess

import pytest

from tests.gitlab_server import GitLabServer
from tests.helpers import write_repo
from wavegate.cli import main
from wavegate.policy import builtin_policy_dir

TOKEN = "glpat-approval-check-token-000000"
IN_A_MONTH = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  destination: {server: "https://kubernetes.default.svc", namespace: team-web}
"""
SETTINGS = """\
apiVersion: wavegate.dev/v1
kind: PolicySet
metadata: {name: central}
spec:
  exceptions:
    %s
"""


def exception(reason="moving to the team project", expires=IN_A_MONTH):
    return ("  - policy: application-project-not-default\n"
            "    resource: {kind: Application, namespace: argocd, name: web}\n"
            f"    reason: {reason}\n    approvedBy: security@example.com\n    expires: '{expires}'\n")


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout.strip()


class Pipeline:
    """A repository whose merge request changes .wavegate.yaml, a GitLab with that merge request,
    and the CI variables of its merge-request pipeline."""

    def __init__(self, tmp_path, server: GitLabServer, monkeypatch, approvers="approvers: platform/security"):
        self.server, self.monkeypatch = server, monkeypatch
        self.central = tmp_path / "central"
        shutil.copytree(builtin_policy_dir(), self.central, ignore=shutil.ignore_patterns("fixtures", "policy-set.yaml"))
        (self.central / "policy-set.yaml").write_text(SETTINGS % approvers)
        self.root = tmp_path / "repo"
        self.root.mkdir()
        git(self.root, "init", "--quiet", "--initial-branch=main")
        git(self.root, "config", "user.email", "dev@example.com")
        git(self.root, "config", "user.name", "Dev")
        self.alice = server.add_user("alice")  # the merge request's author, a member of the approvers group
        self.bob = server.add_user("bob")  # a security reviewer
        self.carol = server.add_user("carol")  # a colleague, not in the group
        self.parent = server.add_group("platform")
        self.group = server.add_group("platform/security", [(self.alice, 30), (self.bob, 40)])
        self.project = server.add_project("team/web", branches=("main", "feature"))
        self.mr = server.add_merge_request(self.project["id"], "feature", "main", author=self.alice)

    def commit(self, exceptions: str) -> str:
        config = f"policies: {self.central}\n" + (f"exceptions:\n{exceptions}" if exceptions else "")
        write_repo(self.root, {"app.yaml": APP, ".wavegate.yaml": config})
        git(self.root, "add", "-A")
        git(self.root, "commit", "--quiet", "--allow-empty", "-m", "change")
        return git(self.root, "rev-parse", "HEAD")

    def validate(self, base: str, capsys, **extra) -> tuple[int, list[dict]]:
        env = {"GITLAB_CI": "true", "CI_SERVER_URL": self.server.url, "GITLAB_TOKEN": TOKEN,
               "CI_PROJECT_ID": str(self.project["id"]), "CI_MERGE_REQUEST_IID": str(self.mr["iid"]),
               "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, **extra}
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(["validate", str(self.root), "--format", "json"])
        return code, json.loads(capsys.readouterr().out)["findings"]


def rules(findings: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in findings:
        found.setdefault(finding["rule"], []).append(finding)
    return found


@pytest.fixture()
def pipeline(tmp_path, monkeypatch):
    for name in ("CI", "GITLAB_CI", "CI_MERGE_REQUEST_IID", "CI_PROJECT_URL", "WAVEGATE_GITLAB_TOKEN", "CI_JOB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with GitLabServer(token=TOKEN) as server:
        yield Pipeline(tmp_path, server, monkeypatch)


def test_a_new_exception_counts_once_a_member_of_the_group_approves_and_the_job_is_run_again(pipeline, capsys):
    base = pipeline.commit("")
    pipeline.commit(exception())
    code, findings = pipeline.validate(base, capsys)
    found = rules(findings)
    assert code == 1
    [unapproved] = found["policy-exception-unapproved"]
    assert unapproved["severity"] == "error" and unapproved["path"] == ".wavegate.yaml" and unapproved["line"] == 6
    assert unapproved["message"] == (
        ".wavegate.yaml exceptions[0] for policy 'application-project-not-default' on Application argocd/web is new "
        "or changed in merge request !1, which no member of platform/security other than its author has approved; "
        "the violation stays an error")
    assert "platform/security" in unapproved["hint"]
    assert [f["severity"] for f in found["policy-violation"]] == ["error"]

    pipeline.server.approve(pipeline.project["id"], 1, pipeline.bob)  # the approval arrives; the job is re-run
    code, findings = pipeline.validate(base, capsys)
    found = rules(findings)
    assert code == 0 and "policy-exception-unapproved" not in found and "policy-violation" not in found
    [applied] = found["policy-exception-applied"]
    assert applied["severity"] == "info" and applied["message"].endswith("; approved in !1 by @bob (platform/security))")
    asked = [(r.method, r.path) for r in pipeline.server.requests]
    assert ("GET", f"/projects/{pipeline.project['id']}/merge_requests/1/approvals") in asked
    assert ("GET", "/groups/platform%2Fsecurity/members/all") in asked


def test_the_authors_own_approval_and_an_outsiders_do_not_count(pipeline, capsys):
    base = pipeline.commit("")
    pipeline.commit(exception())
    pipeline.server.approve(pipeline.project["id"], 1, pipeline.alice)  # the author, though in the group
    pipeline.server.approve(pipeline.project["id"], 1, pipeline.carol)  # not in the group
    code, findings = pipeline.validate(base, capsys)
    [unapproved] = rules(findings)["policy-exception-unapproved"]
    assert code == 1 and "other than its author has approved (approved only by @carol)" in unapproved["message"]


def test_members_of_a_parent_group_are_members(pipeline, capsys):
    dave = pipeline.server.add_user("dave")
    pipeline.server.add_group_member(pipeline.parent["id"], dave, 50)  # an owner of `platform`
    base = pipeline.commit("")
    pipeline.commit(exception())
    pipeline.server.approve(pipeline.project["id"], 1, dave)
    code, findings = pipeline.validate(base, capsys)
    assert code == 0 and rules(findings)["policy-exception-applied"]


def test_an_exception_the_target_branch_already_has_needs_no_approval(pipeline, capsys):
    base = pipeline.commit(exception())
    pipeline.commit(exception())
    code, findings = pipeline.validate(base, capsys)
    found = rules(findings)
    assert code == 0 and "policy-exception-unapproved" not in found and found["policy-exception-applied"]
    assert not any("approvals" in r.path for r in pipeline.server.requests)  # nothing to ask GitLab


def test_a_changed_exception_is_new(pipeline, capsys):
    base = pipeline.commit(exception(expires=IN_A_MONTH))
    pipeline.commit(exception(expires=(datetime.date.today() + datetime.timedelta(days=60)).isoformat()))
    code, findings = pipeline.validate(base, capsys)
    assert code == 1 and rules(findings)["policy-exception-unapproved"]


def test_without_the_diff_base_in_the_clone_every_exception_is_new(pipeline, capsys):
    pipeline.commit(exception())
    code, findings = pipeline.validate("0" * 40, capsys)
    assert code == 1 and rules(findings)["policy-exception-unapproved"]


def test_when_gitlab_cannot_be_read_the_exception_does_not_count_and_the_finding_says_why(pipeline, capsys):
    base = pipeline.commit("")
    pipeline.commit(exception())
    pipeline.server.approve(pipeline.project["id"], 1, pipeline.bob)
    code, findings = pipeline.validate(base, capsys, GITLAB_TOKEN="glpat-revoked-000000000000")
    [unapproved] = rules(findings)["policy-exception-unapproved"]
    assert code == 1 and "wavegate could not check: GitLab answered 401 Unauthorized" in unapproved["message"]
    assert "glpat-revoked" not in json.dumps(findings)
    assert "read_api" in unapproved["hint"]


def test_a_policy_set_without_approvers_lets_no_new_exception_count(tmp_path, monkeypatch, capsys):
    with GitLabServer(token=TOKEN) as server:
        pipeline = Pipeline(tmp_path, server, monkeypatch, approvers="maxLifetimeDays: 30")
        base = pipeline.commit("")
        pipeline.commit(exception())
        server.approve(pipeline.project["id"], 1, pipeline.bob)
        code, findings = pipeline.validate(base, capsys)
        [unapproved] = rules(findings)["policy-exception-unapproved"]
        assert code == 1 and "the policy set names no approvers group" in unapproved["message"]
        assert "spec.exceptions.approvers" in unapproved["hint"]
        assert server.requests == []


def test_outside_a_merge_request_pipeline_the_exception_counts_unverified(pipeline, capsys, monkeypatch):
    base = pipeline.commit("")
    pipeline.commit(exception())
    monkeypatch.delenv("CI_MERGE_REQUEST_IID", raising=False)
    for name, value in {"GITLAB_CI": "true", "CI_SERVER_URL": pipeline.server.url}.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["validate", str(pipeline.root), "--format", "json"]) == 0
    found = rules(json.loads(capsys.readouterr().out)["findings"])
    [unverified] = found["policy-exception-unverified"]
    assert unverified["severity"] == "info" and "not a merge-request pipeline" in unverified["message"]
    assert found["policy-exception-applied"] and base and pipeline.server.requests == []
