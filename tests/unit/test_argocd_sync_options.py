from tests.helpers import check_repo, with_rule, write_repo

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://gitlab.example.com/team/app.git
    path: manifests
  destination:
    namespace: web
  syncPolicy:
    syncOptions:
{options}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: web
  annotations:
    argocd.argoproj.io/sync-options: {options}
spec: {{}}
"""
APPSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: teams
spec:
  generators: []
  template:
    metadata:
      name: '{{{{name}}}}'
    spec:
      project: default
      syncPolicy:
        syncOptions:
{options}
"""
FIRST_ITEM_LINE = 15  # line of the first syncOptions item in APP
ANNOTATION = (7, 38)  # line and column of the sync-options value in DEPLOYMENT


def app(*options: str) -> str:
    return APP.format(options="\n".join(f"      - {o}" for o in options))


def deployment(options: str) -> str:
    return DEPLOYMENT.format(options=options)


def test_unknown_option_name_in_an_application_list(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("PruneLast=true", "CreateNamespaces=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-unknown")
    assert (finding.line, finding.column) == (FIRST_ITEM_LINE + 1, 9)
    assert finding.field == "spec.syncPolicy.syncOptions[1]"
    assert "'CreateNamespaces'" in finding.message
    assert finding.hint.startswith("Write CreateNamespace=true")


def test_unknown_option_name_in_an_annotation_points_at_the_value(tmp_path):
    write_repo(tmp_path, {"manifests/api.yaml": deployment("prunelast=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-unknown")
    assert (finding.line, finding.column) == ANNOTATION
    assert "Write PruneLast=true" in finding.hint


def test_known_options_pass(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("CreateNamespace=true", "PrunePropagationPolicy=background",
                                          "ServerSideApply=true", "Prune=confirm"),
                          "manifests/api.yaml": deployment("Prune=false, Delete=confirm,RespectIgnoreDifferences=true")})
    findings = check_repo(tmp_path)
    assert [f for f in findings if f.rule.startswith("sync-option")] == []


def test_unknown_value_lists_the_allowed_ones(tmp_path):
    write_repo(tmp_path, {"manifests/api.yaml": deployment("Prune=flase")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-invalid-value")
    assert (finding.line, finding.column) == ANNOTATION
    assert "allowed: false, confirm, true" in finding.message
    assert "Write Prune=false" in finding.hint


def test_value_in_the_wrong_case_is_an_unknown_value(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("PrunePropagationPolicy=Foreground")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-invalid-value")
    assert "Write PrunePropagationPolicy=foreground" in finding.hint


def test_item_without_equals_is_malformed(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("CreateNamespace")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-malformed")
    assert finding.line == FIRST_ITEM_LINE
    assert finding.hint.startswith("Write CreateNamespace=true")


def test_spaces_around_equals_and_yaml_booleans_are_malformed(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("true"), "manifests/api.yaml": deployment("Prune = false")})
    findings = with_rule(check_repo(tmp_path), "sync-option-malformed")
    assert {f.path for f in findings} == {"app.yaml", "manifests/api.yaml"}
    spaced = next(f for f in findings if f.path == "manifests/api.yaml")
    assert spaced.hint == "Write Prune=false."


def test_duplicate_option_is_a_warning(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("PruneLast=true", "Validate=false", "PruneLast=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-duplicate")
    assert finding.line == FIRST_ITEM_LINE + 2 and "repeats item 1" in finding.message


def test_contradicting_values_are_an_error(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("ServerSideApply=true", "ServerSideApply=false")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-contradiction")
    assert finding.line == FIRST_ITEM_LINE + 1
    assert "contradicts ServerSideApply=true in item 1" in finding.message


def test_single_values_pass_duplicate_and_contradiction(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("ServerSideApply=true", "Validate=false")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "sync-option-duplicate") == []
    assert with_rule(findings, "sync-option-contradiction") == []


def test_force_without_replace(tmp_path):
    write_repo(tmp_path, {"manifests/api.yaml": deployment("Force=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-force-without-replace")
    assert (finding.line, finding.column) == ANNOTATION
    assert "Force=true,Replace=true" in finding.hint


def test_force_with_replace_passes_also_when_replace_comes_from_the_application(tmp_path):
    write_repo(tmp_path, {"manifests/api.yaml": deployment("Force=true,Replace=true")})
    assert with_rule(check_repo(tmp_path), "sync-option-force-without-replace") == []
    write_repo(tmp_path, {"app.yaml": app("Replace=true"), "manifests/api.yaml": deployment("Force=true")})
    assert with_rule(check_repo(tmp_path), "sync-option-force-without-replace") == []


def test_force_in_the_application_list_does_nothing(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("Replace=true", "Force=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-resource-only-in-application")
    assert finding.line == FIRST_ITEM_LINE + 1


def test_replace_with_server_side_apply(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("Replace=true", "ServerSideApply=true")})
    [finding] = with_rule(check_repo(tmp_path), "sync-option-replace-overrides-ssa")
    assert finding.line == FIRST_ITEM_LINE + 1 and "takes precedence" in finding.message


def test_server_side_apply_alone_passes(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("ServerSideApply=true"),
                          "manifests/api.yaml": deployment("ServerSideApply=false,Replace=true")})
    assert with_rule(check_repo(tmp_path), "sync-option-replace-overrides-ssa") == []


def test_app_only_option_in_a_resource_annotation(tmp_path):
    write_repo(tmp_path, {"manifests/api.yaml": deployment("CreateNamespace=true,ClientSideApplyMigration=false")})
    findings = with_rule(check_repo(tmp_path), "sync-option-app-only-in-annotation")
    assert sorted(f.message.split("=")[0] for f in findings) == ["ClientSideApplyMigration", "CreateNamespace"]
    assert all((f.line, f.column) == ANNOTATION for f in findings)


def test_app_only_option_in_the_application_passes(tmp_path):
    write_repo(tmp_path, {"app.yaml": app("CreateNamespace=true", "ClientSideApplyMigration=false")})
    assert with_rule(check_repo(tmp_path), "sync-option-app-only-in-annotation") == []


def test_applicationset_template_options_are_checked_and_template_expressions_skipped(tmp_path):
    options = "\n".join(f"          - {o}" for o in ("CreateNamespace=ture", "'{{.syncOption}}'"))
    write_repo(tmp_path, {"appset.yaml": APPSET.format(options=options)})
    findings = check_repo(tmp_path)
    [finding] = with_rule(findings, "sync-option-invalid-value")
    assert finding.field == "spec.template.spec.syncPolicy.syncOptions[0]"
    assert [f for f in findings if f.rule.startswith("sync-option") and f is not finding] == []


def test_validate_false_is_information_on_the_application_and_on_a_resource(tmp_path):
    write_repo(tmp_path, {"app.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: web, namespace: argocd}
        spec:
          project: web
          source: {repoURL: https://gitlab.example.com/team/app.git, path: manifests, targetRevision: main}
          destination: {server: https://kubernetes.default.svc, namespace: team-web}
          syncPolicy:
            syncOptions:
              - Validate=false
        """, "manifests/cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: team-web
          annotations: {argocd.argoproj.io/sync-options: "Prune=false,Validate=false"}
        """})
    found = with_rule(check_repo(tmp_path), "sync-option-validate-false")
    assert [(f.path, f.line, f.severity.name) for f in found] == [("app.yaml", 10, "INFO"), ("manifests/cm.yaml", 6, "INFO")]
    assert "applies every resource of Application web with --validate=false" in found[0].message
    assert "applies ConfigMap settings with --validate=false" in found[1].message


def test_validate_true_says_nothing(tmp_path):
    write_repo(tmp_path, {"cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          annotations: {argocd.argoproj.io/sync-options: Validate=true}
        """})
    assert with_rule(check_repo(tmp_path), "sync-option-validate-false") == []
