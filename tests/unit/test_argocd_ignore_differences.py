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
    targetRevision: main
    path: manifests
  destination:
    server: https://kubernetes.default.svc
    namespace: team-web
  syncPolicy:
    automated:
      selfHeal: {self_heal}
    syncOptions:
      - CreateNamespace=true
      {options}
  ignoreDifferences:
{entries}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  {annotations}
spec:
  replicas: 2
"""
PIPELINE = """
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata:
  name: web-pipeline
  namespace: team-web
spec:
  name: web
"""


def entries(*lines: str) -> str:
    return "\n".join("    " + line for line in lines)


def repo(tmp_path, *lines, self_heal="false", options="", annotations="", extra=None):
    files = {
        "argocd/app.yaml": APP.format(self_heal=self_heal, options=options, entries=entries(*lines)),
        "manifests/deployment.yaml": DEPLOYMENT.format(annotations=annotations),
        "manifests/pipeline.yaml": PIPELINE,
    }
    files.update(extra or {})
    return write_repo(tmp_path, files)


def test_pointer_without_leading_slash_is_an_error_at_the_pointer(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers:", "    - spec/replicas")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-bad-json-pointer")
    assert (finding.path, finding.line) == ("argocd/app.yaml", 25)
    assert "'spec/replicas'" in finding.message and "does not start with '/'" in finding.message
    assert finding.hint == "Write /spec/replicas."


def test_jq_syntax_in_json_pointers_and_bad_tilde(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers:", "    - .spec.replicas",
         "    - /metadata/annotations/example.com~2owner")
    first, second = with_rule(check_repo(tmp_path), "ignore-differences-bad-json-pointer")
    assert "jq syntax" in first.hint and "/spec/replicas" in first.hint
    assert "~0" in second.message


def test_valid_pointers_pass(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers:", "    - /spec/replicas",
         "    - /metadata/annotations/example.com~1owner", '    - ""')
    assert with_rule(check_repo(tmp_path), "ignore-differences-bad-json-pointer") == []


def test_entry_without_fields_names_the_misspelt_key(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointer:", "    - /spec/replicas")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-nothing-ignored")
    assert finding.line == 22 and "'jsonPointer'" in finding.message
    assert finding.hint == "Rename 'jsonPointer' to 'jsonPointers'."


def test_entry_with_managed_fields_managers_passes(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  managedFieldsManagers:", "    - kube-controller-manager")
    assert with_rule(check_repo(tmp_path), "ignore-differences-nothing-ignored") == []


def test_group_with_version_is_an_error(tmp_path):
    repo(tmp_path, "- group: apps/v1", "  kind: Deployment", "  jsonPointers: [/spec/replicas]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-group-has-version")
    assert (finding.line, finding.column) == (22, 14)
    assert finding.hint == "Write group: apps"
    # the broken group is reported once, not again as "matches nothing"
    assert with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing") == []


def test_core_version_as_group(tmp_path):
    repo(tmp_path, "- group: v1", "  kind: ConfigMap", "  jsonPointers: [/data]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-group-has-version")
    assert 'group: ""' in finding.hint


def test_group_without_version_passes(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers: [/spec/replicas]")
    assert with_rule(check_repo(tmp_path), "ignore-differences-group-has-version") == []


def test_entry_matching_no_resource_suggests_the_kind(tmp_path):
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipline", "  jsonPointers: [/spec/aws]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing")
    assert finding.severity.name == "WARNING" and finding.line == 22
    assert "kro.run/CICDPipline" in finding.message and "2 resources" in finding.message
    assert "Did you mean kind: CICDPipeline?" in finding.hint


def test_entry_with_wrong_group_names_the_right_one(tmp_path):
    repo(tmp_path, "- group: extensions", "  kind: Deployment", "  jsonPointers: [/spec/replicas]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing")
    assert "write group: apps" in finding.hint


def test_entry_with_wildcard_name_explains_exact_names(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  name: web-*", "  jsonPointers: [/spec/replicas]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing")
    assert "compared exactly" in finding.hint


def test_entry_without_kind_matches_nothing(tmp_path):
    repo(tmp_path, "- group: apps", "  jsonPointers: [/spec/replicas]")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing")
    assert "has no kind" in finding.message


def test_matching_entries_pass_including_globs_and_destination_namespace(tmp_path):
    repo(tmp_path,
         "- group: apps", "  kind: Deployment", "  name: web", "  namespace: team-web", "  jsonPointers: [/spec/replicas]",
         '- group: "*"', "  kind: CICD*", "  jqPathExpressions: [.spec.aws]",
         '- group: ""', "  kind: Namespace", "  jsonPointers: [/metadata/labels]")
    findings = with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing")
    # Only the Namespace entry is unmatched: the app has no Namespace manifest.
    assert [f.line for f in findings] == [30]


def test_app_without_resources_here_is_not_checked_for_matches(tmp_path):
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipline", "  jsonPointers: [/spec/aws]")
    app = (tmp_path / "argocd/app.yaml").read_text().replace("path: manifests", "path: charts/web\n    helm: {}")
    (tmp_path / "argocd/app.yaml").write_text(app)
    assert with_rule(check_repo(tmp_path), "ignore-differences-matches-nothing") == []


def test_status_pointer_is_redundant_under_argocd_3(tmp_path):
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipeline", "  jsonPointers:", "    - /status",
         "  jqPathExpressions:", "    - .status.conditions")
    findings = with_rule(check_repo(tmp_path), "ignore-differences-status-redundant")
    assert [(f.line, f.severity.name) for f in findings] == [(25, "INFO"), (27, "INFO")]
    assert "ignoreResourceStatusField all" in findings[0].message


def test_status_pointer_on_custom_resources_is_needed_under_argocd_2(tmp_path):
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipeline", "  jsonPointers:", "    - /status",
         extra={".wavegate.yaml": "argocd:\n  version: 2\n"})
    assert with_rule(check_repo(tmp_path), "ignore-differences-status-redundant") == []


def test_status_pointer_on_crds_is_redundant_under_argocd_2(tmp_path):
    repo(tmp_path, "- group: apiextensions.k8s.io", "  kind: CustomResourceDefinition", "  jsonPointers:",
         "    - /status", extra={".wavegate.yaml": "argocd:\n  version: 2\n"})
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-status-redundant")
    assert "CustomResourceDefinitions" in finding.message


def test_argocd_cm_in_the_repo_overrides_the_default(tmp_path):
    argocd_cm = """
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: argocd-cm
      namespace: argocd
    data:
      resource.compareoptions: |
        ignoreResourceStatusField: crd
    """
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipeline", "  jsonPointers:", "    - /status",
         extra={"platform/argocd-cm.yaml": argocd_cm})
    assert with_rule(check_repo(tmp_path), "ignore-differences-status-redundant") == []


def test_self_heal_without_respect_ignore_differences(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers: [/spec/replicas]", self_heal="true")
    [finding] = with_rule(check_repo(tmp_path), "ignore-differences-overwritten-by-self-heal")
    assert (finding.path, finding.line) == ("argocd/app.yaml", 18)  # syncOptions:
    assert "/spec/replicas of apps/Deployment" in finding.message
    assert "RespectIgnoreDifferences=true" in finding.hint


def test_self_heal_with_respect_ignore_differences_passes(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers: [/spec/replicas]", self_heal="true",
         options="- RespectIgnoreDifferences=true")
    assert with_rule(check_repo(tmp_path), "ignore-differences-overwritten-by-self-heal") == []


def test_self_heal_with_only_status_ignored_passes(tmp_path):
    repo(tmp_path, "- group: kro.run", "  kind: CICDPipeline", "  jsonPointers: [/status]", self_heal="true")
    assert with_rule(check_repo(tmp_path), "ignore-differences-overwritten-by-self-heal") == []


def test_self_heal_with_resource_level_respect_passes(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jsonPointers: [/spec/replicas]", self_heal="true",
         annotations="annotations: {argocd.argoproj.io/sync-options: RespectIgnoreDifferences=true}")
    assert with_rule(check_repo(tmp_path), "ignore-differences-overwritten-by-self-heal") == []


APPSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: webs
  namespace: argocd
spec:
  generators:
    - list:
        elements: [{env: dev}]
  template:
    metadata:
      name: "web-{{env}}"
    spec:
      project: default
      source:
        repoURL: https://gitlab.example.com/team/app.git
        path: "envs/{{env}}"
      destination:
        server: https://kubernetes.default.svc
        namespace: web
      syncPolicy:
        automated: {selfHeal: true}
      ignoreDifferences:
        - group: apps
          kind: Deployment
          jsonPointers:
            - spec/replicas
            - /spec/template/metadata/annotations
"""


def test_applicationset_template_is_checked(tmp_path):
    write_repo(tmp_path, {"appset.yaml": APPSET})
    findings = check_repo(tmp_path)
    [bad] = with_rule(findings, "ignore-differences-bad-json-pointer")
    assert bad.line == 27
    [heal] = with_rule(findings, "ignore-differences-overwritten-by-self-heal")
    assert "Application web-dev" in heal.message and "(generated by ApplicationSet webs, element env=dev)" in heal.message


# -- jqPathExpressions, judged by gojq (the wavegate-jq helper from scripts/install-tools) --------

def test_jq_expressions_argo_cd_cannot_compile_are_errors_at_the_expression(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jqPathExpressions:",
         "    - .spec.replicas",
         "    - '.spec.template.spec.containers[] | select(.name == \"app\"'",
         "    - .spec | nosuchfunction(1)",
         "    - .metadata.annotations..x")
    found = with_rule(check_repo(tmp_path), "ignore-differences-jq-invalid")
    assert [(f.line, f.severity.name) for f in found] == [(26, "ERROR"), (27, "ERROR"), (28, "ERROR")]
    assert found[0].message == (
        "jqPathExpressions[1] '.spec.template.spec.containers[] | select(.name == \"app\"' of ignoreDifferences[0] "
        "(apps/Deployment) is not jq that Argo CD can compile (gojq: unexpected EOF at its end); Argo CD "
        "cannot compare Application web until it is fixed")
    assert "function not defined: nosuchfunction/1" in found[1].message
    assert "at character" in found[2].message


def test_the_jq_people_write_is_accepted(tmp_path):
    expressions = [
        ".spec.replicas", ".spec.template.spec.containers[] | select(.name == \"istio-proxy\")",
        ".metadata.annotations[\"kubectl.kubernetes.io/last-applied-configuration\"]",
        ".spec.template.spec.containers[].resources?", ".webhooks[]?.clientConfig.caBundle",
        ".. | select(.nullable?)", ".status", ".metadata.labels | .[\"x\"]", ".spec.template.metadata.annotations",
    ]
    deployment = DEPLOYMENT.format(annotations="") + (
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
        "        - {name: app, image: registry.example.com/web:1.0.0, resources: {limits: {cpu: '1'}}}\n"
        "        - {name: istio-proxy, image: registry.example.com/proxy:1.0.0}\n")
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jqPathExpressions:",
         *[f"    - '{e}'" for e in expressions], extra={"manifests/deployment.yaml": deployment})
    findings = check_repo(tmp_path)
    assert [f for f in findings if f.rule.startswith("ignore-differences-jq")] == []


def test_a_jq_expression_that_fails_on_a_matched_resource_is_a_warning(tmp_path):
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jqPathExpressions:",
         "    - .spec.replicas | tostring", "    - .spec.replicas.count")
    found = with_rule(check_repo(tmp_path), "ignore-differences-jq-fails")
    assert [f.line for f in found] == [25, 26]
    assert found[0].message.startswith("jqPathExpressions[0] '.spec.replicas | tostring' of ignoreDifferences[0] "
                                       "(apps/Deployment) fails on Deployment web (manifests/deployment.yaml): "
                                       "invalid path against: string (\"2\")")
    assert "expected an object but got: number (2)" in found[1].message


def test_without_the_helper_jq_is_reported_as_not_checked_once(tmp_path, monkeypatch):
    from wavegate import tools

    def missing(name):
        raise tools.ToolNotFoundError(f"{name} not found in .tools/bin or on PATH: " + tools.INSTALL_HINT.format(name=name))

    monkeypatch.setattr(tools, "find_tool", missing)
    repo(tmp_path, "- group: apps", "  kind: Deployment", "  jqPathExpressions:", "    - '.spec | ('", "    - .a")
    findings = check_repo(tmp_path)
    [skipped] = with_rule(findings, "ignore-differences-jq-not-checked")
    assert skipped.severity.name == "WARNING" and skipped.line == 25
    assert "2 jqPathExpressions were not checked: wavegate-jq not found" in skipped.message
    assert "scripts/install-tools --only wavegate-jq" in skipped.message + skipped.hint
    assert with_rule(findings, "ignore-differences-jq-invalid") == []
