"""The `environments:` block of .wavegate.yaml: its schema and the checks the schema cannot make."""

import pytest

from tests.helpers import write_repo
from wavegate.config import ConfigError, load_config

FOLDERS = {"environments/dev/a.yaml": "", "environments/staging/a.yaml": "", "environments/prod/a.yaml": ""}


def config(tmp_path, text):
    write_repo(tmp_path, {**FOLDERS, ".wavegate.yaml": text})
    return load_config(tmp_path)


def test_environments_are_parsed(tmp_path):
    c = config(tmp_path, """
        environments:
          - {name: dev, path: environments/dev/}
          - name: staging
            path: ./environments/staging
            promoteFrom: dev
            keep: [{group: kro.run, kind: CICDPipeline, jsonPointers: [/spec/aws/accountId], jqPathExpressions: [.spec.x]}]
            gates: {healthy: true, soak: 1h30m, approvals: 2, freeze: [{days: [sat, sun]}, {start: "2026-12-20", end: "2027-01-02T00:00:00Z", reason: holidays}]}
            application: {name: web-staging, namespace: argocd}
    """)
    dev, staging = c.environments
    assert (dev.name, dev.path, dev.promote_from) == ("dev", "environments/dev", None)
    assert (staging.path, staging.promote_from, staging.gates["approvals"]) == ("environments/staging", "dev", 2)
    assert staging.keep[0]["jsonPointers"] == ["/spec/aws/accountId"] and staging.application["name"] == "web-staging"
    assert c.environment("staging") is staging
    with pytest.raises(ConfigError, match="no environment 'qa'.*dev, staging"):
        c.environment("qa")


@pytest.mark.parametrize("text, where, message", [
    ("environments:\n  - {name: dev, path: environments/nope}\n", ":2:", "'environments/nope' is not a directory"),
    ("environments:\n  - {name: dev, path: environments/dev}\n  - name: staging\n    path: environments/staging\n"
     "    promoteFrom: devv\n", ":5:18", "'devv', which is not an environment; did you mean 'dev'?"),
    ("environments:\n  - {name: dev, path: environments/dev, promoteFrom: prod}\n"
     "  - {name: prod, path: environments/prod, promoteFrom: dev}\n", ":2:", "cycle (dev -> prod -> dev)"),
    ("environments:\n  - {name: dev, path: environments/dev, promoteFrom: dev}\n", ":2:", "cycle (dev -> dev)"),
    ("environments:\n  - {name: dev, path: environments/dev}\n  - {name: dev, path: environments/prod}\n", ":3:",
     "defined twice"),
    ("environments:\n  - {name: dev, path: environments/dev, gates: {soak: soon}}\n", ":2:", "does not match"),
    ("environments:\n  - {name: dev, path: environments/dev, gates: {freeze: [{start: 'xmas', end: '2026-12-26'}]}}\n",
     ":2:", "not an ISO 8601 date"),
    ("environments:\n  - {name: dev, path: environments/dev, keep: [{kind: X}]}\n", ":2:", "environments.0.keep.0"),
    ("environments:\n  - {name: dev, path: environments/dev, gates: {healty: true}}\n", ":2:", "did you mean 'healthy'"),
])
def test_environment_errors_name_the_file_and_line(tmp_path, text, where, message):
    write_repo(tmp_path, FOLDERS)
    (tmp_path / ".wavegate.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert f".wavegate.yaml{where}" in str(error.value) and message in str(error.value), str(error.value)


def test_the_environments_skeleton_config_is_valid(tmp_path):
    from tests.helpers import REPO_ROOT

    text = (REPO_ROOT / "templates/backstage/skeleton-environments/.wavegate.yaml").read_text()
    text = text.replace("${{ values.gitlab_hostname }}", "gitlab.example.com").replace("${{ values.git_username }}", "p") \
        .replace("${{ values.appname }}", "web")
    write_repo(tmp_path, FOLDERS)
    (tmp_path / ".wavegate.yaml").write_text(text)
    assert [e.name for e in load_config(tmp_path).environments] == ["dev", "staging", "prod"]
