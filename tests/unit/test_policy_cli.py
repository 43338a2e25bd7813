"""`wavegate policy test`: table, JUnit, exit codes."""

import argparse
import xml.etree.ElementTree as ET

from tests.helpers import write_repo
from wavegate.policy import builtin_policy_dir, cli

POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-default}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [argoproj.io], apiVersions: ["*"], operations: [CREATE], resources: [applications]}]
  validations:
    - expression: "object.spec.project != 'default'"
      message: no default project
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-default}
spec: {policyName: no-default, validationActions: [Deny]}
"""
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations: {wavegate.dev/expect-message: %s}
spec: {project: %s}
"""


def main(*argv):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_default_policies_pass_their_tests(capsys):
    assert main("policy", "test", str(builtin_policy_dir())) == 0
    assert "0 failed, 9 policies" in capsys.readouterr().out


def test_a_mismatch_fails_and_junit_names_it(tmp_path, capsys):
    write_repo(tmp_path, {
        "policy.yaml": POLICY,
        "fixtures/no-default/pass/ok.yaml": APP % ("''", "web"),
        "fixtures/no-default/fail/default.yaml": APP % ("'no default project'", "default"),
        "fixtures/no-default/fail/wrong-message.yaml": APP % ("'something else'", "default"),
        "fixtures/no-default/fail/passes.yaml": APP % ("''", "web"),
    })
    assert main("policy", "test", str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "1 passed" not in out and "2 passed, 2 failed" in out
    assert "expected a violation, got none" in out and "expected a message containing 'something else'" in out
    report = tmp_path / "out" / "junit.xml"
    assert main("policy", "test", str(tmp_path), "--format", "junit", "--output", str(report)) == 1
    root = ET.parse(report).getroot()
    assert root.get("tests") == "4" and root.get("failures") == "2"
    failed = [case.get("name") for case in root.iter("testcase") if case.find("failure") is not None]
    assert sorted(failed) == ["no-default fail passes.yaml", "no-default fail wrong-message.yaml"]


def test_missing_fixtures_fail(tmp_path, capsys):
    write_repo(tmp_path, {"policy.yaml": POLICY})
    assert main("policy", "test", str(tmp_path)) == 1
    assert "no fixtures in fixtures/no-default/pass/" in capsys.readouterr().out


def test_not_a_directory_is_a_usage_error(tmp_path, capsys):
    assert main("policy", "test", str(tmp_path / "nothing")) == 2
