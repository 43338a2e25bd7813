from tests.helpers import check_repo, with_rule, write_repo

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
{metadata}
spec:
  project: default
  destination:
    namespace: web
"""
PLAIN = "resources-finalizer.argocd.argoproj.io"
FOREGROUND = PLAIN + "/foreground"
BACKGROUND = PLAIN + "/background"
REQUIRE = "argocd:\n  requireResourcesFinalizer: true\n"


def app(*finalizers: str, annotation: str | None = None) -> str:
    metadata = ""
    if annotation is not None:
        metadata += f"  annotations:\n    argocd.argoproj.io/finalizer: {annotation}\n"
    if finalizers:
        metadata += "  finalizers:\n" + "".join(f"    - {f}\n" for f in finalizers)
    return APP.format(metadata=metadata.rstrip("\n"))


def test_misspelt_finalizer_variant_suggests_the_closest(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(PLAIN + "/forground")})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-unknown")
    assert (finding.line, finding.column) == (7, 7)
    assert "/forground" in finding.message and "Terminating" in finding.message
    assert finding.hint == f"Write {FOREGROUND}."


def test_known_application_finalizers_pass(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(BACKGROUND, "post-delete-finalizer.argocd.argoproj.io")})
    findings = check_repo(tmp_path)
    assert [f for f in findings if f.rule.startswith("argocd-finalizer")] == []


def test_background_with_foreground_conflicts(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(BACKGROUND, FOREGROUND)})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-conflicting-policies")
    assert finding.line == 8  # the second one, which Argo CD ignores
    assert "deleted with background propagation" in finding.message


def test_plain_finalizer_with_background_conflicts(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(PLAIN, BACKGROUND)})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-conflicting-policies")
    assert "deleted with foreground propagation" in finding.message


def test_plain_finalizer_with_foreground_is_redundant(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(PLAIN, FOREGROUND)})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "argocd-finalizer-conflicting-policies") == []
    [finding] = with_rule(findings, "argocd-finalizer-redundant")
    assert finding.line == 8 and str(finding.severity) == "warning"


def test_single_cascade_finalizer_passes(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(FOREGROUND)})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "argocd-finalizer-conflicting-policies") == []
    assert with_rule(findings, "argocd-finalizer-redundant") == []


def test_finalizer_written_as_an_annotation_as_in_the_seed(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(annotation=PLAIN)})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-as-annotation")
    assert (finding.line, finding.column) == (7, 5)
    assert "never reads" in finding.message and "leaves its resources running" in finding.message
    assert "finalizers:" in finding.hint and PLAIN in finding.hint


def test_finalizer_in_metadata_finalizers_passes(tmp_path):
    write_repo(tmp_path, {"app.yaml": app(PLAIN)})
    assert with_rule(check_repo(tmp_path), "argocd-finalizer-as-annotation") == []


CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  finalizers:
    - {finalizer}
"""
PROJECT = """
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team
  finalizers:
    - {finalizer}
spec: {{}}
"""
APPSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: teams
  finalizers:
    - {own}
spec:
  generators: []
  template:
    metadata:
      name: '{{{{name}}}}'
      finalizers:
        - {template}
    spec:
      project: default
      syncPolicy:
        syncOptions:
          - CreateNamespace=true
"""


def test_argocd_finalizer_on_a_configmap(tmp_path):
    write_repo(tmp_path, {"cm.yaml": CONFIGMAP.format(finalizer=PLAIN)})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-on-wrong-kind")
    assert finding.line == 6 and "ConfigMap settings" in finding.message


def test_other_finalizers_on_a_configmap_pass(tmp_path):
    write_repo(tmp_path, {"cm.yaml": CONFIGMAP.format(finalizer="example.com/cleanup")})
    assert with_rule(check_repo(tmp_path), "argocd-finalizer-on-wrong-kind") == []


def test_appproject_takes_the_plain_finalizer_but_not_a_propagation_variant(tmp_path):
    write_repo(tmp_path, {"ok.yaml": PROJECT.format(finalizer=PLAIN),
                          "bad.yaml": PROJECT.format(finalizer=BACKGROUND).replace("name: team", "name: other")})
    [finding] = with_rule(check_repo(tmp_path), "argocd-finalizer-on-wrong-kind")
    assert finding.path == "bad.yaml"


def test_applicationset_own_variant_is_wrong_and_its_template_finalizers_are_checked(tmp_path):
    write_repo(tmp_path, {"appset.yaml": APPSET.format(own=BACKGROUND, template=PLAIN + "/backgroud")})
    findings = check_repo(tmp_path)
    [wrong] = with_rule(findings, "argocd-finalizer-on-wrong-kind")
    assert wrong.line == 6 and "spec.template.metadata.finalizers" in wrong.hint
    [unknown] = with_rule(findings, "argocd-finalizer-unknown")
    assert unknown.line == 13 and unknown.hint == f"Write {BACKGROUND}."


def test_applicationset_with_plain_finalizer_and_valid_template_passes(tmp_path):
    write_repo(tmp_path, {"appset.yaml": APPSET.format(own=PLAIN, template=BACKGROUND)})
    findings = check_repo(tmp_path)
    assert [f for f in findings if f.rule.startswith("argocd-finalizer")] == []


def test_hook_finalizer_on_a_hook_passes(tmp_path):
    hook = CONFIGMAP.format(finalizer="argocd.argoproj.io/hook-finalizer") + \
        "  annotations:\n    argocd.argoproj.io/hook: PreSync\n"
    write_repo(tmp_path, {"cm.yaml": hook})
    assert with_rule(check_repo(tmp_path), "argocd-finalizer-on-wrong-kind") == []


def test_missing_resources_finalizer_when_required(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": REQUIRE, "app.yaml": app(annotation=PLAIN)})
    [finding] = with_rule(check_repo(tmp_path), "application-missing-resources-finalizer")
    assert finding.line == 3  # metadata:, where the finalizers list goes
    assert "does not count" in finding.message


def test_resources_finalizer_present_when_required_passes(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": REQUIRE, "app.yaml": app(BACKGROUND)})
    assert with_rule(check_repo(tmp_path), "application-missing-resources-finalizer") == []


def test_missing_resources_finalizer_is_not_required_by_default(tmp_path):
    write_repo(tmp_path, {"app.yaml": app()})
    assert with_rule(check_repo(tmp_path), "application-missing-resources-finalizer") == []
