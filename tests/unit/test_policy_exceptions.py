"""Exceptions in .wavegate.yaml; where policies come from; the policy check inside validate."""

import textwrap

import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.config import ConfigError, load_config
from wavegate.findings import Severity
from wavegate.load import load
from wavegate import pipeline

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  destination: {server: "https://kubernetes.default.svc", namespace: team-web}
"""
ADMIN = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: alice}]
"""


def exception(policy, kind, name, expires="2999-12-31", namespace=None):
    ns = f", namespace: {namespace}" if namespace else ""
    return (f"  - policy: {policy}\n    resource: {{kind: {kind}, name: {name}{ns}}}\n"
            f"    reason: migrating to the team project\n    approvedBy: security@example.com\n    expires: {expires}\n")


def test_an_unexpired_exception_turns_the_violation_into_info(tmp_path):
    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web", namespace="argocd")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "policy-violation") == []
    [applied] = with_rule(findings, "policy-exception-applied")
    assert applied.severity == Severity.INFO and "exceptions[0]" in applied.message
    assert "security@example.com" in applied.message and applied.line == 8


def test_an_exception_for_another_resource_does_not_apply(tmp_path):
    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "shop")})
    assert len(with_rule(check_repo(tmp_path), "policy-violation")) == 1


def test_an_expired_exception_is_an_error_and_does_not_apply(tmp_path):
    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web", expires="2020-01-31")})
    findings = check_repo(tmp_path)
    assert len(with_rule(findings, "policy-violation")) == 1
    [expired] = with_rule(findings, "policy-exception-expired")
    assert expired.severity == Severity.ERROR and expired.path == ".wavegate.yaml" and expired.line == 6
    assert "expired on 2020-01-31" in expired.message


def test_a_non_exceptable_policy_refuses_exceptions(tmp_path):
    write_repo(tmp_path, {"rbac.yaml": ADMIN, ".wavegate.yaml": "exceptions:\n" + exception(
        "no-cluster-admin-binding", "ClusterRoleBinding", "web-admin")})
    findings = check_repo(tmp_path)
    [violation] = with_rule(findings, "policy-violation")
    assert violation.message.startswith("no-cluster-admin-binding: ")
    [refused] = with_rule(findings, "policy-exception-refused")
    assert "non-exceptable" in refused.message and refused.path == ".wavegate.yaml"


def test_an_exception_for_an_unknown_policy_is_a_warning(tmp_path):
    write_repo(tmp_path, {"app.yaml": APP.replace("project: default", "project: web"),
                          ".wavegate.yaml": "exceptions:\n" + exception("no-such-policy", "Application", "web")})
    [unknown] = with_rule(check_repo(tmp_path), "policy-exception-unknown-policy")
    assert unknown.severity == Severity.WARNING and "no-such-policy" in unknown.message


@pytest.mark.parametrize("entry, message", [
    ("  - {policy: p, resource: {kind: A, name: b}, reason: r, approvedBy: me}\n", "expires"),
    ("  - {policy: p, resource: {kind: A, name: b}, reason: r, approvedBy: me, expires: soon}\n", "does not match"),
    ("  - {policy: p, resource: {kind: A}, reason: r, approvedBy: me, expires: 2030-01-01}\n", "name"),
    ("  - {policy: p, resource: {kind: A, name: b}, reason: r, approvedBy: me, expires: 2030-01-01, extra: 1}\n",
     "unknown key"),
])
def test_exceptions_are_schema_checked(tmp_path, entry, message):
    write_repo(tmp_path, {".wavegate.yaml": "exceptions:\n" + entry})
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_policies_in_the_repository_are_not_used_unless_configured(tmp_path):
    lax = textwrap.dedent("""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicy
        metadata: {name: everything-fails}
        spec:
          matchConstraints:
            resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}]
          validations: [{expression: "false", message: local policy}]
        ---
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicyBinding
        metadata: {name: everything-fails}
        spec: {policyName: everything-fails, validationActions: [Deny]}
        """)
    write_repo(tmp_path, {"app.yaml": APP, "policies/local.yaml": lax})
    messages = [f.message for f in with_rule(check_repo(tmp_path), "policy-violation")]
    assert messages and not any("local policy" in m for m in messages)  # the defaults ran, not the local file
    write_repo(tmp_path, {".wavegate.yaml": "policies: policies\n"})
    messages = [f.message for f in with_rule(check_repo(tmp_path), "policy-violation")]
    assert messages and all(m.startswith("everything-fails: local policy") for m in messages)


def test_a_policy_set_on_the_context_wins_over_the_configuration(tmp_path):
    from wavegate.policy import load_policies

    empty = write_repo(tmp_path / "central", {"README.md": "no policies\n"})
    write_repo(tmp_path / "repo", {"app.yaml": APP})
    assert not load_policies(empty).policies
    run = pipeline.validate(pipeline.Options(root=tmp_path / "repo", policies=empty))
    assert with_rule(run.findings, "policy-violation") == []


def test_a_configured_policy_directory_that_does_not_exist_is_a_finding(tmp_path):
    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "policies: ../nowhere\n"})
    [finding] = with_rule(check_repo(tmp_path), "policy-invalid")
    assert finding.path == ".wavegate.yaml" and "no such policy directory" in finding.message
