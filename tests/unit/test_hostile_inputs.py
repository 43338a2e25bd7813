"""Odd values in manifests end in a finding at their line that says what is wrong, never an internal error."""

import pytest

from tests.helpers import check_repo, with_rule, write_repo

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: default
  annotations:
    argocd.argoproj.io/sync-wave: {wave}
"""


def internal_errors(findings):
    return [f for f in findings if f.rule == "internal-error"]


@pytest.mark.parametrize("wave", ["9" * 5000, '"' + "9" * 5000 + '"', '"-' + "0" * 30 + '1"', '"99999999999999999999"'])
def test_a_sync_wave_of_absurd_length_is_not_an_integer_at_its_line(tmp_path, wave):
    write_repo(tmp_path, {"cm.yaml": CONFIG_MAP.format(wave=wave)})
    findings = check_repo(tmp_path)
    assert internal_errors(findings) == []
    if wave.startswith('"-'):  # leading zeros do not make a number long: Atoi reads -1
        assert with_rule(findings, "sync-wave-not-integer") == []
        return
    [finding] = with_rule(findings, "sync-wave-not-integer")
    assert (finding.line, finding.column) == (7, 35)
    assert len(finding.message) < 200


def test_a_null_sync_wave_says_what_kubernetes_stores(tmp_path):
    write_repo(tmp_path, {"cm.yaml": CONFIG_MAP.format(wave="null")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-not-integer")
    assert finding.line == 7
    assert 'stores it as the empty string ""' in finding.message and "wave 0" in finding.message
    assert "None" not in finding.message + finding.hint


def test_a_name_that_is_not_a_string_is_named_as_such_at_its_line(tmp_path):
    write_repo(tmp_path, {"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: 123\n",
                          "cm.yaml": "apiVersion: v1\nkind: 7\nmetadata:\n  name: ''\n"})
    findings = check_repo(tmp_path)
    found = {f.path: f for f in with_rule(findings, "yaml-not-a-resource")}
    assert found["ns.yaml"].message == "document 1 has metadata.name 123, a number, where Kubernetes needs a string"
    assert (found["ns.yaml"].line, found["ns.yaml"].column) == (4, 9) and 'name: "123"' in found["ns.yaml"].hint
    # A kind that is not a string cannot even be decoded: Argo CD fails to render the folder.
    [failed] = with_rule(findings, "render-failed")
    assert failed.path == "cm.yaml" and "document 1 has kind 7, a number, where Kubernetes needs a string" in \
        failed.message


@pytest.mark.parametrize("files", [
    {"app.json": '{"name": "web"}\n', "README.md": "# app\n"},
    {"values.yaml": "", "notes.yml": "# only a comment\n"},
    {},
])
def test_a_folder_with_no_manifest_wavegate_can_read_warns_that_nothing_was_checked(tmp_path, files):
    write_repo(tmp_path, files)
    [finding] = check_repo(tmp_path)
    assert (finding.rule, finding.severity.name, finding.path) == ("nothing-checked", "WARNING", ".")
    assert finding.message.startswith("nothing was checked: no file here holds a manifest wavegate could read")


def test_one_readable_document_is_enough_to_not_warn(tmp_path):
    write_repo(tmp_path, {"main.jsonnet": "{}\n", "values.yaml": "replicas: 3\n"})
    assert with_rule(check_repo(tmp_path), "nothing-checked") == []


def test_an_application_path_too_long_for_the_system_is_a_missing_path(tmp_path):
    # Found by tests/property: os-level "File name too long" was an internal error of the check.
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: team
  source: {repoURL: "https://gitlab.example.com/team/app.git", path: "%s", targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
""" % ("9" * 5000)
    write_repo(tmp_path, {"argocd/app.yaml": app})
    findings = check_repo(tmp_path)
    assert internal_errors(findings) == []
    [missing] = with_rule(findings, "application-path-missing")
    assert "does not exist in this repository" in missing.message


def test_a_policies_path_too_long_for_the_system_is_a_finding_not_an_internal_error(tmp_path):
    # Found by tests/property.
    write_repo(tmp_path, {"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
                          ".wavegate.yaml": f"policies: '{'9' * 5000}'\n"})
    findings = check_repo(tmp_path)
    assert internal_errors(findings) == []
    [invalid] = with_rule(findings, "policy-invalid")
    assert "no such policy directory" in invalid.message


def test_a_folder_holding_only_jsonnet_is_rendered_and_checked(tmp_path):
    write_repo(tmp_path, {"main.jsonnet": "{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Web' } }\n"})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "nothing-checked") == []
    assert [f.path for f in findings if f.severity.name == "ERROR"] == ["main.jsonnet"]  # the name is invalid
