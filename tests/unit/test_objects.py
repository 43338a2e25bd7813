from tests.helpers import check_repo, with_rule, write_repo

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: team-web
"""
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: runner
  namespace: team-web
rules: []
"""


def app(name="web", path="manifests", cluster="https://kubernetes.default.svc", namespace="team-web"):
    return f"""
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata:
      name: {name}
      namespace: argocd
    spec:
      project: default
      source:
        repoURL: https://gitlab.example.com/team/app.git
        path: {path}
      destination:
        server: {cluster}
        namespace: {namespace}
    """


def test_same_namespace_defined_twice_in_one_directory(tmp_path):
    # The origin skeleton defines its Namespace in namespace.yaml and again in workflow-rbac.yaml.
    write_repo(tmp_path, {"manifests/namespace.yaml": NAMESPACE,
                          "manifests/workflow-rbac.yaml": NAMESPACE + "---\n" + ROLE.lstrip("\n")})
    [finding] = with_rule(check_repo(tmp_path), "object-duplicate")
    assert (finding.path, finding.line, finding.column) == ("manifests/workflow-rbac.yaml", 4, 9)
    assert "Namespace team-web (cluster-scoped) is already defined in manifests/namespace.yaml:4" in finding.message


def test_a_namespaced_object_without_a_namespace_is_not_called_cluster_scoped(tmp_path):
    # (argoproj-labs/argocd-operator's samples: "ArgoCD argocd-sample (cluster-scoped)", a namespaced kind)
    role = ROLE.replace("  namespace: team-web\n", "")
    write_repo(tmp_path, {"manifests/a.yaml": role, "manifests/b.yaml": role})
    [finding] = with_rule(check_repo(tmp_path), "object-duplicate")
    assert "Role " in finding.message and "(in the namespace it is applied to) is already defined" in finding.message


def test_duplicate_synced_by_one_application_names_the_destination(tmp_path):
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/a.yaml": ROLE,
                          "manifests/b.yaml": ROLE.replace("  namespace: team-web\n", "")})
    [finding] = with_rule(check_repo(tmp_path), "object-duplicate")
    # b.yaml has no namespace: Argo CD puts it in the destination namespace, team-web, like a.yaml.
    assert finding.path == "manifests/b.yaml"
    assert "Role runner in namespace team-web" in finding.message and "https://kubernetes.default.svc" in finding.message


def test_same_object_for_two_clusters_is_not_a_duplicate(tmp_path):
    write_repo(tmp_path, {"argocd/dev.yaml": app("web-dev", "deploy/dev", "https://dev.example.com"),
                          "argocd/prod.yaml": app("web-prod", "deploy/prod", "https://prod.example.com"),
                          "deploy/dev/role.yaml": ROLE, "deploy/prod/role.yaml": ROLE})
    assert with_rule(check_repo(tmp_path), "object-duplicate") == []


def test_different_namespaces_and_unsynced_directories_are_not_duplicates(tmp_path):
    write_repo(tmp_path, {"a/role.yaml": ROLE, "a/role-2.yaml": ROLE.replace("team-web", "team-api"),
                          "b/role.yaml": ROLE})
    assert with_rule(check_repo(tmp_path), "object-duplicate") == []


def test_backstage_entities_are_not_kubernetes_objects(tmp_path):
    entity = "apiVersion: backstage.io/v1alpha1\nkind: Namespace\nmetadata:\n  name: team-web\n  namespace: team-web\n"
    write_repo(tmp_path, {"catalog-info.yaml": entity, "namespace.yaml": NAMESPACE})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "object-duplicate") == []
    assert with_rule(findings, "object-namespace-on-cluster-scoped") == []


def test_namespace_on_cluster_scoped_kind(tmp_path):
    write_repo(tmp_path, {"role.yaml": ROLE.replace("kind: Role", "kind: ClusterRole")})
    [finding] = with_rule(check_repo(tmp_path), "object-namespace-on-cluster-scoped")
    assert (finding.line, finding.column) == (5, 3)
    assert "ClusterRole runner is cluster-scoped" in finding.message and "'team-web'" in finding.message


def test_namespace_on_custom_kind_that_a_repo_crd_makes_cluster_scoped(tmp_path):
    crd = """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.example.com
    spec:
      group: example.com
      scope: Cluster
      names: {kind: Widget, plural: widgets}
      versions: []
    """
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: team-web\n"
    write_repo(tmp_path, {"crd.yaml": crd, "w.yaml": widget})
    [finding] = with_rule(check_repo(tmp_path), "object-namespace-on-cluster-scoped")
    assert finding.path == "w.yaml" and "scope: Cluster" in finding.message


def test_namespaced_and_unknown_kinds_may_have_a_namespace(tmp_path):
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: team-web\n"
    write_repo(tmp_path, {"role.yaml": ROLE, "w.yaml": widget, "ns.yaml": NAMESPACE})
    assert with_rule(check_repo(tmp_path), "object-namespace-on-cluster-scoped") == []


def test_tracking_id_annotation_is_an_error(tmp_path):
    role = ROLE.replace("  namespace: team-web\n", "  namespace: team-web\n  annotations:\n"
                        "    argocd.argoproj.io/tracking-id: other:rbac.authorization.k8s.io/Role:team-web/runner\n")
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/role.yaml": role})
    [finding] = with_rule(check_repo(tmp_path), "argocd-tracking-id-in-git")
    assert (finding.path, finding.line) == ("manifests/role.yaml", 7)
    assert "for Application 'other', but Application web syncs it" in finding.message


def test_argocd_instance_label_is_a_warning(tmp_path):
    ns = NAMESPACE + "  labels:\n    argocd.argoproj.io/instance: web-cicd\n"
    write_repo(tmp_path, {"ns.yaml": ns})
    [finding] = with_rule(check_repo(tmp_path), "argocd-tracking-label-in-git")
    assert finding.severity.name == "WARNING" and finding.line == 6 and "web-cicd" in finding.message


def test_instance_label_under_argocd_2_is_a_warning(tmp_path):
    ns = NAMESPACE + "  labels:\n    app.kubernetes.io/instance: my-argo-events\n"
    write_repo(tmp_path, {".wavegate.yaml": "argocd:\n  version: 2\n", "ns.yaml": ns})
    [finding] = with_rule(check_repo(tmp_path), "argocd-tracking-label-in-git")
    assert "Argo CD 2.x's tracking label" in finding.message and "=my-argo-events stop matching" in finding.message


def test_instance_label_is_accepted_under_argocd_3_or_when_it_names_the_syncing_app(tmp_path):
    ns = NAMESPACE + "  labels:\n    app.kubernetes.io/instance: web\n"
    write_repo(tmp_path, {"manifests/ns.yaml": ns, "argocd/app.yaml": app()})
    assert with_rule(check_repo(tmp_path), "argocd-tracking-label-in-git") == []
    (tmp_path / ".wavegate.yaml").write_text("argocd:\n  version: 2\n")
    assert with_rule(check_repo(tmp_path), "argocd-tracking-label-in-git") == []


RGD = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: tenants
  {namespace}
spec:
  schema:
    apiVersion: v1alpha1
    kind: Tenant
    {scope}
    spec:
      name: string
"""


def test_rgd_is_cluster_scoped_and_so_are_instances_of_a_cluster_scoped_schema(tmp_path):
    tenant = "apiVersion: kro.run/v1alpha1\nkind: Tenant\nmetadata:\n  name: t\n  namespace: team-web\n"
    write_repo(tmp_path, {"rgd.yaml": RGD.format(namespace="namespace: kro", scope="scope: Cluster"), "t.yaml": tenant})
    findings = with_rule(check_repo(tmp_path), "object-namespace-on-cluster-scoped")
    assert [(f.path, f.line) for f in findings] == [("rgd.yaml", 5), ("t.yaml", 5)]


def test_instances_of_a_namespaced_schema_may_have_a_namespace(tmp_path):
    tenant = "apiVersion: kro.run/v1alpha1\nkind: Tenant\nmetadata:\n  name: t\n  namespace: team-web\n"
    write_repo(tmp_path, {"rgd.yaml": RGD.format(namespace="", scope=""), "t.yaml": tenant})
    assert with_rule(check_repo(tmp_path), "object-namespace-on-cluster-scoped") == []


def test_scope_lookup():
    from wavegate import kube
    assert kube.cluster_scoped(("", "Namespace")) and kube.cluster_scoped(("storage.k8s.io", "CSIDriver"))
    assert kube.namespaced(("argoproj.io", "Application")) and not kube.cluster_scoped(("argoproj.io", "AppProject"))
    assert kube.scope(("example.com", "Widget")) is None


def test_a_folder_no_application_syncs_is_not_compared_but_two_applications_of_one_name_are(tmp_path):
    # argoproj-labs/argocd-operator's examples/: one ArgoCD object in twelve variants, alternatives
    # that nothing here syncs. Applications written as plain YAML are taken to exist: two of one
    # name (vfarcic/argocd-production) are still one too many.
    write_repo(tmp_path, {"argocd/app.yaml": app(), "manifests/role.yaml": ROLE,
                          "examples/a.yaml": ROLE, "examples/b.yaml": ROLE,
                          "argocd/again.yaml": app(path="elsewhere")})
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/ns.yaml").write_text(NAMESPACE)
    assert [f.path for f in with_rule(check_repo(tmp_path), "object-duplicate")] == ["argocd/app.yaml"]
