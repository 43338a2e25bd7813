"""The pre-commit hook, run by the real pre-commit on a sample repository."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import EXAMPLES, REPO_ROOT

pytestmark = pytest.mark.integration


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """A committed snapshot of this checkout: pre-commit installs hooks from a git repository."""
    snapshot = tmp_path_factory.mktemp("hook") / "wavegate"
    shutil.copytree(REPO_ROOT, snapshot, ignore=shutil.ignore_patterns(".git", ".tox", ".venv", ".tools", "__pycache__",
                                                                         "*.egg-info", "build"))
    git("init", "-q", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-qm", "snapshot", cwd=snapshot)
    return snapshot


def sample(tmp_path, example):
    root = tmp_path / "examples" / example
    shutil.copytree(EXAMPLES / example, root)
    shutil.copytree(REPO_ROOT / "templates" / "kro", tmp_path / "templates" / "kro")
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def pre_commit(hook_repo, cwd, tmp_path):
    env = {**os.environ, "PRE_COMMIT_HOME": str(hook_repo.parent / "cache")}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "wavegate-validate", "--all-files"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


def test_hook_passes_a_clean_repository(hook_repo, tmp_path):
    done = pre_commit(hook_repo, sample(tmp_path, "clean"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wavegate validate" in done.stdout and "Passed" in done.stdout


def test_hook_fails_on_the_changed_files_with_defects(hook_repo, tmp_path):
    done = pre_commit(hook_repo, sample(tmp_path, "defects"), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout
    assert "manifests/kro-cicd-pipeline.yaml:7:35: error sync-wave-not-integer" in done.stdout
