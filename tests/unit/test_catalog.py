from tests.helpers import check_repo, shared, with_rule, write_repo
from wavegate import kube
from wavegate.load import load

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-cicd
  namespace: argocd
  labels:
    app.kubernetes.io/name: web
spec:
  project: default
  source:
    repoURL: https://gitlab.example.com/team/app.git
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: team-web
  syncPolicy:
    syncOptions: [CreateNamespace=true]
"""
PIPELINE = """
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata:
  name: web-cicd-pipeline
  namespace: team-web
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/component: cicd-pipeline
spec:
  name: web
"""


def catalog(**annotations: str) -> str:
    lines = "".join(f"    {k}: '{v}'\n" for k, v in annotations.items())
    return ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web-cicd-pipeline\n"
            f"  annotations:\n{lines}spec:\n  type: service\n  lifecycle: experimental\n  owner: guest\n")


def repo(tmp_path, path="manifests", **annotations):
    return write_repo(tmp_path, {"catalog-info.yaml": catalog(**annotations), "argocd/app.yaml": APP.format(path=path),
                                 "manifests/pipeline.yaml": PIPELINE})


def test_backstage_entities_are_recognised():
    skeleton = shared("reference/appmod-blueprints/at-fcc75366/platform/backstage/templates/cicd-pipeline/skeleton")
    [entity] = load(skeleton, only=["catalog-info.yaml"]).manifests
    assert kube.is_backstage_entity(entity) and not kube.is_kubernetes_object(entity)


def test_app_name_naming_no_application_suggests_the_closest(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd-app"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-argocd-app-unknown")
    assert (finding.path, finding.line, finding.column) == ("catalog-info.yaml", 6, 22)
    assert "'web-cicd-app'" in finding.message and "web-cicd" in finding.message
    assert finding.hint == "Did you mean argocd/app-name: web-cicd?"


def test_app_name_of_an_application_here_passes(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd", "argocd/app-namespace": "argocd"})
    assert with_rule(check_repo(tmp_path), "catalog-argocd-app-unknown") == []


def test_app_namespace_that_differs_from_the_application(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd", "argocd/app-namespace": "team-web"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-argocd-app-unknown")
    assert "in namespace argocd" in finding.message


def test_app_selector_matching_no_application(tmp_path):
    repo(tmp_path, **{"argocd/app-selector": "app.kubernetes.io/name=shop"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-argocd-app-unknown")
    assert "web-cicd (app.kubernetes.io/name=web)" in finding.message


def test_app_selector_matching_an_application_passes(tmp_path):
    repo(tmp_path, **{"argocd/app-selector": "app.kubernetes.io/name=web"})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "catalog-argocd-app-unknown") == []
    assert with_rule(findings, "catalog-label-selector-invalid") == []


def test_app_selector_that_does_not_parse(tmp_path):
    repo(tmp_path, **{"argocd/app-selector": "app.kubernetes.io/name: web"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-label-selector-invalid")
    assert finding.severity.name == "ERROR" and "is not a label selector" in finding.message


def test_both_app_name_and_selector(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd", "argocd/app-selector": "app.kubernetes.io/name=web"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-argocd-app-name-and-selector")
    assert finding.line == 7


def test_only_one_argocd_annotation_passes(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd"})
    assert with_rule(check_repo(tmp_path), "catalog-argocd-app-name-and-selector") == []


def test_kubernetes_namespace_that_nothing_uses(tmp_path):
    repo(tmp_path, **{"backstage.io/kubernetes-namespace": "team-wbe"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-kubernetes-namespace-unknown")
    assert "'team-wbe'" in finding.message and finding.hint.endswith("team-web?")


def test_kubernetes_namespace_used_by_the_manifests_passes(tmp_path):
    repo(tmp_path, **{"backstage.io/kubernetes-namespace": "team-web"})
    assert with_rule(check_repo(tmp_path), "catalog-kubernetes-namespace-unknown") == []


def test_kubernetes_label_selector_matching_nothing(tmp_path):
    repo(tmp_path, **{"backstage.io/kubernetes-namespace": "team-web",
                      "backstage.io/kubernetes-label-selector": "app.kubernetes.io/name=shop"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-kubernetes-selector-matches-nothing")
    assert "'app.kubernetes.io/name=shop' in namespace team-web" in finding.message


def test_kubernetes_label_selector_matching_the_manifests_passes(tmp_path):
    # the label selector of the origin skeleton's catalog-info.yaml
    repo(tmp_path, **{"backstage.io/kubernetes-namespace": "team-web",
                      "backstage.io/kubernetes-label-selector":
                          "app.kubernetes.io/name=web,app.kubernetes.io/component=cicd-pipeline"})
    assert with_rule(check_repo(tmp_path), "catalog-kubernetes-selector-matches-nothing") == []


def test_kubernetes_id_without_labelled_objects(tmp_path):
    repo(tmp_path, **{"backstage.io/kubernetes-id": "web"})
    [finding] = with_rule(check_repo(tmp_path), "catalog-kubernetes-selector-matches-nothing")
    assert "'backstage.io/kubernetes-id=web'" in finding.message
    assert "backstage.io/kubernetes-id: web" in finding.hint


def test_kubernetes_id_on_a_pod_template_passes(tmp_path):
    deployment = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: team-web\nspec:\n"
                  "  template:\n    metadata:\n      labels:\n        backstage.io/kubernetes-id: web\n")
    repo(tmp_path, **{"backstage.io/kubernetes-id": "web"})
    write_repo(tmp_path, {"manifests/deployment.yaml": deployment})
    assert with_rule(check_repo(tmp_path), "catalog-kubernetes-selector-matches-nothing") == []


def test_entity_in_a_synced_folder(tmp_path):
    repo(tmp_path, path=".", **{"argocd/app-name": "web-cicd"})
    app = (tmp_path / "argocd/app.yaml").read_text()
    (tmp_path / "app.yaml").write_text(app)
    (tmp_path / "argocd/app.yaml").unlink()
    [finding] = with_rule(check_repo(tmp_path), "catalog-entity-synced")
    assert (finding.path, finding.line) == ("catalog-info.yaml", 1)
    assert "directory.exclude: 'catalog-info.yaml'" in finding.hint


def test_entity_outside_synced_folders_passes(tmp_path):
    repo(tmp_path, **{"argocd/app-name": "web-cicd"})
    assert with_rule(check_repo(tmp_path), "catalog-entity-synced") == []


def test_origin_skeleton_placeholders_are_not_judged(tmp_path):
    skeleton = shared("reference/appmod-blueprints/at-7e8ddfab/platform/backstage/templates/cicd-pipeline/skeleton")
    write_repo(tmp_path, {"catalog-info.yaml": (skeleton / "catalog-info.yaml").read_text()})
    findings = check_repo(tmp_path)
    assert [f for f in findings if f.rule.startswith("catalog-")] == []
    # and its argocd.argoproj.io/instance annotation is not Kubernetes tracking metadata
    assert with_rule(findings, "argocd-tracking-label-in-git") == []


def test_label_selector_parser():
    parse = kube.parse_selector
    labels = {"app.kubernetes.io/name": "web", "tier": "backend"}
    assert kube.selector_matches(parse("app.kubernetes.io/name=web,tier in (backend, db),!canary"), labels)
    assert kube.selector_matches(parse("tier==backend, env notin (prod)"), labels)
    assert not kube.selector_matches(parse("tier!=backend"), labels)
    assert not kube.selector_matches(parse("env"), labels)
    for bad in ("app.kubernetes.io/name: web", "a=b=c", "a in ()", "a,,b", "", "-a=b", "a=" + "x" * 64, "a in (b"):
        try:
            parse(bad)
        except kube.SelectorError:
            continue
        raise AssertionError(f"{bad!r} parsed")
