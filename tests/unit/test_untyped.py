from wavegate.findings import Severity
from tests.helpers import check_repo, with_rule, write_repo

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: web
  source: {repoURL: "https://gitlab.example.com/team/app.git", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
"""


def test_untyped_document_in_a_synced_folder_is_an_error(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/values.yaml": "replicas: 3\n"})
    [finding] = with_rule(check_repo(tmp_path), "yaml-not-a-resource")
    assert finding.severity == Severity.ERROR and finding.path == "manifests/values.yaml"
    assert "apiVersion, kind, metadata.name" in finding.message


def test_untyped_document_outside_synced_folders_is_only_information(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "docs/mkdocs.yml": "site_name: web\n"})
    [finding] = with_rule(check_repo(tmp_path), "yaml-not-a-resource")
    assert finding.severity == Severity.INFO and "no Application syncs this file" in finding.message


def test_without_applications_every_untyped_document_is_an_error(tmp_path):
    write_repo(tmp_path, {"values.yaml": "replicas: 3\n"})
    [finding] = with_rule(check_repo(tmp_path), "yaml-not-a-resource")
    assert finding.severity == Severity.ERROR
