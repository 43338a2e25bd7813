"""Documents Argo CD cannot apply, judged as Argo CD's directory rendering judges them."""

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.findings import Severity

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: web
  source: {repoURL: "https://gitlab.example.com/team/app.git", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
"""
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: web}\ndata: {mode: fast}\n"


def test_a_document_with_a_kind_but_no_api_version_is_an_error_where_it_is_synced(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/cm.yaml": "kind: ConfigMap\nmetadata: {name: x}\n"})
    [finding] = with_rule(check_repo(tmp_path), "yaml-not-a-resource")
    assert finding.severity == Severity.ERROR and finding.path == "manifests/cm.yaml"
    assert "has no apiVersion" in finding.message


def test_a_values_file_in_a_synced_folder_is_skipped_by_argo_cd_and_not_reported(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/values.yaml": "replicas: 3\n",
                          "manifests/cm.yaml": CONFIG_MAP})
    assert [f for f in check_repo(tmp_path) if f.path == "manifests/values.yaml"] == []


def test_a_document_without_kind_after_an_object_fails_the_whole_render(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/cm.yaml": CONFIG_MAP + "---\nreplicas: 3\n"})
    [finding] = with_rule(check_repo(tmp_path), "render-failed")
    assert finding.severity == Severity.ERROR and (finding.path, finding.line) == ("manifests/cm.yaml", 6)
    assert "document 2 has no kind" in finding.message and finding.application == "web"


def test_a_manifest_that_lost_its_kind_line_is_skipped_silently_by_argo_cd_so_it_is_a_warning(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP,
                          "manifests/cm.yaml": "apiVersion: v1\nmetadata: {name: settings}\ndata: {a: b}\n"})
    [finding] = with_rule(check_repo(tmp_path), "render-file-skipped")
    assert finding.severity == Severity.WARNING and finding.path == "manifests/cm.yaml"
    assert "apiVersion:, metadata:" in finding.message


def test_a_manifest_without_kind_that_looks_like_one_fails_the_render(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP,
                          "manifests/cm.yaml": "apiVersion: v1\nmetadata: {name: settings}\n# kind: ConfigMap\n"})
    [finding] = with_rule(check_repo(tmp_path), "render-failed")
    assert "Argo CD cannot decode manifests/cm.yaml" in finding.message


def test_untyped_document_outside_synced_folders_is_only_information(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/cm.yaml": CONFIG_MAP,
                          "docs/extra.yaml": "kind: ConfigMap\nmetadata: {name: x}\n"})
    [finding] = with_rule(check_repo(tmp_path), "yaml-not-a-resource")
    assert finding.severity == Severity.INFO and "no Application syncs this file" in finding.message


def test_a_file_that_is_not_a_manifest_outside_synced_folders_gets_no_finding(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/cm.yaml": CONFIG_MAP, "docs/mkdocs.yml": "site_name: web\n"})
    assert [f for f in check_repo(tmp_path) if f.path == "docs/mkdocs.yml"] == []


def test_without_applications_each_folder_is_read_as_an_application_would_read_it(tmp_path):
    write_repo(tmp_path, {"values.yaml": "replicas: 3\n", "cm.yaml": "kind: ConfigMap\nmetadata: {name: x}\n"})
    findings = check_repo(tmp_path)
    assert [f.path for f in with_rule(findings, "yaml-not-a-resource")] == ["cm.yaml"]
    assert with_rule(findings, "yaml-not-a-resource")[0].severity == Severity.ERROR
    assert [f for f in findings if f.path == "values.yaml"] == []


LOST_KIND = "apiVersion: v1\nmetadata: {name: settings}\ndata: {a: b}\n"


def test_a_skipped_file_two_applications_read_is_reported_once_in_the_first(tmp_path):
    other = APP.replace("name: web, namespace: argocd", "name: zz-web, namespace: argocd")
    write_repo(tmp_path, {"argocd/app.yaml": APP, "argocd/other.yaml": other, "manifests/cm.yaml": LOST_KIND,
                          "manifests/ok.yaml": CONFIG_MAP})
    [finding] = with_rule(check_repo(tmp_path), "render-file-skipped")
    assert finding.severity == Severity.WARNING and finding.path == "manifests/cm.yaml"

