"""target-revision-floating: Applications of a protected environment must pin their revision."""

import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.argocd.application import floating_revision, is_constraint

CONFIG = """\
environments:
  - {name: staging, path: environments/staging}
  - {name: prod, path: environments/prod, promoteFrom: staging, protected: true}
"""
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-{env}
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: web
  source:
    repoURL: https://gitlab.example.com/team/web.git
    path: environments/{env}
    {revision}
  destination: {{server: "https://kubernetes.default.svc", namespace: web-{env}}}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web, namespace: web-{env}}}\ndata: {{a: b}}\n"


def repository(tmp_path, prod_revision, staging_revision="targetRevision: main", config=CONFIG):
    return write_repo(tmp_path, {
        ".wavegate.yaml": config,
        "argocd/staging.yaml": APP.format(env="staging", revision=staging_revision),
        "argocd/prod.yaml": APP.format(env="prod", revision=prod_revision),
        "environments/staging/cm.yaml": CONFIGMAP.format(env="staging"),
        "environments/prod/cm.yaml": CONFIGMAP.format(env="prod"),
    })


@pytest.mark.parametrize("revision, says", [
    ("targetRevision: main", "targetRevision 'main' names a branch (or a tag that is not a version), which moves"),
    ("targetRevision: HEAD", "targetRevision HEAD follows the newest commit of the default branch"),
    ("targetRevision: '1.2.*'", "targetRevision '1.2.*' is a range: it follows the newest matching tag"),
    ("targetRevision: '>=1.0, <2.0'", "is a range"),
    ("", "no targetRevision follows the newest commit of the default branch"),
])
def test_a_moving_revision_in_a_protected_environment_is_an_error_at_the_revision(tmp_path, revision, says):
    repository(tmp_path, revision)
    [finding] = with_rule(check_repo(tmp_path), "target-revision-floating")
    assert finding.path == "argocd/prod.yaml" and finding.severity.name == "ERROR"
    assert finding.message.startswith("Application web-prod is in the protected environment 'prod', and its source "
                                      "'https://gitlab.example.com/team/web.git': ") and says in finding.message
    line = (tmp_path / "argocd/prod.yaml").read_text().splitlines()[finding.line - 1].strip()
    assert line.startswith("targetRevision:") if revision else line == "source:"


@pytest.mark.parametrize("revision", ["targetRevision: v1.4.2", "targetRevision: 1.4.2",
                                      "targetRevision: 3f2a1b9c0d", "targetRevision: 1.4.2-rc.1"])
def test_a_pinned_revision_passes_and_other_environments_are_not_checked(tmp_path, revision):
    repository(tmp_path, revision, staging_revision="targetRevision: HEAD")  # staging follows HEAD: fine there
    assert with_rule(check_repo(tmp_path), "target-revision-floating") == []


def test_off_without_a_protected_environment(tmp_path):
    repository(tmp_path, "targetRevision: main", config=CONFIG.replace(", protected: true", ""))
    assert with_rule(check_repo(tmp_path), "target-revision-floating") == []


def test_applications_in_the_environments_folder_and_chart_sources_belong_to_it(tmp_path):
    child = APP.format(env="prod", revision="targetRevision: v1.0.0").replace("web-prod", "metrics") + (
        "  sources:\n    - {repoURL: https://charts.example.com, chart: metrics, targetRevision: 4.x}\n"
        "    - {repoURL: https://charts.example.com, chart: logs, targetRevision: 2.3.1}\n")
    repository(tmp_path, "targetRevision: v2.0.0")
    write_repo(tmp_path, {"environments/prod/metrics-app.yaml": child})
    [finding] = with_rule(check_repo(tmp_path), "target-revision-floating")
    assert finding.path == "environments/prod/metrics-app.yaml"
    assert "targetRevision '4.x' is a range: it follows the newest matching chart version" in finding.message


def test_constraints_and_versions_as_argo_cd_tells_them_apart():
    assert [is_constraint(r) for r in ("*", "1.2.*", "^1.2", "~1.2.3", "1.x", "1.2 - 1.4", ">= 1.2, < 2.0",
                                       "1.2.3 || 2.x")] == [True] * 8
    assert [is_constraint(r) for r in ("1.2.3", "v1.2", "main", "release-1.2", "")] == [False] * 5
    assert floating_revision({"targetRevision": "{{values.revision}}"}) is None  # an ApplicationSet template
    assert floating_revision({"chart": "x", "targetRevision": "latest"}) == "targetRevision 'latest' is not a chart version"
