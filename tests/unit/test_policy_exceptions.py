"""Exceptions in .wavegate.yaml and in the policy set; where policies come from; the policy check
inside validate. Approvals in merge requests: test_policy_exception_approval.py."""

import datetime
import textwrap

import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate import pipeline
from wavegate.config import ConfigError, load_config
from wavegate.findings import Severity

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


def in_a_month() -> str:
    """Thirty days from today, worked out when asked (a test that runs past midnight would
    otherwise count 29)."""
    return (datetime.date.today() + datetime.timedelta(days=30)).isoformat()


def exception(policy, kind, name, expires=None, namespace=None):
    expires = expires or in_a_month()
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
    # Outside a merge-request pipeline nobody checked the approval, and that is said.
    [unverified] = with_rule(findings, "policy-exception-unverified")
    assert unverified.severity == Severity.INFO and unverified.path == ".wavegate.yaml" and unverified.line == 5
    assert "not checked" in unverified.message


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
    assert expired.message == (".wavegate.yaml exceptions[0] for policy 'application-project-not-default' on "
                               "Application web ('migrating to the team project', approved by security@example.com) "
                               "expired on 2020-01-31; it no longer applies")


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


@pytest.mark.parametrize("date", ["2020-02-30", "0000-00-00", "2020-13-45", "9999-99-99"])
def test_a_date_that_does_not_exist_is_a_configuration_error_at_its_line(tmp_path, date):
    write_repo(tmp_path, {".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web", expires=f'"{date}"')})
    with pytest.raises(ConfigError, match=rf"\.wavegate\.yaml:6:14: exceptions\[0\]\.expires '{date}' is not a date "
                                          r"that exists; write .* YYYY-MM-DD"):
        load_config(tmp_path)


def test_the_cli_exits_2_on_an_impossible_date(tmp_path, capsys):
    from wavegate.cli import main

    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web", expires="2020-02-30")})
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".wavegate.yaml:6:14:" in err and "2020-02-30" in err


def test_an_exception_longer_than_the_policy_set_allows_is_an_error_and_does_not_apply(tmp_path):
    far = (datetime.date.today() + datetime.timedelta(days=91)).isoformat()
    write_repo(tmp_path, {"app.yaml": APP, ".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web", expires=far)})
    findings = check_repo(tmp_path)
    assert len(with_rule(findings, "policy-violation")) == 1
    [long] = with_rule(findings, "policy-exception-too-long")
    assert long.severity == Severity.ERROR and long.line == 6
    assert "91 days from today; the policy set allows at most 90 days" in long.message
    write_repo(tmp_path, {".wavegate.yaml": "exceptions:\n" + exception(
        "application-project-not-default", "Application", "web",
        expires=(datetime.date.today() + datetime.timedelta(days=90)).isoformat())})
    assert with_rule(check_repo(tmp_path), "policy-exception-too-long") == []


POLICY_SET = """\
apiVersion: wavegate.dev/v1
kind: PolicySet
metadata: {{name: central}}
spec:
  exceptions:
    approvers: platform/security
    maxLifetimeDays: {days}
    granted:
{granted}
"""


def central(tmp_path, days=30, granted="      []"):
    """A central policy directory: the default policies and a PolicySet."""
    import shutil

    from wavegate.policy import builtin_policy_dir

    directory = tmp_path / "central"
    shutil.copytree(builtin_policy_dir(), directory, ignore=shutil.ignore_patterns("fixtures", "policy-set.yaml"))
    (directory / "policy-set.yaml").write_text(POLICY_SET.format(days=days, granted=granted))
    return directory


def test_the_maximum_lifetime_comes_from_the_policy_set(tmp_path):
    directory = central(tmp_path, days=7)
    write_repo(tmp_path / "repo", {"app.yaml": APP, ".wavegate.yaml": f"policies: {directory}\nexceptions:\n" + exception(
        "application-project-not-default", "Application", "web")})
    [long] = with_rule(check_repo(tmp_path / "repo"), "policy-exception-too-long")
    assert "30 days from today; the policy set allows at most 7 days" in long.message


def test_exceptions_granted_in_the_policy_set_count_without_an_approval(tmp_path):
    granted = ("      - policy: application-project-not-default\n"
               "        resource: {kind: Application, namespace: argocd, name: web}\n"
               "        reason: platform bootstrap\n        approvedBy: security@example.com\n"
               f"        expires: '{(datetime.date.today() + datetime.timedelta(days=400)).isoformat()}'\n"
               "      - policy: application-resources-finalizer\n"
               "        repository: team/other\n        resource: {kind: Application, name: web}\n"
               "        reason: r\n        approvedBy: security@example.com\n        expires: '2999-01-01'\n")
    directory = central(tmp_path, granted=granted)
    write_repo(tmp_path / "repo", {"app.yaml": APP.replace("  finalizers: [resources-finalizer.argocd.argoproj.io]\n", ""),
                                   ".wavegate.yaml": f"policies: {directory}\n"})
    findings = check_repo(tmp_path / "repo")
    [applied] = with_rule(findings, "policy-exception-applied")
    assert "excepted by the policy set's granted exception 0 ('platform bootstrap'" in applied.message
    assert with_rule(findings, "policy-exception-unverified") == []  # no merge request needs approving it
    # The second is for another repository (team/other): the finalizer violation stays.
    [violation] = with_rule(findings, "policy-violation")
    assert violation.message.startswith("application-resources-finalizer")


def test_an_expired_central_exception_points_into_the_policy_set(tmp_path):
    granted = ("      - policy: application-project-not-default\n"
               "        resource: {kind: Application, name: web}\n"
               "        reason: platform bootstrap\n        approvedBy: security@example.com\n"
               "        expires: '2021-06-30'\n")
    directory = central(tmp_path, granted=granted)
    write_repo(tmp_path / "repo", {"app.yaml": APP, ".wavegate.yaml": f"policies: {directory}\n"})
    findings = check_repo(tmp_path / "repo")
    assert len(with_rule(findings, "policy-violation")) == 1
    [expired] = with_rule(findings, "policy-exception-expired")
    assert expired.path.endswith("policy-set.yaml") and expired.line == 13 and "expired on 2021-06-30" in expired.message


@pytest.mark.parametrize("spec, message", [
    ("  exceptions: {approvers: 'not a group!'}\n", "spec.exceptions.approvers"),
    ("  exceptions: {maxLifetimeDays: 0}\n", "spec.exceptions.maxLifetimeDays"),
    ("  exceptions: {granted: [{policy: p, resource: {kind: A, name: b}, reason: r, approvedBy: me, "
     "expires: '2020-02-30'}]}\n", "a date that does not exist"),
    ("  exception: {}\n", "unknown key 'exception' at spec; did you mean 'exceptions'?"),
])
def test_a_malformed_policy_set_is_a_policy_finding_at_its_line(tmp_path, spec, message):
    from wavegate.policy import load_policies

    write_repo(tmp_path, {"set.yaml": "apiVersion: wavegate.dev/v1\nkind: PolicySet\nmetadata: {name: s}\nspec:\n" + spec})
    [problem] = [p for p in load_policies(tmp_path).problems if p.rule == "policy-invalid" and "PolicySet" in p.message]
    assert message in problem.message and problem.line == 5
