"""The CI/CD components run for real by gitlab-ci-local (shell executor) on the bundled examples."""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.helpers import EXAMPLES, REPO_ROOT, shared
from wavegate.cluster.tools import find_tool

pytestmark = pytest.mark.integration

MR = ["--variable", "CI_PIPELINE_SOURCE=merge_request_event"]
DEFAULT_BRANCH = ["--variable", "CI_PIPELINE_SOURCE=push", "--variable", "CI_COMMIT_BRANCH=main",
                  "--variable", "CI_DEFAULT_BRANCH=main"]


def project(tmp_path, example, component="validate", inputs="fail_on: error"):
    """A git repository holding the example and a pipeline that includes one component."""
    root = tmp_path / "examples" / example
    shutil.copytree(EXAMPLES / example, root)
    shutil.copytree(REPO_ROOT / "templates" / "kro", tmp_path / "templates" / "kro")
    (root / ".wavegate-ci").mkdir()
    shutil.copy(REPO_ROOT / "templates" / f"{component}.yml", root / ".wavegate-ci" / f"{component}.yml")
    (root / ".gitlab-ci.yml").write_text(
        f"stages: [test]\ninclude:\n  - local: .wavegate-ci/{component}.yml\n    inputs:\n      {inputs}\n")
    git = ["git", "-C", str(root), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git[:3] + ["remote", "add", "origin", "https://gitlab.example.com/platform/app.git"], check=True)
    subprocess.run(git[:3] + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "init"], check=True)
    return root


def gitlab_ci_local(root, tmp_path, *variables, job="wavegate-validate"):
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "wavegate").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wavegate "$@"\n')
    (shim / "wavegate").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "PYTHONPATH": str(REPO_ROOT / "src"),
           "GCL_IGNORE_PREDEFINED_VARS": "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH,CI_REGISTRY"}
    command = [str(find_tool("gitlab-ci-local")), "--force-shell-executor",
               "--variable", "CI_REGISTRY=registry.invalid", *variables, job]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=root, timeout=300)


def artifacts(root, job="wavegate-validate"):
    return root / ".gitlab-ci-local" / "artifacts" / job


@pytest.mark.parametrize("variables", [MR, DEFAULT_BRANCH], ids=["merge-request", "default-branch"])
def test_clean_repository_passes(tmp_path, variables):
    root = project(tmp_path, "clean")
    done = gitlab_ci_local(root, tmp_path, *variables)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "wavegate-validate" in done.stdout
    suite = ET.parse(artifacts(root) / "wavegate-junit.xml").getroot()
    assert suite.find(".//failure") is None


def test_repository_with_defects_fails_and_leaves_valid_reports(tmp_path):
    root = project(tmp_path, "defects")
    done = gitlab_ci_local(root, tmp_path, *MR)
    assert done.returncode != 0 and "FAIL" in done.stdout
    junit = ET.parse(artifacts(root) / "wavegate-junit.xml").getroot()
    failures = junit.findall(".//testcase/failure")
    assert failures and all(case.get("time") is not None for case in junit.iter("testcase"))
    report = json.loads((artifacts(root) / "gl-code-quality-report.json").read_text())
    schema = json.loads(shared("reference", "schemas", "gitlab", "codeclimate.json").read_text())
    for entry in report:
        jsonschema.validate(entry, schema)
    checks = {entry["check_name"] for entry in report}
    assert "sync-wave-not-integer" in checks
    assert {f.get("type") for f in failures} >= {"sync-wave-not-integer"}


def test_merge_request_rules_do_not_run_on_other_branches(tmp_path):
    root = project(tmp_path, "clean")
    env_vars = ["--variable", "CI_PIPELINE_SOURCE=push", "--variable", "CI_COMMIT_BRANCH=feature",
                "--variable", "CI_DEFAULT_BRANCH=main"]
    shim_env = {**os.environ, "GCL_IGNORE_PREDEFINED_VARS": "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH"}
    listed = subprocess.run([str(find_tool("gitlab-ci-local")), "--list", *env_vars],
                            capture_output=True, text=True, env=shim_env, cwd=root, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "wavegate-validate" not in listed.stdout.split("needs", 1)[-1]


@pytest.mark.parametrize("example, expected", [("clean", 0), ("defects", 1)])
def test_dry_run_component_on_the_local_control_plane(tmp_path, example, expected):
    root = project(tmp_path, example, component="dry-run", inputs="provider: local")
    done = gitlab_ci_local(root, tmp_path, *MR, job="wavegate-dry-run")
    assert (done.returncode == 0) == (expected == 0), done.stdout + done.stderr
    junit = ET.parse(artifacts(root, "wavegate-dry-run") / "wavegate-dry-run-junit.xml").getroot()
    assert (junit.find(".//failure") is None) == (expected == 0)
    if expected:
        report = json.loads((artifacts(root, "wavegate-dry-run") / "gl-code-quality-dry-run.json").read_text())
        # The defects example's Application points at a folder that does not exist.
        assert "dry-run-nothing-rendered" in {entry["check_name"] for entry in report}


def test_merge_request_pipeline_posts_the_diff_with_the_findings(tmp_path):
    """validate on a merge request: the diff against CI_MERGE_REQUEST_DIFF_BASE_SHA is computed and
    posted with the findings in one note on the (loopback) GitLab; the full diff is an artifact."""
    from tests.gitlab_server import GitLabServer

    root = project(tmp_path, "clean")
    git = ["git", "-C", str(root), "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    base = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    pipeline = root / "manifests" / "kro-cicd-pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("region: us-west-2", "region: eu-west-1"))
    subprocess.run(git + ["commit", "-qam", "move to eu-west-1"], check=True)
    token = "glpat-ComponentSecret-123"
    with GitLabServer(token=token) as server:
        gl_project = server.add_project("platform/web-cicd", branches=("main", "feature"))
        server.add_merge_request(gl_project["id"], "feature")
        done = gitlab_ci_local(root, tmp_path, *MR,
                               "--variable", f"CI_MERGE_REQUEST_DIFF_BASE_SHA={base}",
                               "--variable", f"CI_SERVER_URL={server.url}",
                               "--variable", f"GITLAB_TOKEN={token}",
                               "--variable", f"CI_PROJECT_ID={gl_project['id']}",
                               "--variable", "CI_MERGE_REQUEST_IID=1")
        notes = server.notes[(gl_project["id"], 1)]
    assert done.returncode == 0, done.stdout + done.stderr
    assert token not in done.stdout + done.stderr
    [note] = notes
    assert "wavegate: no findings" in note["body"]
    assert "### wavegate diff: 1 Application change (0 added, 1 changed, 0 removed)" in note["body"]
    assert "`/spec/aws/region` `\"us-west-2\"` → `\"eu-west-1\"`" in note["body"]
    assert "```mermaid" in note["body"]
    report = json.loads((artifacts(root) / "wavegate-diff.json").read_text())
    assert report["version"] == 1 and report["base"]["commit"] == base
    assert "eu-west-1" in (artifacts(root) / "wavegate-diff.md").read_text()


def test_the_validate_job_keeps_its_cache_keyed_by_the_policies(tmp_path):
    """The second pipeline starts from the first one's .wavegate_cache (GitLab's cache: restored,
    then answered from it); another policy ref is another cache."""
    root = project(tmp_path, "clean")
    # With --shell-isolation (what moves caches in and out) the job runs in a copy of the project
    # under .gitlab-ci-local/builds/JOB: the example's `schemas: ../../templates/kro/` must be there.
    shutil.copytree(REPO_ROOT / "templates" / "kro", root / ".gitlab-ci-local" / "templates" / "kro")
    first = gitlab_ci_local(root, tmp_path, *MR, "--shell-isolation")
    assert first.returncode == 0, first.stdout + first.stderr
    caches = sorted(p.name for p in (root / ".gitlab-ci-local" / "cache").iterdir())
    assert len(caches) == 1 and "wavegate-0.1.0-policies-main-" in caches[0], caches
    kept = root / ".gitlab-ci-local" / "cache" / caches[0] / ".wavegate_cache"
    assert (kept / "CACHEDIR.TAG").is_file() and list((kept / "runs").glob("*.marshal"))
    second = gitlab_ci_local(root, tmp_path, *MR, "--shell-isolation")
    assert second.returncode == 0 and "imported cache" in second.stdout, second.stdout + second.stderr

    (root / ".gitlab-ci.yml").write_text((root / ".gitlab-ci.yml").read_text() + "      policies_ref: v2\n")
    third = gitlab_ci_local(root, tmp_path, *MR, "--shell-isolation")
    assert third.returncode == 0, third.stdout + third.stderr
    caches = sorted(p.name for p in (root / ".gitlab-ci-local" / "cache").iterdir())
    assert len(caches) == 2 and any("wavegate-0.1.0-policies-v2-" in c for c in caches), caches


def test_the_cache_key_names_the_version_of_wavegate():
    from wavegate import __version__

    assert f"prefix: wavegate-{__version__}-policies-" in (REPO_ROOT / "templates" / "validate.yml").read_text()
