from wavegate.findings import Severity
from tests.helpers import check_repo, with_rule, write_repo

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source: {repoURL: "https://gitlab.example.com/team/app.git", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
"""


def test_rules_config_cannot_turn_off_or_soften_policy_findings(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": APP, "manifests/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n"})
    [before] = [f for f in with_rule(check_repo(tmp_path), "policy-violation") if "project" in f.message]
    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  policy-violation: off\n  policy-exception-expired: info\n"})
    after = [f for f in with_rule(check_repo(tmp_path), "policy-violation") if "project" in f.message]
    assert after == [before] and before.severity == Severity.ERROR


def test_the_policy_rules_are_declared_not_configurable_and_say_so():
    from wavegate.rules import all_rules

    fixed = {r.id for r in all_rules() if not r.configurable}
    assert fixed == {"policy-violation", "policy-unsupported", "policy-invalid", "policy-exception-applied",
                     "policy-exception-expired", "policy-exception-refused", "policy-exception-unknown-policy",
                     "policy-exception-too-long", "policy-exception-unapproved", "policy-exception-unverified"}
