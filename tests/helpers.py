"""Small helpers the tests share: write a repository, run the checks, pick findings."""

from __future__ import annotations

import textwrap
from pathlib import Path

from wavegate.config import load_config
from wavegate.findings import Finding
from wavegate.load import load
from wavegate.validators import Context, run

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
EXAMPLES = REPO_ROOT / "examples"


def shared(*parts: str) -> Path:
    """A path under ../shared; a missing shared/ is a broken checkout, so fail loudly."""
    path = SHARED.joinpath(*parts)
    assert path.exists(), f"{path} is missing: tests need ../shared beside the checkout"
    return path


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def check_repo(root: Path, repo_url: str | None = "https://gitlab.example.com/team/app.git") -> list[Finding]:
    config = load_config(root)
    repo = load(root, exclude=config.exclude, limits=config.limits)
    ctx = Context(repo=repo, config=config, repo_url=config.repo_url or repo_url)
    return sorted(run(repo, ctx), key=Finding.sort_key)


def with_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]
