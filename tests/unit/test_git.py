"""wavegate.git: the one place wavegate runs git. Real git in a temporary directory."""

from __future__ import annotations

import subprocess

import pytest

from wavegate.git import Git, GitError, subcommand

SECRET = "glpat-not-a-real-token"


def alias_env(name: str, command: str) -> dict[str, str]:
    """An environment that gives git the alias `name` (through GIT_CONFIG_*, as git_http_env does)."""
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"alias.{name}", "GIT_CONFIG_VALUE_0": command}


@pytest.fixture()
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_a_failure_names_the_subcommand_and_quotes_gits_fatal_line(repo):
    with pytest.raises(GitError) as error:
        Git(repo).run("-c", "user.name=x", "ls-remote", str(repo / "no-such-remote"))
    assert error.value.command == "ls-remote"
    assert error.value.reason.startswith("fatal: ") and "no-such-remote" in error.value.reason
    assert str(error.value) == f"git ls-remote failed: {error.value.reason}"
    assert error.value.returncode not in (None, 0)


def test_the_scrub_hook_keeps_tokens_out_of_every_message(repo):
    git = Git(repo, scrub=lambda text: text.replace(SECRET, "[MASKED]"))
    with pytest.raises(GitError) as error:
        git.run("ls-remote", f"/nowhere/{SECRET}")
    assert SECRET not in str(error.value) and SECRET not in error.value.reason
    assert "[MASKED]" in str(error.value)
    pushed, said = git.push(f"/nowhere/{SECRET}", "HEAD", "main", None)
    assert not pushed and SECRET not in said and "[MASKED]" in said


def test_env_reaches_git_and_it_never_prompts(repo, monkeypatch):
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "1")
    git = Git(repo, env=alias_env("prompt", "!printenv GIT_TERMINAL_PROMPT"))
    assert git.run("prompt").strip() == "0"
    assert Git(repo).query("config", "alias.prompt") is None  # the env is the Git's own, not the process's


def test_query_is_none_when_git_fails_or_says_nothing(repo):
    git = Git(repo)
    assert git.query("rev-parse", "--is-inside-work-tree") == "true"
    assert git.rev_parse("HEAD") is None  # no commit yet
    assert git.remote_url() is None
    assert Git.is_repo(repo) and not Git.is_repo(repo / "missing")


def test_a_command_that_does_not_answer_is_a_git_error(repo):
    with pytest.raises(GitError, match=r"git hang failed: no answer after 0.2 s") as error:
        Git(repo, env=alias_env("hang", "!exec sleep 2"), timeout=0.2).run("hang")
    assert error.value.returncode is None


def test_missing_git_is_a_git_error(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "empty"))
    with pytest.raises(GitError, match="cannot run git") as error:
        Git(repo).run("status")
    assert error.value.returncode is None
    assert not Git.is_repo(repo)


def test_subcommand_skips_global_options():
    assert subcommand(["-c", "user.name=x", "-C", "dir", "--no-pager", "commit", "-m", "x"]) == "commit"
    assert subcommand(["push", "-q", "url"]) == "push"
