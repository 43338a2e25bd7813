import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.config import ConfigError, load_config, repository_url
from wavegate.findings import Severity


def test_missing_config_gives_defaults(tmp_path):
    config = load_config(tmp_path)
    assert config.argocd_version == 3 and config.rules == {} and config.path is None


def test_unknown_key_is_an_error_with_its_line(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rules: {}\nargocd:\n  verison: 2\n"})
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert ".wavegate.yaml:3:3" in str(error.value) and "'verison'" in str(error.value)
    assert "version" in str(error.value)


def test_bad_severity_is_an_error(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  sync-wave-not-integer: fatal\n"})
    with pytest.raises(ConfigError, match="not one of"):
        load_config(tmp_path)


def test_broken_yaml_in_config_is_an_error(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rules: [\n"})
    with pytest.raises(ConfigError, match=r"\.wavegate\.yaml:\d+:\d+"):
        load_config(tmp_path)


def test_settings_are_read_and_paths_resolved_from_the_file(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": """
        rules: {sync-wave-not-integer: warning, yaml-duplicate-key: off}
        namespaces: [monitoring]
        argocd: {version: 2, requireResourcesFinalizer: true}
        schemas: [crds/]
        repoURL: https://gitlab.example.com/a/b.git
    """})
    config = load_config(tmp_path)
    assert config.argocd_version == 2 and config.require_resources_finalizer
    assert config.namespaces == frozenset({"monitoring"})
    assert config.schemas == (str((tmp_path / "crds").resolve()),)
    assert config.severity_for("sync-wave-not-integer", Severity.ERROR) == Severity.WARNING
    assert config.severity_for("yaml-duplicate-key", Severity.ERROR) is None
    assert repository_url(config, tmp_path) == "https://gitlab.example.com/a/b.git"


def test_repository_url_falls_back_to_ci_then_git(tmp_path, monkeypatch):
    import subprocess

    config = load_config(tmp_path)
    monkeypatch.setenv("CI_PROJECT_URL", "https://gitlab.example.com/ci/project")
    assert repository_url(config, tmp_path) == "https://gitlab.example.com/ci/project"
    monkeypatch.delenv("CI_PROJECT_URL")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@gitlab.example.com:g/p.git"], check=True)
    assert repository_url(config, tmp_path) == "git@gitlab.example.com:g/p.git"


def test_configured_severity_and_disabling_apply_to_findings(tmp_path):
    ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  annotations:\n    argocd.argoproj.io/sync-wave: "x"\n'
    write_repo(tmp_path, {"ns.yaml": ns, ".wavegate.yaml": "rules: {sync-wave-not-integer: info}\n"})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-not-integer")
    assert finding.severity == Severity.INFO
    write_repo(tmp_path, {".wavegate.yaml": "rules: {sync-wave-not-integer: off}\n"})
    assert with_rule(check_repo(tmp_path), "sync-wave-not-integer") == []
