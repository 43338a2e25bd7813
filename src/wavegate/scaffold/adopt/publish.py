"""Publishing an adopted repository: the GitLab project (through wavegate.gitlab), then a git push."""

from __future__ import annotations

from pathlib import Path

from wavegate.git import Git, GitError
from wavegate.scaffold.adopt.model import AdoptError


def project_path(values: dict[str, str]) -> str:
    """The GitLab project the skeleton's Application, AppProject and .wavegate.yaml point at."""
    return f"{values['git_username']}/{values['appname']}-cicd"


def publish(target: Path, values: dict[str, str], *, gitlab=None, project: str | None = None,
            push_url: str | None = None, branch: str = "main") -> str:
    """Create the GitLab project (through wavegate.gitlab) and push `target` to it with git.

    `project` must be the one the repository's files point at; `push_url` overrides where git
    pushes (tests: a bare repository). Returns the URL pushed to (without credentials)."""
    expected = project_path(values)
    if project and project != expected:
        raise AdoptError([f"--gitlab-project {project} differs from {expected}, which the repository's Application, "
                          f"AppProject and .wavegate.yaml point at (git_username/appname-cicd); pass "
                          f"git_username in --values or drop --gitlab-project"])
    env = {}
    url = push_url
    if gitlab is not None:
        from wavegate.gitlab import GitLabError

        group, _, repo = expected.rpartition("/")
        try:
            created = gitlab.create_project(group, repo)
        except GitLabError as error:
            raise AdoptError([str(error)]) from None
        url = url or created.http_url_to_repo
        env = gitlab.git_http_env(url)
    if not url:
        raise AdoptError(["nothing to push to: pass --gitlab-url (or set CI_SERVER_URL) or --push-url"])
    git = Git(target, env=env, scrub=gitlab.scrub if gitlab is not None else None)
    try:
        git.run("init", "-q", "-b", branch)
        git.run("add", "-A")
        git.run("-c", "user.name=wavegate adopt", "-c", "user.email=wavegate@localhost",
                "commit", "-q", "-m", "Adopt the CICDPipeline from the cluster (wavegate adopt)")
        git.run("push", "-q", url, f"HEAD:refs/heads/{branch}")
    except GitError as error:  # already scrubbed: no token in it
        raise AdoptError([git.scrub(f"git {error.command} failed in {target}: {error.reason}")]) from None
    return url
