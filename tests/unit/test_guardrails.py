"""The linters a commit meets (pre-commit) are the ones CI runs (tox's lint and type environments)."""

import configparser

import yaml

from tests.helpers import REPO_ROOT


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO_ROOT / "tox.ini", encoding="utf-8")
    return parser


def _pins(requirements: list[str]) -> dict[str, str]:
    return {name.lower(): version for name, _, version in (r.partition("==") for r in requirements) if version}


def test_tox_runs_the_linters_with_the_tests():
    env_list = [e.strip() for e in _tox()["tox"]["env_list"].split(",")]
    assert {"lint", "type", "py311"} <= set(env_list)


def test_pre_commit_pins_the_versions_tox_runs():
    tox = _tox()
    tox_pins = _pins([line.strip() for env in ("testenv:lint", "testenv:type")
                      for line in tox[env].get("deps", "").splitlines() if line.strip()])
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"]
    hook_pins = _pins([dep for repo in hooks for hook in repo["hooks"] for dep in hook.get("additional_dependencies", [])])
    assert {"ruff", "mypy"} <= set(tox_pins)
    assert hook_pins == tox_pins
