"""The default policies shipped inside wavegate: their fixtures, the examples, the real AppProject."""

import re
import shutil
import textwrap

from tests.helpers import EXAMPLES, check_repo, shared, with_rule, write_repo
from wavegate.load import parse_documents
from wavegate.policy import builtin_policy_dir, evaluate, load_policies, test_runner
from wavegate.policy.evaluate import Environment
from wavegate.policy.model import expressions

TEMPLATE = ("reference", "appmod-blueprints", "at-7e8ddfab", "platform", "backstage", "templates", "cicd-pipeline",
            "template-cicd-pipeline-gitops.yaml")


def test_default_policies_load_cleanly():
    policies = load_policies(None)
    assert policies.problems == []
    assert set(policies.policies) == {
        "application-project-not-default", "application-resources-finalizer", "appproject-no-cluster-wide-resources",
        "appproject-restricted-destinations", "appproject-source-repos-not-wildcard", "cicdpipeline-allowed-region",
        "no-cluster-admin-binding", "pod-security-baseline", "pod-security-restricted"}
    assert policies.policies["no-cluster-admin-binding"].non_exceptable


def test_every_expression_of_the_default_policies_compiles(tmp_path):
    """load_policies(None) leaves compiling the defaults to their first evaluation, so a repository
    without Pods never compiles the Pod Security expressions. This is the compile it leaves out: the
    same files, loaded as any other policy directory, where every expression is compiled at once."""
    copy = tmp_path / "policies"
    shutil.copytree(builtin_policy_dir(), copy)
    checked = load_policies(copy)
    assert checked.problems == []
    assert set(checked.policies) == set(load_policies(None).policies)
    assert sum(len(list(expressions(policy))) for policy in checked.policies.values()) >= 100


def test_a_policy_directory_given_is_compiled_when_loaded(tmp_path):
    copy = tmp_path / "policies"
    shutil.copytree(builtin_policy_dir(), copy, ignore=shutil.ignore_patterns("fixtures"))
    policy = copy / "pod-security-baseline.yaml"
    policy.write_text(policy.read_text().replace("expression: >-\n", "expression: >-\n        ) ||\n", 1))
    problems = load_policies(copy).problems
    assert [(p.rule, p.path) for p in problems] == [("policy-invalid", f"{copy}/pod-security-baseline.yaml")]
    assert "does not compile" in problems[0].message


def test_every_default_policy_passes_its_own_fixtures():
    _, cases = test_runner.run(builtin_policy_dir())
    failing = [(c.name, c.detail) for c in cases if not c.ok]
    assert failing == []
    for name in load_policies(None).policies:
        assert {c.expected for c in cases if c.policy == name} == {"pass", "fail"}


def _real_app_project() -> str:
    text = shared(*TEMPLATE).read_text()
    step = text[text.index("id: create-argocd-project"):]
    block = step[step.index("manifest: |") + len("manifest: |\n"):]
    lines = []
    for line in block.splitlines():
        if line.strip() and not line.startswith(" " * 10):
            break
        lines.append(line)
    manifest = textwrap.dedent("\n".join(lines))
    return re.sub(r"\$\{\{[^}]*\}\}", "web", manifest)  # Backstage placeholders, as a rendered repository has them


def test_the_real_app_project_of_the_backstage_template_is_caught():
    found, problems = parse_documents("project.yaml", _real_app_project())
    assert not problems and found[0].kind == "AppProject"
    policies = load_policies(None)
    violations = evaluate(policies, found, Environment.of(found))
    by_policy = {v.policy: v for v in violations}
    assert set(by_policy) == {"appproject-no-cluster-wide-resources", "appproject-restricted-destinations"}
    assert "allows destinations in namespace(s) argocd;" in by_policy["appproject-restricted-destinations"].message
    assert by_policy["appproject-no-cluster-wide-resources"].server_message.startswith(
        "ValidatingAdmissionPolicy 'appproject-no-cluster-wide-resources' with binding "
        "'appproject-no-cluster-wide-resources' denied request: AppProject web-project allows every cluster-scoped")
    # Pointed at the offending fields.
    assert by_policy["appproject-no-cluster-wide-resources"].field == ("spec", "clusterResourceWhitelist")
    assert by_policy["appproject-restricted-destinations"].field == ("spec", "destinations")


def test_the_fleet_bootstrap_projects_are_caught_too():
    path = shared("reference", "appmod-blueprints", "at-fcc75366", "gitops", "fleet", "bootstrap", "appprojects.yaml")
    found, _ = parse_documents("appprojects.yaml", path.read_text())
    violations = evaluate(load_policies(None), found, Environment.of(found))
    assert {(v.manifest.name, v.policy) for v in violations} >= {
        ("platform", "appproject-no-cluster-wide-resources"), ("platform", "appproject-source-repos-not-wildcard"),
        ("platform", "appproject-restricted-destinations"), ("spoke-workloads", "appproject-source-repos-not-wildcard")}


def test_validate_reports_default_policy_violations_at_the_offending_line(tmp_path):
    write_repo(tmp_path, {"project.yaml": _real_app_project()})
    findings = with_rule(check_repo(tmp_path), "policy-violation")
    lines = {f.message.split(":")[0]: f.line for f in findings}
    text = _real_app_project().splitlines()
    assert text[lines["appproject-no-cluster-wide-resources"] - 1].strip() == "clusterResourceWhitelist:"
    assert text[lines["appproject-restricted-destinations"] - 1].strip() == "destinations:"


def test_clean_example_passes_every_default_policy():
    findings = check_repo(EXAMPLES / "clean")
    assert [f for f in findings if f.rule.startswith("policy")] == []


def test_defects_example_violates_default_policies():
    findings = with_rule(check_repo(EXAMPLES / "defects"), "policy-violation")
    assert {f.message.split(":")[0] for f in findings} >= {"application-project-not-default",
                                                           "application-resources-finalizer"}
