"""Promotion, rollback and history for real: git with a bare repository as the GitLab remote, the
loopback GitLab API server for merge requests. Gates that read a cluster are skipped here
(--skip-gates, which the trailers and the MR record); tests/integration/test_promote_gates.py
reads them from the local control plane."""

from __future__ import annotations

import argparse
import filecmp
import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitlab_server import GitLabServer
from tests.helpers import REPO_ROOT
from wavegate.git import Git
from wavegate.gitlab import GitLab
from wavegate.promote.cli import add_parser
from wavegate.promote.run import Options, PromotionStopped, promote
from wavegate.scaffold.init import init, read_values

pytestmark = pytest.mark.integration

VALUES = {"appname": "web", "aws_region": "us-west-2", "aws_account_id": "123456789012",
          "gitlab_hostname": "gitlab.example.com", "argocd_hostname": "argocd.example.com",
          "git_username": "platform", "cluster_name": "peeks-hub-cluster", "dockerfile_path": ".",
          "deployment_path": "./deployment"}
PIPELINE = "kro-cicd-pipeline.yaml"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(autouse=True)
def identity(monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Person")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")


@dataclass
class World:
    tmp: Path
    bare: Path
    work: Path
    server: GitLabServer
    project: dict
    gitlab: GitLab

    def edit(self, env: str, old: str, new: str, file: str = PIPELINE, message: str = "change") -> str:
        path = self.work / "environments" / env / file
        text = path.read_text()
        assert old in text, (old, text)
        path.write_text(text.replace(old, new, 1))
        git(self.work, "pull", "--quiet", "--no-rebase", "origin", "main")
        git(self.work, "commit", "--quiet", "-am", message)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "HEAD").strip()

    def run(self, *argv: str) -> int:
        parser = argparse.ArgumentParser()
        add_parser(parser.add_subparsers())
        args = parser.parse_args([*argv, str(self.work)])
        args.debug = False
        handler = args.handler
        if handler.__name__ == "cmd_history":
            return handler(args)
        return handler(args, gitlab=self.gitlab)

    def options(self, **extra) -> Options:
        return Options(**{"root": self.work, "source": "dev", "target": "staging", "skip_gates": True,
                          "gitlab": self.gitlab, "project": str(self.project["id"]), **extra})

    def remote_tip(self, branch: str) -> str | None:
        out = git(self.bare, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}").strip()
        return out or None

    def mrs(self) -> list[dict]:
        return list(self.server.merge_requests[self.project["id"]].values())

    def merge(self, branch: str) -> None:
        """What pressing Merge in GitLab does (merge commit), then the MR is merged."""
        clone = self.tmp / "merger"
        if not clone.exists():
            git(self.tmp, "clone", "--quiet", str(self.bare), str(clone))
        git(clone, "fetch", "--quiet", "origin")
        git(clone, "checkout", "--quiet", "main")
        git(clone, "reset", "--quiet", "--hard", "origin/main")
        git(clone, "merge", "--quiet", "--no-ff", "-m", f"Merge branch '{branch}'", f"origin/{branch}")
        git(clone, "push", "--quiet", "origin", "main")
        for mr in self.mrs():
            if mr["source_branch"] == branch and mr["state"] == "opened":
                mr["state"] = "merged"
        git(self.work, "pull", "--quiet", "--no-rebase", "origin", "main")


@pytest.fixture
def world(tmp_path, monkeypatch):
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    values = tmp_path / "values.yaml"
    values.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in VALUES.items()))
    init(work, read_values(values), variant="environments")
    # Each environment its own AWS account and cluster: the fields `keep` protects.
    for env, account in (("staging", "222222222222"), ("prod", "333333333333")):
        path = work / "environments" / env / PIPELINE
        path.write_text(path.read_text().replace('accountId: "123456789012"', f'accountId: "{account}"')
                        .replace('clusterName: "peeks-hub-cluster"', f"clusterName: {env}-cluster  # {env} only"))
    config = work / ".wavegate.yaml"
    config.write_text(config.read_text() + f"schemas: [{REPO_ROOT / 'templates' / 'kro'}]\n")
    git(tmp_path, "init", "--quiet", "-b", "main", str(work))
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "initial")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "-u", "origin", "main")
    server = GitLabServer().start()
    project = server.add_project("platform/web-cicd")
    server.link_repository(project["id"], bare)
    gitlab = GitLab(server.url, server.token, project=str(project["id"]))
    monkeypatch.setenv("CI_PROJECT_ID", str(project["id"]))
    yield World(tmp_path, bare, work, server, project, gitlab)
    server.stop()


def test_plan_keeps_the_keep_fields_and_lists_every_changed_field(world, capsys):
    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    world.edit("dev", 'region: "us-west-2"', 'region: "us-east-1"')
    assert world.run("promote", "--from", "dev", "--to", "staging", "--plan", "--skip-gates", "--format", "json") == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["changed"] == [PIPELINE] and plan["added"] == [] and plan["removed"] == []
    pointers = {c["pointer"]: (c["old"], c["new"]) for c in plan["files"][0]["changes"]}
    assert pointers == {"/spec/application/dockerfilePath": (".", "./app"), "/spec/aws/region": ("us-west-2", "us-east-1")}
    assert sorted(plan["files"][0]["kept"]) == ["CICDPipeline team-web/web-cicd-pipeline /spec/aws/accountId",
                                                "CICDPipeline team-web/web-cicd-pipeline /spec/aws/clusterName"]
    assert plan["files"][0]["reformatted"] is None
    # --plan writes nothing
    assert world.remote_tip("wavegate/promote-dev-to-staging") is None and world.mrs() == []


def test_promotion_commits_pushes_and_opens_one_labelled_mr_then_does_nothing_again(world, capsys):
    commit = world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    dev_text = (world.work / "environments" / "dev" / PIPELINE).read_text()
    assert world.run("promote", "--from", "dev", "--to", "staging", "--skip-gates") == 0
    out = capsys.readouterr().out
    assert "Merge request !1 opened" in out
    branch = "wavegate/promote-dev-to-staging"
    tip = world.remote_tip(branch)
    assert tip is not None
    # The result: dev's text (its comments and style) with staging's kept values edited in place,
    # each in staging's own spelling (clusterName unquoted there).
    staged = git(world.bare, "show", f"{tip}:environments/staging/{PIPELINE}")
    assert staged == dev_text.replace('accountId: "123456789012"', 'accountId: "222222222222"').replace(
        'clusterName: "peeks-hub-cluster"', "clusterName: staging-cluster")
    trailers = Git(world.work).commits(tip)[0].trailers
    assert trailers["Promoted-From"] == "dev" and trailers["Promoted-To"] == "staging"
    assert trailers["Promoted-Commit"] == commit and trailers["Gate-Skipped"].startswith("true")
    assert trailers["Gate-Validation"].startswith("passed: 0 errors")
    [mr] = world.mrs()
    assert mr["source_branch"] == branch and mr["target_branch"] == "main"
    assert set(mr["labels"]) == {"wavegate", "promotion", "env::staging"}
    assert "/spec/application/dockerfilePath" in mr["description"] and "Gates were skipped" in mr["description"]
    assert "accountId" in mr["description"]  # listed as kept
    # Second run, nothing new: no commit, no MR write.
    writes = len([r for r in world.server.requests if r.method != "GET"])
    assert world.run("promote", "--from", "dev", "--to", "staging", "--skip-gates") == 0
    assert "already up to date" in capsys.readouterr().out
    assert world.remote_tip(branch) == tip
    assert len([r for r in world.server.requests if r.method != "GET"]) == writes and len(world.mrs()) == 1


def test_the_mr_description_lists_every_changed_field(world):
    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    world.edit("dev", 'deploymentPath: "./deployment"', 'deploymentPath: "./deploy"')
    world.edit("dev", "app.kubernetes.io/component: cicd-pipeline", "app.kubernetes.io/component: cicd-pipeline\n    team: web")
    world.edit("dev", 'backstage.io/created-by: "unknown"', 'backstage.io/created-by: "jane"', file=PIPELINE)
    prepared, outcome = promote(world.options())
    changes = [c for f in prepared.plan.files for c in f.changes]
    assert outcome.action == "committed", prepared.blocked
    assert {(c.pointer, c.op) for c in changes} == {
        ("/spec/application/dockerfilePath", "replace"), ("/spec/application/deploymentPath", "replace"),
        ("/metadata/labels/team", "add"), ("/metadata/annotations/backstage.io~1created-by", "replace")}
    description = world.mrs()[0]["description"]
    for change in changes:
        assert f"`{change.pointer}`" in description


def test_validation_failure_of_the_result_blocks_the_promotion(world, capsys):
    world.edit("dev", 'argocd.argoproj.io/sync-wave: "1"', 'argocd.argoproj.io/sync-wave: "one"')
    assert world.run("promote", "--from", "dev", "--to", "staging", "--skip-gates") == 1
    out = capsys.readouterr().out
    assert "Blocked:" in out and "sync-wave" in out and "does not validate" in out
    assert world.remote_tip("wavegate/promote-dev-to-staging") is None and world.mrs() == []


def test_prod_promotion_sets_the_approval_rule(world):
    world.edit("staging", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    prepared, outcome = promote(world.options(source="staging", target="prod"))
    assert outcome.action == "committed"
    rules = world.server.approval_rules[(world.project["id"], outcome.merge_request.iid)]
    assert [(r["name"], r["approvals_required"]) for r in rules] == [("wavegate: prod", 2)]
    staged = git(world.bare, "show", f"{outcome.commit}:environments/prod/{PIPELINE}")
    assert 'accountId: "333333333333"' in staged and "prod-cluster" in staged and '"./app"' in staged


def test_a_human_commit_on_the_promotion_branch_stops_the_run(world, capsys):
    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    assert world.run("promote", "--from", "dev", "--to", "staging", "--skip-gates") == 0
    branch = "wavegate/promote-dev-to-staging"
    human = world.tmp / "human"
    git(world.tmp, "clone", "--quiet", "-b", branch, str(world.bare), str(human))
    (human / "environments" / "staging" / "notes.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\n")
    git(human, "add", "-A")
    git(human, "commit", "--quiet", "-m", "hand fix")
    git(human, "push", "--quiet", "origin", branch)
    theirs = world.remote_tip(branch)
    world.edit("dev", 'deploymentPath: "./deployment"', 'deploymentPath: "./deploy"')
    assert world.run("promote", "--from", "dev", "--to", "staging", "--skip-gates") == 1
    err = capsys.readouterr().err
    assert "stopped" in err and theirs[:12] in err and "'hand fix'" in err and "never overwrites" in err
    assert world.remote_tip(branch) == theirs
    with pytest.raises(PromotionStopped):
        promote(world.options())


def test_two_promotions_at_once_end_with_one_branch_one_mr_and_no_lost_commit(world):
    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(promote(world.options())[1])
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    branch = "wavegate/promote-dev-to-staging"
    assert sorted(r.action for r in results) in (["committed", "unchanged"], ["committed", "committed"])
    tip = world.remote_tip(branch)
    committed = [r.commit for r in results if r.action == "committed"]
    for commit in committed:  # no commit was lost: every pushed commit is on the branch
        assert subprocess.run(["git", "-C", str(world.bare), "merge-base", "--is-ancestor", commit, tip]).returncode == 0
    assert [b for b in git(world.bare, "branch", "--format=%(refname:short)").split() if b.startswith("wavegate/")] == [branch]
    assert len(world.mrs()) == 1 and {r.merge_request.iid for r in results} == {1}


def _archive(world: World, rev: str, dest: Path) -> Path:
    Git(world.work).archive_to(rev, dest)
    return dest / "environments" / "staging"


def _same_tree(a: Path, b: Path) -> bool:
    compare = filecmp.dircmp(a, b)
    if compare.left_only or compare.right_only or compare.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, compare.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in compare.common_dirs)


def test_rollback_restores_the_earlier_promotion_exactly_and_history_lists_them(world, capsys):
    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    first = promote(world.options())[1]
    world.merge(first.branch)
    world.edit("dev", 'deploymentPath: "./deployment"', 'deploymentPath: "./deploy"')
    (world.work / "environments" / "dev" / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: team-web\ndata: {a: b}\n")
    git(world.work, "add", "-A")
    git(world.work, "commit", "--quiet", "-m", "extra")
    git(world.work, "push", "--quiet", "origin", "main")
    second = promote(world.options())[1]
    assert second.action == "committed" and second.merge_request.iid == 2
    world.merge(second.branch)
    assert world.run("history", "--env", "staging", "--format", "json") == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["commit"] for e in entries] == [second.commit, first.commit]
    assert all(e["kind"] == "promotion" and e["from"] == "dev" for e in entries)
    assert entries[0]["gates"]["validation"].startswith("passed")
    assert world.run("rollback", "--env", "staging") == 0
    capsys.readouterr()
    rollback_tip = world.remote_tip("wavegate/rollback-staging")
    [mr] = [m for m in world.mrs() if m["source_branch"] == "wavegate/rollback-staging"]
    assert set(mr["labels"]) == {"wavegate", "rollback", "env::staging"}
    world.merge("wavegate/rollback-staging")
    main = git(world.bare, "rev-parse", "main").strip()
    assert _same_tree(_archive(world, first.commit, world.tmp / "at-first"), _archive(world, main, world.tmp / "at-main"))
    assert not (world.tmp / "at-main" / "environments" / "staging" / "extra.yaml").exists()
    assert world.run("history", "--env", "staging") == 0
    text = capsys.readouterr().out
    assert f"rollback to {first.commit[:12]}" in text and rollback_tip[:12] in text
