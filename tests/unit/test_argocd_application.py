from tests.helpers import check_repo, with_rule, write_repo

THIS_REPO = "https://gitlab.example.com/team/app.git"


def app(path="manifests", repo_url=THIS_REPO, namespace="team-web", options="[]", extra_source=""):
    ns = f"\n        namespace: {namespace}" if namespace else ""
    return f"""
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata:
      name: web
      namespace: argocd
    spec:
      project: default
      source:
        repoURL: {repo_url}
        targetRevision: main
        path: {path}{extra_source}
      destination:
        server: https://kubernetes.default.svc{ns}
      syncPolicy:
        syncOptions: {options}
    """


NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: team-web
"""


def configmap(namespace: str | None = "team-web", name="settings") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata: {{}}\n"


# --- source paths --------------------------------------------------------------------------------

def test_missing_path_is_an_error_at_the_path_with_the_closest_folder(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(path="manifest"), "manifests/ns.yaml": NAMESPACE})
    [finding] = with_rule(check_repo(tmp_path), "application-path-missing")
    assert (finding.path, finding.line, finding.column) == ("argocd/app.yaml", 11, 11)
    assert "'manifest'" in finding.message and "does not exist" in finding.message
    assert finding.hint == "Did you mean path: manifests?"


def test_path_leaving_the_repository(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(path="../other")})
    [finding] = with_rule(check_repo(tmp_path), "application-path-missing")
    assert "leaves the repository" in finding.message


def test_existing_path_passes(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/ns.yaml": NAMESPACE})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "application-path-missing") == []
    assert with_rule(findings, "application-path-has-no-manifests") == []


def test_foreign_source_path_is_not_checked(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(path="somewhere", repo_url="https://github.com/other/charts.git")})
    assert with_rule(check_repo(tmp_path), "application-path-missing") == []


def test_unknown_repository_url_makes_a_missing_path_a_warning_that_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("CI_PROJECT_URL", raising=False)
    write_repo(tmp_path, {"argocd/app.yaml": app(path="manifest"), "deploy/base/ns.yaml": NAMESPACE,
                          "argocd/app2.yaml": app(path="deploy").replace("name: web", "name: web2")})
    findings = check_repo(tmp_path, repo_url=None)
    assert with_rule(findings, "application-path-missing") == []
    [unverified] = with_rule(findings, "application-path-unverified")
    assert (unverified.path, unverified.line) == ("argocd/app.yaml", 11)
    assert "does not know this repository's URL" in unverified.message and "ComparisonError" in unverified.message
    [empty] = with_rule(findings, "application-path-has-no-manifests")
    assert empty.path == "argocd/app2.yaml"


CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: app
  annotations:
    gitlab.com/project-slug: team/app
spec: {type: service, lifecycle: production, owner: team}
"""


def test_catalog_info_names_the_repository_when_nothing_else_does(tmp_path, monkeypatch):
    monkeypatch.delenv("CI_PROJECT_URL", raising=False)
    write_repo(tmp_path, {"argocd/app.yaml": app(path="manifest"), "manifests/ns.yaml": NAMESPACE,
                          "catalog-info.yaml": CATALOG})
    findings = check_repo(tmp_path, repo_url=None)
    [missing] = with_rule(findings, "application-path-missing")
    assert missing.hint == "Did you mean path: manifests?"
    assert with_rule(findings, "application-path-unverified") == []


def test_catalog_info_of_another_project_makes_the_source_foreign(tmp_path, monkeypatch):
    monkeypatch.delenv("CI_PROJECT_URL", raising=False)
    write_repo(tmp_path, {"argocd/app.yaml": app(path="manifest"), "catalog-info.yaml":
                          CATALOG.replace("team/app", "team/other")})
    findings = check_repo(tmp_path, repo_url=None)
    assert with_rule(findings, "application-path-missing") == with_rule(findings, "application-path-unverified") == []
    assert [f.rule for f in findings if f.path == "argocd/app.yaml" and f.rule.startswith("render")] == \
        ["render-not-rendered"]


def test_path_with_manifests_only_in_subfolders(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(path="deploy"), "deploy/base/ns.yaml": NAMESPACE,
                          "deploy/README.md": "docs"})
    [finding] = with_rule(check_repo(tmp_path), "application-path-has-no-manifests")
    assert finding.line == 11 and "holds no .yaml" in finding.message
    assert "directory.recurse: true" in finding.hint and "deploy/base" in finding.hint


def test_recursive_source_or_helm_source_passes(tmp_path):
    recurse = "\n        directory:\n          recurse: true"
    write_repo(tmp_path, {"argocd/app.yaml": app(path="deploy", extra_source=recurse), "deploy/base/ns.yaml": NAMESPACE,
                          "argocd/chart.yaml": app(path="chart", extra_source="\n        helm: {}").replace("name: web", "name: chart"),
                          "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n"})
    assert with_rule(check_repo(tmp_path), "application-path-has-no-manifests") == []


def test_include_filter_that_matches_nothing(tmp_path):
    include = "\n        directory:\n          include: '*.json'"
    write_repo(tmp_path, {"argocd/app.yaml": app(extra_source=include), "manifests/ns.yaml": NAMESPACE})
    [finding] = with_rule(check_repo(tmp_path), "application-path-has-no-manifests")
    assert "filter out every file" in finding.hint


# --- repoURL ------------------------------------------------------------------------------------

def test_repo_url_of_another_repository_with_the_path_here(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(repo_url="https://gitlab.example.com/team/shop.git"),
                          "manifests/ns.yaml": NAMESPACE})
    [finding] = with_rule(check_repo(tmp_path), "application-repo-url-foreign")
    assert (finding.line, finding.severity.name) == (9, "WARNING")
    assert "https://gitlab.example.com/team/shop.git" in finding.message and "manifests/ns.yaml" in finding.message
    assert finding.hint == f"If it deploys this repository, write repoURL: {THIS_REPO}"


def test_repo_url_of_this_repository_in_another_spelling_passes(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(repo_url="git@gitlab.example.com:team/app"),
                          "manifests/ns.yaml": NAMESPACE})
    assert with_rule(check_repo(tmp_path), "application-repo-url-foreign") == []


def test_foreign_repo_url_whose_path_is_not_here_passes(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(path="charts/web", repo_url="https://github.com/other/charts.git"),
                          "manifests/ns.yaml": NAMESPACE})
    assert with_rule(check_repo(tmp_path), "application-repo-url-foreign") == []


# --- namespaces ---------------------------------------------------------------------------------

def test_resource_in_another_namespace_than_the_destination_is_info(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/ns.yaml": NAMESPACE + "---\n" + NAMESPACE.replace("web", "api"),
                          "manifests/cm.yaml": configmap("team-api")})
    [finding] = with_rule(check_repo(tmp_path), "application-namespace-differs")
    assert (finding.path, finding.line, finding.column, finding.severity.name) == ("manifests/cm.yaml", 5, 14, "INFO")
    assert "namespace team-api, not in team-web" in finding.message


def test_resource_in_the_destination_namespace_passes(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/ns.yaml": NAMESPACE, "manifests/cm.yaml": configmap()})
    assert with_rule(check_repo(tmp_path), "application-namespace-differs") == []


def test_namespaced_resource_without_any_namespace_is_unplaceable(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(namespace=None), "manifests/cm.yaml": configmap(None)})
    [finding] = with_rule(check_repo(tmp_path), "application-namespace-unplaceable")
    assert (finding.path, finding.line) == ("manifests/cm.yaml", 3)
    assert "argocd/app.yaml:1" in finding.message


def test_cluster_scoped_or_unknown_kinds_without_namespace_pass(tmp_path):
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    write_repo(tmp_path, {"argocd/app.yaml": app(namespace=None), "manifests/ns.yaml": NAMESPACE,
                          "manifests/w.yaml": widget, "manifests/cm.yaml": configmap("team-web")})
    assert with_rule(check_repo(tmp_path), "application-namespace-unplaceable") == []


def test_namespace_nothing_creates(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/ns.yaml": NAMESPACE,
                          "manifests/cm.yaml": configmap("team-wbe")})
    [finding] = with_rule(check_repo(tmp_path), "namespace-not-created")
    assert (finding.path, finding.line, finding.column) == ("manifests/cm.yaml", 5, 14)
    assert "namespace team-wbe, which nothing creates" in finding.message
    assert finding.hint.startswith("Did you mean namespace: team-web?")


def test_namespaces_created_by_manifest_create_namespace_config_or_system_pass(tmp_path):
    write_repo(tmp_path, {
        "argocd/app.yaml": app(options="[CreateNamespace=true]"),
        "manifests/a.yaml": configmap("team-web", "a"),           # CreateNamespace for the destination
        "manifests/b.yaml": configmap("kube-system", "b"),        # always exists
        "manifests/c.yaml": configmap("shared", "c"),             # listed in .wavegate.yaml
        "manifests/d.yaml": configmap("team-api", "d"),           # a Namespace manifest elsewhere in the repo
        "platform/ns.yaml": NAMESPACE.replace("team-web", "team-api"),
        "manifests/e.yaml": configmap(None, "e"),                 # goes to the destination namespace
        ".wavegate.yaml": "namespaces: [shared]\n",
    })
    assert with_rule(check_repo(tmp_path), "namespace-not-created") == []


def test_destination_namespace_nothing_creates(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/cm.yaml": configmap(None)})
    [finding] = with_rule(check_repo(tmp_path), "namespace-not-created")
    assert (finding.path, finding.line) == ("argocd/app.yaml", 14)
    assert "CreateNamespace=true" in finding.hint


def test_a_namespace_an_app_of_apps_parent_creates_exists_for_its_children_not_for_its_siblings(tmp_path):
    # The parent syncs first: it creates team-web (CreateNamespace), then the child Application,
    # whose objects find the namespace. A sibling creating it gives no such order.
    parent = app(path="apps", options="[CreateNamespace=true]").replace("name: web", "name: parent")
    sibling = app(path="other", options="[CreateNamespace=true]").replace("name: web", "name: sibling")
    write_repo(tmp_path, {"argocd/parent.yaml": parent, "apps/child.yaml": app(),
                          "manifests/a.yaml": configmap(None, "a"), "manifests/b.yaml": configmap("team-web", "b")})
    assert with_rule(check_repo(tmp_path), "namespace-not-created") == []
    write_repo(tmp_path, {"argocd/parent.yaml": sibling, "other/cm.yaml": configmap("team-web", "c"),
                          "argocd/child.yaml": app()})
    (tmp_path / "apps/child.yaml").unlink()
    findings = with_rule(check_repo(tmp_path), "namespace-not-created")
    assert sorted((f.path, f.line) for f in findings) == [("argocd/child.yaml", 14), ("manifests/b.yaml", 5)]


def test_application_own_namespace_and_unsynced_files_are_not_checked(tmp_path):
    # argocd/ is not synced by the Application, so its namespace (argocd) needs no Namespace manifest;
    # neither does a stray file that no Application syncs.
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/ns.yaml": NAMESPACE,
                          "other/cm.yaml": configmap("nowhere")})
    assert with_rule(check_repo(tmp_path), "namespace-not-created") == []


def test_without_applications_namespaces_are_not_judged(tmp_path):
    # Read as an Application would read it, but that Application (with or without CreateNamespace)
    # lives elsewhere: whether the namespace will exist is not for this repository to say.
    write_repo(tmp_path, {"cm.yaml": configmap("team-x")})
    assert with_rule(check_repo(tmp_path), "namespace-not-created") == []


def test_a_source_without_repo_url_is_the_schemas_finding_not_a_source_from_nowhere(tmp_path):
    # (cloud-native-toolkit/multi-tenancy-gitops: "not rendered: source ... comes from , not from
    # this repository" beside the schema's "spec.source.repoURL: Required value")
    write_repo(tmp_path, {"argocd/app.yaml": app().replace(f"        repoURL: {THIS_REPO}\n", ""),
                          "manifests/ns.yaml": NAMESPACE, ".wavegate.yaml": f"repoURL: {THIS_REPO}\n"})
    findings = check_repo(tmp_path)
    assert [f.message for f in with_rule(findings, "schema-required")] == ["spec.source.repoURL: Required value"]
    assert not [f for f in with_rule(findings, "render-not-rendered") if "comes from" in f.message]
