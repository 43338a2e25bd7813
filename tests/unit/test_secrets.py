"""secret-in-git: a Secret with data or stringData in what Argo CD syncs."""

import pytest

from tests.helpers import check_repo, with_rule, write_repo

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: web
  source: {repoURL: "https://gitlab.example.com/team/app.git", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: team-web}
"""


def secret(body: str, name: str = "db") -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: team-web}}\n{body}"


@pytest.mark.parametrize("body, key", [
    ("stringData:\n  password: hunter2\n", "stringData"),
    ("data:\n  password: aHVudGVyMg==\n", "data"),
    ("type: kubernetes.io/service-account-token\ndata:\n  token: dG9rZW4=\n", "data"),  # a token written in Git
])
def test_a_secret_with_values_that_an_application_syncs_is_a_warning_at_the_values(tmp_path, body, key):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/secret.yaml": secret(body)})
    [finding] = with_rule(check_repo(tmp_path), "secret-in-git")
    assert finding.severity.name == "WARNING" and finding.path == "manifests/secret.yaml"
    lines = (tmp_path / "manifests/secret.yaml").read_text().splitlines()
    assert lines[finding.line - 1].startswith(f"{key}:")
    assert finding.message.startswith(f"Secret db has {key} (") and "Application web syncs it" in finding.message
    assert "ExternalSecret" in finding.hint and "SealedSecret" in finding.hint


@pytest.mark.parametrize("files", [
    {"manifests/secret.yaml": secret("type: kubernetes.io/service-account-token\n")},  # the cluster fills it in
    {"manifests/secret.yaml": secret("data: {}\n")},
    {"docs/example-secret.yaml": secret("stringData:\n  password: example\n")},  # no Application syncs docs/
])
def test_token_requests_empty_secrets_and_unsynced_paths_pass(tmp_path, files):
    write_repo(tmp_path, {"argocd/app.yaml": APP, **files})
    assert with_rule(check_repo(tmp_path), "secret-in-git") == []


def test_without_applications_every_secret_counts(tmp_path):
    write_repo(tmp_path, {"secret.yaml": secret("stringData:\n  password: hunter2\n")})
    [finding] = with_rule(check_repo(tmp_path), "secret-in-git")
    assert "it is in the repository Argo CD syncs" in finding.message
