import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate import pipeline
from wavegate.config import ConfigError, from_data, load_config
from wavegate.findings import Severity

REPO_URL = "https://gitlab.example.com/team/app.git"

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
    assert before.severity == Severity.ERROR
    # The configuration is refused, naming the key, rather than silently ignored.
    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  sync-wave-not-integer: info\n  policy-violation: off\n"})
    with pytest.raises(ConfigError, match=r"\.wavegate\.yaml:3:3: rules: policy-violation cannot be changed or turned off"):
        load_config(tmp_path)
    # Even where the check is bypassed (a Config built by hand), the pipeline keeps policy severities.
    (tmp_path / ".wavegate.yaml").unlink()
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=tmp_path, repo_url=REPO_URL)))
    run.config = from_data({"rules": {"policy-violation": "off", "policy-exception-expired": "info"}})
    after = [f for f in with_rule(pipeline.finish(run, pipeline.check(run)), "policy-violation")
             if "project" in f.message]
    assert after == [before]


def test_the_policy_rules_are_declared_not_configurable_and_say_so():
    from wavegate.rules import all_rules

    fixed = {r.id for r in all_rules() if not r.configurable}
    assert fixed == {"policy-violation", "policy-unsupported", "policy-invalid", "policy-exception-applied",
                     "policy-exception-expired", "policy-exception-refused", "policy-exception-unknown-policy",
                     "policy-exception-too-long", "policy-exception-unapproved", "policy-exception-unverified"}
