"""The render stage against the real kustomize and helm (scripts/install-tools): repositories read as
Argo CD reads them, findings at the line a person edits, and what wavegate renders equal to what the
tools give when run by hand with the arguments Argo CD's repo-server passes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT, check_repo, with_rule
from wavegate import pipeline
from wavegate.findings import Severity
from wavegate.tools import find_tool

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "render"
CLEAN = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def tools():
    """kustomize, kustomize-batch and helm must be installed: a missing one fails the tests (never a skip)."""
    return {name: find_tool(name) for name in ("kustomize", "kustomize-batch", "helm")}


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def places(findings, rule: str) -> list[tuple[str, int, str | None]]:
    return sorted((f.path, f.line, f.application) for f in with_rule(findings, rule))


@pytest.mark.parametrize("name", CLEAN)
def test_every_fixture_renders_clean(name):
    findings = check_repo(FIXTURES / name)
    assert [f for f in findings if f.severity >= Severity.WARNING] == []


def test_a_strategic_merge_patch_field_is_reported_at_the_patch_line(tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "overlays/prod/resources.yaml", "  replicas: 3", '  replicas: "three"')
    assert places(check_repo(root), "schema-invalid-type") == [("overlays/prod/resources.yaml", 6, "shop-prod")]


def test_a_json6902_operation_is_reported_at_its_value_line(tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "overlays/prod/image.json.yaml", "value: registry.example.com/shop:1.1.0", "value: 42")
    assert places(check_repo(root), "schema-invalid-type") == [("overlays/prod/image.json.yaml", 3, "shop-prod")]


def test_a_base_defect_is_reported_once_at_the_base_line_for_every_overlay(tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "base/deployment.yaml", "  replicas: 1", "  replics: 1")
    [finding] = with_rule(check_repo(root), "schema-unknown-field")
    assert (finding.path, finding.line) == ("base/deployment.yaml", 6)


def test_a_component_patch_is_part_of_the_render(tmp_path):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "kustomize-overlays")))
    [service] = [m for m in run.repo.manifests if m.kind == "Service" and m.app.name == "shop-dev"]
    assert service.name == "dev-shop" and service.namespace == "shop-dev"
    assert service.labels == {"monitoring": "enabled"}
    assert "config.kubernetes.io/origin" not in service.annotations  # wavegate's own bookkeeping is gone
    assert service.path == "base/service.yaml"


def test_a_kustomization_that_fails_to_build_is_argo_cds_comparison_error(tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "overlays/dev/kustomization.yaml", "  - ../../base", "  - ../../bsae")
    findings = check_repo(root)
    [failed] = with_rule(findings, "render-failed")
    assert failed.severity == Severity.ERROR and failed.application == "shop-dev"
    assert (failed.path, failed.line) == ("overlays/dev/kustomization.yaml", 6)  # the resources entry to fix
    assert "kustomize build overlays/dev failed" in failed.message
    assert "bsae" in failed.message
    assert (root / "overlays/dev/kustomization.yaml").read_text().count("buildMetadata") == 0  # never written


def test_a_file_beside_a_kustomization_that_it_leaves_out_is_checked_without_the_kustomization(tmp_path):
    """A file no build reads (a Secret to fill in by hand beside a base) is checked as a root of
    its own; the kustomization beside it is kustomize's, not an object (seen on
    redhat-cop/gitops-catalog: every such kustomization was an error, "has no metadata.name")."""
    root = copy("kustomize-overlays", tmp_path)
    (root / "base/to-fill-in.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: to-fill-in\n"
                                              "  labels:\n    tier: not valid!\n")
    findings = check_repo(root)
    assert [f.path for f in findings if f.path == "base/kustomization.yaml"] == []
    assert [(f.path, f.line) for f in with_rule(findings, "label-invalid")] == [("base/to-fill-in.yaml", 6)]


def test_a_file_a_kustomization_lists_in_a_comment_is_switched_off_and_its_listed_siblings_are_judged_once(tmp_path):
    """`#- x.yaml` in a kustomization switches a resource off: no build reads it, so it is judged
    neither as a root nor as an Application (seen on cloud-native-toolkit/multi-tenancy-gitops:
    1,500 Applications, each waiting for its entry to be uncommented and for the kustomization's
    patch to add its repoURL, were errors). A file nothing names in the same folder is still read,
    alone, and the listed files beside it only as the build renders them."""
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "base/kustomization.yaml", "  - service.yaml\n",
         "  - service.yaml\n  # - extra/commented.yaml\n  - extra/listed.yaml\n  #- extra/application.yaml\n")
    (root / "base/extra").mkdir()
    invalid = "  labels:\n    tier: not valid!\n"
    for name in ("listed", "commented", "forgotten"):
        (root / f"base/extra/{name}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
                                                    + invalid)
    (root / "base/extra/application.yaml").write_text(  # (its repoURL: the kustomization's patch, once listed)
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: later\n  namespace: argocd\n"
        "spec:\n  project: shop\n  destination: {server: https://kubernetes.default.svc, namespace: shop}\n"
        "  source: {path: not-yet}\n")
    (root / "base/extra/broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n"
                                                " labels: {}\n")  # (until its entry is uncommented)
    edit(root / "base/kustomization.yaml", "  #- extra/application.yaml\n",
         "  #- extra/application.yaml\n#- extra/broken.yaml\n")
    edit(root / "base/kustomization.yaml", "configMapGenerator:", "commonLabels:\n  tier: web\nconfigMapGenerator:")
    findings = check_repo(root)
    assert not [f for f in findings if f.path in ("base/extra/application.yaml", "base/extra/broken.yaml")]
    # listed.yaml is judged as the overlays build it (its label replaced), never alone beside forgotten.yaml
    assert [(f.path, f.line) for f in with_rule(findings, "label-invalid")] == [("base/extra/forgotten.yaml", 6)]
    assert not [f for f in findings if f.path == "base/extra/commented.yaml"]


def test_a_patch_no_kustomization_uses_is_not_read_as_half_an_object(tmp_path):
    """kubebuilder's scaffolds leave patches no kustomization names (kubeflow/manifests: a
    Deployment patch without selector or containers was three schema errors). Named as a patch
    under a kustomization's folder, such a file is an unused input; a file named otherwise is still
    read alone."""
    root = copy("kustomize-overlays", tmp_path)
    half = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  replicas: 2\n"
    for rel in ("base/metrics_patch.yaml", "base/patches/replicas.yaml", "overlays/dev/patch-probes.yaml"):
        (root / rel).parent.mkdir(exist_ok=True)
        (root / rel).write_text(half)
    (root / "base/dispatcher.yaml").write_text(half.replace("shop", "dispatcher"))
    findings = check_repo(root)
    assert {f.path for f in with_rule(findings, "schema-required")} == {"base/dispatcher.yaml"}


def test_another_tools_template_beside_manifests_is_not_read_as_a_broken_manifest(tmp_path):
    """A folder no Application reads may hold another tool's templates (khuedoan/homelab: an
    Ansible role's Jinja `{% for %}` in a .yaml file beside valid manifests): their YAML breaks on
    a template tag, so they are not manifests. A manifest broken elsewhere still is."""
    root = copy("kustomize-overlays", tmp_path)
    (root / "templates").mkdir()
    (root / "templates/pool.yaml").write_text("apiVersion: cilium.io/v2alpha1\nkind: CiliumLoadBalancerIPPool\n"
                                             "metadata:\n  name: default\nspec:\n  blocks:\n"
                                             "    {% for cidr in pools %}\n    - cidr: {{ cidr }}\n    {% endfor %}\n")
    (root / "templates/broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n"
                                               "  labels: [a\n")
    (root / "templates/settings.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n"
                                                 "  labels:\n    tier: not valid!\n")
    findings = check_repo(root)
    assert [f.path for f in with_rule(findings, "yaml-syntax")] == ["templates/broken.yaml"]
    assert [(f.path, f.line) for f in with_rule(findings, "label-invalid")] == [("templates/settings.yaml", 6)]


def test_a_component_nothing_lists_is_no_root_and_its_objects_are_read_as_files(tmp_path):
    """A kustomize Component is part of the kustomizations that list it: built alone, what it
    replaces from is not there (seen on redhat-cop/gitops-catalog: every unlisted component was a
    failed build, and what it adds went unchecked)."""
    root = copy("kustomize-overlays", tmp_path)
    (root / "components/tls").mkdir()
    (root / "components/tls/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [truststore.yaml]\n"
        "replacements:\n  - source: {kind: ConfigMap, name: settings-from-the-overlay, fieldPath: data.path}\n"
        "    targets:\n      - select: {kind: ConfigMap, name: truststore}\n        fieldPaths: [data.path]\n")
    (root / "components/tls/truststore.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: truststore\n  labels:\n    tier: not valid!\n"
        "data:\n  path: /tmp\n")
    findings = check_repo(root)
    assert not with_rule(findings, "render-failed")
    assert [f.path for f in findings if f.path == "components/tls/kustomization.yaml"] == []
    assert [(f.path, f.line) for f in with_rule(findings, "label-invalid")] == [("components/tls/truststore.yaml", 6)]


def test_a_file_a_base_lists_that_is_gone_is_reported_at_the_base_entry_for_every_overlay(tmp_path):
    """kustomize nests the base's error in the overlay's; the line to edit is the base's entry,
    not the overlay's `../../base` that leads there."""
    root = copy("kustomize-overlays", tmp_path)
    (root / "base/service.yaml").unlink()
    failed = with_rule(check_repo(root), "render-failed")
    assert sorted((f.path, f.line, f.application) for f in failed) == [
        ("base/kustomization.yaml", 5, "shop-dev"), ("base/kustomization.yaml", 5, "shop-prod")]  # `- service.yaml`
    assert all("base/service.yaml: no such file or directory" in f.message for f in failed)


def test_a_generator_merging_into_nothing_is_reported_at_the_generator_alike_in_every_run(tmp_path):
    """kustomize names the generator by the addresses of Go pointers, new in every run: the finding
    leaves them out, so two runs of the same files give the same message and fingerprint (a code
    quality report would otherwise show the finding as new in every pipeline)."""
    root = copy("kustomize-overlays", tmp_path)
    with (root / "overlays/dev/kustomization.yaml").open("a") as out:
        out.write("configMapGenerator:\n  - name: settings\n    behavior: merge\n    literals: [mode=fast]\n")
    runs = []
    for _ in range(2):  # (without the cache: each run builds with kustomize again)
        run = pipeline.validate(pipeline.Options(root=root, cache=False))
        [failed] = with_rule(run.findings, "render-failed")
        runs.append(failed)
    first, second = runs
    assert (first.path, first.line) == ("overlays/dev/kustomization.yaml", 12)  # `- name: settings`
    assert "merging from generator: id" in first.message and 'Name:"settings"' in first.message
    assert "0x" not in first.message
    assert (second.message, second.fingerprint) == (first.message, first.fingerprint)


def test_no_build_rewrites_a_kustomization_another_build_reads_meanwhile(tmp_path, monkeypatch):
    """Each build rewrites its own kustomization in the mirror while it runs (origin annotations,
    the Application's `kustomize edit set ...`). A build that reads it as a base meanwhile failed
    now and then ("unable to find one of 'kustomization.yaml' ... in directory", seen on
    argocd-example-apps) or read the other Application's edits: a build holds the locks of every
    kustomization it reads."""
    from wavegate.render import kustomize as kustomize_source

    root = copy("kustomize-overlays", tmp_path)
    held: dict[str, list[str]] = {}
    real_build = kustomize_source.BatchBuilder.build

    def build(self, args):
        built = self.workspace.display(args[0])
        held[built] = sorted(d for d, lock in self.workspace._path_locks.items() if lock.locked())
        return real_build(self, args)

    monkeypatch.setattr(kustomize_source.BatchBuilder, "build", build)
    assert not with_rule(pipeline.validate(pipeline.Options(root=root, cache=False)).findings, "render-failed")
    assert held == {"overlays/dev": ["base", "components/monitoring", "overlays/dev"],
                    "overlays/prod": ["base", "overlays/prod"]}


def _chart_kustomization(root: Path, argocd: str | None) -> None:
    """A kustomization that inflates a chart of its own (helmCharts), and, when given, the Argo CD
    operator's ArgoCD resource that .wavegate.yaml names as the argocd-cm."""
    (root / "app/charts/web/templates").mkdir(parents=True)
    (root / "app/charts/web/Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (root / "app/charts/web/values.yaml").write_text("mode: fast\n")
    (root / "app/charts/web/templates/settings.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\n  labels:\n    mode: {{ .Values.mode }}!\n")
    (root / "app/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: web\n"
        "helmGlobals:\n  chartHome: charts\nhelmCharts:\n  - name: web\n    releaseName: web\n")
    if argocd is not None:
        (root / "platform").mkdir()
        (root / "platform/argocd.yaml").write_text(argocd)
        (root / ".wavegate.yaml").write_text("argocd:\n  configMap: platform/argocd.yaml\n")


OPERATOR = ("apiVersion: argoproj.io/v1beta1\nkind: ArgoCD\nmetadata:\n  name: openshift-gitops\n"
            "spec:\n  kustomizeBuildOptions: --enable-helm\n")


def test_helm_charts_a_kustomization_inflates_need_the_build_option_argo_cd_is_given(tmp_path):
    _chart_kustomization(tmp_path, None)
    [failed] = with_rule(check_repo(tmp_path), "render-failed")
    assert failed.message.endswith("with config: `...`: must specify --enable-helm")  # (the chart's config left out)
    assert "kustomize.buildOptions" in failed.hint and "argocd.configMap" in failed.hint


def test_the_operators_argocd_resource_gives_the_build_option_and_kustomize_runs_wavegates_helm(tmp_path, monkeypatch):
    """OpenShift GitOps configures Argo CD with an ArgoCD resource: its kustomizeBuildOptions is
    argocd-cm's kustomize.buildOptions. kustomize looks for helm on PATH; it is given the helm
    wavegate runs (here only git is on PATH)."""
    _chart_kustomization(tmp_path, OPERATOR)
    tools = tmp_path.parent / "path"
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(tools))
    findings = check_repo(tmp_path)
    assert not with_rule(findings, "render-failed")
    [label] = with_rule(findings, "label-invalid")  # the inflated ConfigMap was checked
    assert label.resource.name == "web-settings" and "fast!" in label.message
    assert (label.path, label.line) == ("app/kustomization.yaml", 7)  # the chart's entry: `- name: web`


def test_a_chart_repository_a_kustomization_names_out_of_reach_is_one_info_finding(tmp_path):
    _chart_kustomization(tmp_path, OPERATOR)
    edit(tmp_path / "app/kustomization.yaml", "releaseName: web\n",
         "releaseName: web\n  - name: remote\n    repo: https://charts.example.invalid\n    version: 1.0.0\n")
    findings = check_repo(tmp_path)
    assert not with_rule(findings, "render-failed")
    [skipped] = with_rule(findings, "render-not-rendered")
    assert "https://charts.example.invalid" in skipped.message


def test_a_helm_value_is_reported_at_the_values_file_line(tmp_path):
    root = copy("helm-chart", tmp_path)
    edit(root / "charts/shop/values-prod.yaml", "  port: 8080", "  port: eighty")
    assert places(check_repo(root), "schema-invalid-type") == [("charts/shop/values-prod.yaml", 3, "shop-prod")]


def test_a_helm_template_defect_is_reported_at_the_template_line(tmp_path):
    root = copy("helm-chart", tmp_path)
    edit(root / "charts/shop/templates/service.yaml", "      targetPort: 8080", "      targetPrt: 8080")
    [finding] = with_rule(check_repo(root), "schema-unknown-field")
    assert (finding.path, finding.line) == ("charts/shop/templates/service.yaml", 12)


@pytest.mark.parametrize("broken, line, words", [
    ("  replicas: {{ .Values.replicaCount }", 8, 'unexpected "}" in operand'),
    ('  replicas: {{ required "set replicaCount" .Values.nothing }}', 8, "set replicaCount"),
])
def test_a_chart_that_fails_to_template_is_reported_at_the_template_line_helm_names(tmp_path, broken, line, words):
    root = copy("helm-chart", tmp_path)
    edit(root / "charts/shop/templates/deployment.yaml", "  replicas: {{ .Values.replicaCount }}", broken)
    [failed] = with_rule(check_repo(root), "render-failed")
    assert (failed.path, failed.line) == ("charts/shop/templates/deployment.yaml", line)
    assert words in failed.message and "helm template charts/shop --name-template" in failed.hint


def test_helm_templates_and_values_are_never_read_as_manifests(tmp_path):
    root = copy("helm-chart", tmp_path)
    (root / "charts/shop/templates/broken.yaml").write_text("{{- if .Values.never }}\nkind: [\n{{- end }}\n")
    (root / "charts/shop/values-extra.yaml").write_text("just: values\n")
    assert [f for f in check_repo(root) if f.severity >= Severity.WARNING] == []


def test_a_chart_file_its_templates_render_with_tpl_is_no_broken_yaml_but_a_values_file_is(tmp_path):
    """open-telemetry/opentelemetry-helm-charts keeps CRDs in conf/ with `{{- if .Values.crds.create }}`
    on line 1, for `tpl (.Files.Get ...)`: a template, not broken YAML. helm parses values files
    itself, so one that breaks is still reported."""
    root = copy("helm-chart", tmp_path)
    (root / "charts/shop/conf").mkdir()
    (root / "charts/shop/conf/crd.yaml").write_text("{{- if .Values.crds }}\napiVersion: v1\nkind: ConfigMap\n{{- end }}\n")
    assert not with_rule(check_repo(root), "yaml-syntax")
    (root / "charts/shop/values-extra.yaml").write_text("{{- if .Values.crds }}\nx: 1\n")
    assert [f.path for f in with_rule(check_repo(root), "yaml-syntax")] == ["charts/shop/values-extra.yaml"]


def test_a_local_dependency_renders_offline(tmp_path):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "helm-chart")))
    teams = {m.name: m.data["data"]["team"] for m in run.repo.manifests if m.kind == "ConfigMap"}
    assert teams == {"shop-team": "shop", "shop-staging-team": "shop"}  # the parent's values reach the subchart
    assert not (FIXTURES / "helm-chart/charts/shop/charts").exists()  # the dependency was built in the mirror


def test_waves_of_two_applications_are_not_compared_but_within_one_they_are(tmp_path):
    root = copy("two-applications", tmp_path)
    assert with_rule(check_repo(root), "sync-wave-namespace-after-resources") == []
    shutil.move(root / "workloads/configmap.yaml", root / "platform/configmap.yaml")
    assert places(check_repo(root), "sync-wave-namespace-after-resources") == [
        ("platform/namespace.yaml", 6, "shop-platform")]


def test_a_repository_without_applications_renders_each_root(tmp_path):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "no-applications")))
    roots = sorted((s.name, len(s.objects)) for s in run.rendering.sync_sets)
    assert roots == [("chart", 1), ("overlays/staging", 1), ("plain", 1)]  # base/ is used by the overlay
    [settings] = [m for m in run.repo.manifests if m.name == "settings"]
    assert settings.data["data"] == {"mode": "fast"} and settings.namespace == "staging"


def test_a_jsonnet_error_is_argo_cds_comparison_error_at_the_jsonnet_file(tmp_path):
    root = copy("directory-sources", tmp_path)
    edit(root / "jsonnet/app.jsonnet", "std.extVar('environment')", "std.extVar('enviroment')")
    [failed] = with_rule(check_repo(root), "render-failed")
    assert failed.path == "jsonnet/app.jsonnet" and failed.line == 3
    assert "Undefined external variable: enviroment" in failed.message


def test_jsonnet_ext_vars_and_top_level_arguments_reach_the_objects():
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "directory-sources")))
    rendered = {(m.kind, m.name): m for m in run.repo.manifests if m.app and m.app.name == "shop-jsonnet"}
    assert set(rendered) == {("ConfigMap", "settings-test"), ("Deployment", "shop")}
    assert rendered[("Deployment", "shop")].data["spec"]["replicas"] == 2


def test_directory_include_exclude_and_recurse_pick_the_files_argo_cd_picks():
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "directory-sources")))
    by_app = {s.name: sorted(m.name for m in s.objects) for s in run.rendering.sync_sets if s.app}
    assert by_app["shop-all"] == ["notes", "settings", "shop-all"]  # drafts/ excluded
    assert by_app["shop-config"] == ["settings"]  # include: *.cm.yaml


def test_a_ref_value_file_that_does_not_exist_is_a_comparison_error_at_its_line(tmp_path):
    root = copy("multi-source", tmp_path)
    edit(root / "argocd/shop.yaml", "$values/environments/prod/values.yaml", "$values/environments/prd/values.yaml")
    [failed] = with_rule(check_repo(root), "render-failed")
    assert (failed.path, failed.line) == ("argocd/shop.yaml", 16) and "does not exist" in failed.message


def test_a_ref_value_file_is_read_from_this_repository(tmp_path):
    root = copy("multi-source", tmp_path)
    edit(root / "environments/prod/values.yaml", "replicaCount: 4", "replicaCount: four")
    assert places(check_repo(root), "schema-invalid-type") == [("environments/prod/values.yaml", 1, "shop")]


REMOTE_APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: tools
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: shop
  sources:
    - repoURL: {url}
      chart: tools
      targetRevision: 0.2.0
      helm:
        valueFiles: [$values/tools/values.yaml]
    - repoURL: https://gitlab.example.com/team/shop.git
      targetRevision: main
      ref: values
  destination: {{server: https://kubernetes.default.svc, namespace: shop-tools}}
  syncPolicy: {{syncOptions: [CreateNamespace=true]}}
"""


@pytest.fixture
def chart_repository(tools, tmp_path):
    """A real chart repository on loopback: `helm package` and `helm repo index`, served over HTTP."""
    import functools
    import http.server
    import threading

    source = tmp_path / "chart-source" / "tools"
    source.mkdir(parents=True)
    (source / "Chart.yaml").write_text("apiVersion: v2\nname: tools\nversion: 0.2.0\n")
    (source / "values.yaml").write_text("port: 80\n")
    (source / "templates").mkdir()
    (source / "templates" / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: tools\nspec:\n  ports:\n    - port: {{ .Values.port }}\n")
    served = tmp_path / "served"
    served.mkdir()
    helm = str(tools["helm"])
    subprocess.run([helm, "package", str(source), "--destination", str(served)], check=True, capture_output=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm, "repo", "index", str(served), "--url", url], check=True, capture_output=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


def test_a_chart_from_a_chart_repository_is_pulled_and_rendered_as_argo_cd_does(chart_repository, tmp_path):
    root = copy("multi-source", tmp_path)
    (root / "argocd/shop.yaml").unlink()
    (root / "argocd/tools.yaml").write_text(REMOTE_APP.format(url=chart_repository))
    (root / "tools").mkdir()
    (root / "tools/values.yaml").write_text("port: eighty\n")
    run = pipeline.validate(pipeline.Options(root=root))
    [service] = [m for m in run.repo.manifests if m.kind == "Service"]
    assert service.data["spec"]["ports"] == [{"port": "eighty"}]  # the ref values file of this repository
    [finding] = with_rule(run.findings, "schema-invalid-type")
    assert (finding.path, finding.application) == ("argocd/tools.yaml", "tools")


def test_a_chart_repository_that_cannot_be_reached_is_one_info_finding(tmp_path):
    root = copy("multi-source", tmp_path)
    (root / "argocd/shop.yaml").unlink()
    (root / "argocd/tools.yaml").write_text(REMOTE_APP.format(url="http://127.0.0.1:9"))
    [finding] = with_rule(check_repo(root), "render-not-rendered")
    assert finding.severity == Severity.INFO and "could not be pulled" in finding.message
    assert (finding.path, finding.line) == ("argocd/tools.yaml", 12)


def test_a_kustomization_with_remote_resources_out_of_reach_is_one_info_finding(tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "overlays/dev/kustomization.yaml", "  - ../../base", "  - ../../base\n  - http://127.0.0.1:9/extra.yaml")
    findings = check_repo(root)
    assert with_rule(findings, "render-failed") == []
    [finding] = with_rule(findings, "render-not-rendered")
    assert "remote resources (http://127.0.0.1:9/extra.yaml)" in finding.message and finding.application == "shop-dev"


def test_rendering_is_cached_by_the_content_of_its_inputs(tmp_path, monkeypatch):
    from wavegate.render import kustomize, workspace

    root = copy("kustomize-overlays", tmp_path)
    runs: list[str] = []
    real_run, real_build = workspace.Workspace.run, kustomize.BatchBuilder.build
    monkeypatch.setattr(workspace.Workspace, "run", lambda self, argv, *a, **k: runs.append(argv[1]) or
                        real_run(self, argv, *a, **k))
    monkeypatch.setattr(kustomize.BatchBuilder, "build", lambda self, args: runs.append("build") or
                        real_build(self, args))
    options = pipeline.Options(root=root, cache_dir=tmp_path / "cache")
    first_run = pipeline.validate(options)
    first = sorted(map(repr, first_run.repo.manifests))
    assert runs.count("build") == 2
    runs.clear()
    again = pipeline.validate(options)  # nothing changed: the whole run is answered from the cache
    assert runs == [] and again.repo is None and again.findings == first_run.findings
    (root / "NOTES.md").write_text("not an input of any render\n")
    second = pipeline.validate(options)  # the run changed, every render's inputs did not
    assert runs == [] and sorted(map(repr, second.repo.manifests)) == first  # a full hit runs no tool
    edit(root / "overlays/prod/resources.yaml", "replicas: 3", 'replicas: "three"')
    third = pipeline.validate(options)
    assert runs == ["build"]  # only the overlay whose input changed
    assert places(third.findings, "schema-invalid-type") == [("overlays/prod/resources.yaml", 6, "shop-prod")]
    assert (tmp_path / "cache" / ".gitignore").read_text().strip().endswith("*")


def test_app_of_apps_renders_the_applications_a_chart_creates(tmp_path):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "app-of-apps")))
    sets = {s.name: s for s in run.rendering.sync_sets if s.app is not None}
    assert set(sets) == {"shop-root", "shop-a", "shop-b"}
    assert sets["shop-a"].parent is sets["shop-root"] and sets["shop-b"].parent is sets["shop-root"]
    assert [m.name for m in sets["shop-b"].objects] == ["b-settings"]  # the child's kustomization rendered


@pytest.mark.parametrize("root_path", ["apps", "services/b"])
def test_an_application_a_kustomization_lists_is_rendered_as_its_build_makes_it(tmp_path, root_path):
    """Argo CD creates the Application a kustomization lists as the build makes it, its patches
    applied, whether an Application here syncs the kustomization (`apps`) or none does (then it is
    a root, read as if one pointed there). Read as plain YAML it named a path that does not exist
    (seen on cloud-native-toolkit/multi-tenancy-gitops, whose patches add every repoURL)."""
    root = copy("app-of-apps", tmp_path)
    shutil.rmtree(root / "apps")
    (root / "apps").mkdir()
    (root / "apps/a.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop-a\n  namespace: argocd\n"
        "  finalizers: [resources-finalizer.argocd.argoproj.io]\nspec:\n  project: shop\n"
        "  source: {repoURL: https://gitlab.example.com/team/shop.git, targetRevision: main, path: services/to-patch}\n"
        "  destination: {server: https://kubernetes.default.svc, namespace: shop-a}\n"
        "  syncPolicy: {syncOptions: [CreateNamespace=true]}\n")
    (root / "apps/kustomization.yaml").write_text(
        "resources: [a.yaml]\npatches:\n  - target: {kind: Application}\n    patch: |-\n"
        "      - {op: replace, path: /spec/source/path, value: services/a}\n")
    edit(root / "argocd/root.yaml", "path: apps", f"path: {root_path}")
    (root / "stray").mkdir()  # read alone, after the Applications are: once, whatever they read
    (root / "stray/settings.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n"
                                             "  labels:\n    tier: not valid!\n")
    run = pipeline.validate(pipeline.Options(root=root, cache=False))
    assert [(f.path, f.line) for f in with_rule(run.findings, "label-invalid")] == [("stray/settings.yaml", 6)]
    sets = {s.name: s for s in run.rendering.sync_sets if s.app is not None}
    assert [m.path for m in sets["shop-a"].objects] == ["services/a/configmap.yaml"]
    assert sets["shop-a"].parent.name == ("shop-root" if root_path == "apps" else "apps")
    assert not with_rule(run.findings, "application-path-missing")


def test_applications_under_two_roots_are_alternatives_and_a_parent_creates_its_childrens_namespace(tmp_path):
    """Without Applications here, each root stands for an Application elsewhere; two roots are
    often alternatives (a cluster each), so what the Applications under one apply is compared with
    its own only, as the roots' own objects are, and whether a namespace exists above them is the
    outer Application's business (seen on alphagov/govuk-helm-charts: two bootstrap charts)."""
    def application(name: str, path: str) -> str:
        return ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
                f"  name: {name}\n  namespace: argocd\n"
                "spec:\n  project: shop\n"
                f"  source: {{repoURL: https://gitlab.example.com/team/shop.git, targetRevision: main, path: {path}}}\n"
                "  destination: {server: https://kubernetes.default.svc, namespace: shop}\n")
    settings = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata: {}\n"
    files = {"roots/a/a.yaml": application("shop-a", "services/a"), "roots/a/c.yaml": application("shop-c", "services/b"),
             "roots/b/b.yaml": application("shop-b", "services/c"),
             "roots/a/kustomization.yaml": "resources: [a.yaml, c.yaml]\n",
             "roots/b/kustomization.yaml": "resources: [b.yaml]\n",
             "services/a/settings.yaml": settings, "services/b/settings.yaml": settings,
             "services/c/settings.yaml": settings, ".wavegate.yaml": "repoURL: https://gitlab.example.com/team/shop.git\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    findings = check_repo(tmp_path)
    assert places(findings, "object-duplicate") == [("services/b/settings.yaml", 4, "shop-c")]  # (not shop-b's c)
    assert not with_rule(findings, "namespace-not-created")


def test_a_child_applications_defect_is_reported_at_the_template_line_and_its_objects_under_its_name(tmp_path):
    root = copy("app-of-apps", tmp_path)
    edit(root / "apps/values.yaml", "  - name: b", "  - name: bb")
    edit(root / "services/a/configmap.yaml", "data:\n  mode: fast", "data:\n  mode: [fast]")
    findings = check_repo(root)
    [missing] = with_rule(findings, "application-path-missing")
    assert (missing.path, missing.line) == ("apps/templates/applications.yaml", 17)
    assert "'services/bb'" in missing.message and missing.application == "shop-root"
    assert places(findings, "schema-invalid-type") == [("services/a/configmap.yaml", 6, "shop-a")]


def test_an_app_of_apps_that_manages_itself_is_rendered_once(tmp_path):
    root = copy("app-of-apps", tmp_path)
    shutil.copy(root / "argocd/root.yaml", root / "apps/templates/root.yaml")
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root)))
    assert sorted(s.name for s in run.rendering.sync_sets if s.app is not None) == ["shop-a", "shop-b", "shop-root"]


def test_applicationsets_generate_applications_that_are_rendered_and_checked():
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=FIXTURES / "applicationsets")))
    sets = {s.name: s for s in run.rendering.sync_sets}
    assert [m.name for m in sets["shop-prod"].objects] == ["prod-settings"]  # envs/prod rendered by kustomize
    assert [m.name for m in sets["shop-app-web"].objects] == ["web"]  # a git directories element
    generated = sets["ApplicationSet shop-environments"]
    assert not generated.synced and [m.name for m in generated.objects] == ["shop-staging", "shop-prod"]


def test_an_element_whose_path_does_not_exist_is_reported_at_the_template_line_naming_the_element(tmp_path):
    root = copy("applicationsets", tmp_path)
    edit(root / "argocd/environments.yaml", "          - env: prod", "          - env: prod\n          - env: qa")
    [missing] = with_rule(check_repo(root), "application-path-missing")
    assert (missing.path, missing.line) == ("argocd/environments.yaml", 25)  # the template's path line
    assert "'envs/qa'" in missing.message and "element env=qa" in missing.message


def test_a_template_using_the_default_project_is_a_policy_violation_at_the_template_line(tmp_path):
    root = copy("applicationsets", tmp_path)
    edit(root / "argocd/apps.yaml", "      project: shop", "      project: default")
    violations = [f for f in with_rule(check_repo(root), "policy-violation") if "'default'" in f.message]
    assert sorted((f.path, f.line, f.column) for f in violations) == [("argocd/apps.yaml", 19, 7)] * 2
    assert sorted(f.message.split("(generated by ")[1] for f in violations) == [
        "ApplicationSet shop-apps, element path=apps/api)", "ApplicationSet shop-apps, element path=apps/web)"]


def test_two_elements_generating_one_name_are_an_error(tmp_path):
    root = copy("applicationsets", tmp_path)
    edit(root / "argocd/environments.yaml", "      name: 'shop-{{.env}}'", "      name: 'shop'")
    [duplicate] = with_rule(check_repo(root), "applicationset-duplicate-name")
    assert duplicate.path == "argocd/environments.yaml" and duplicate.severity == Severity.ERROR


# ---------------------------------------------------------------------------------------------
# The differential test: wavegate's rendering equals the tools run by hand with Argo CD's flags.

def by_hand(argv: list[str], cwd: Path) -> list[dict]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def rendered(root: Path, app: str) -> list[dict]:
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root)))
    [sync_set] = [s for s in run.rendering.sync_sets if s.name == app]
    return [m.data for m in sync_set.objects]


def canonical(objects: list[dict]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


@pytest.mark.parametrize("app, overlay", [("shop-dev", "overlays/dev"), ("shop-prod", "overlays/prod")])
def test_kustomize_rendering_equals_kustomize_build(tools, app, overlay):
    root = FIXTURES / "kustomize-overlays"
    expected = by_hand([str(tools["kustomize"]), "build", str(root / overlay)], cwd=root)
    assert canonical(rendered(root, app)) == canonical(expected)


def test_kustomize_batch_gives_what_kustomize_build_gives_errors_included(tools, tmp_path):
    from wavegate.render.kustomize import BatchBuilder
    from wavegate.render.workspace import Workspace

    root = copy("kustomize-overlays", tmp_path)
    edit(root / "overlays/prod/kustomization.yaml", "  - path: resources.yaml", "  - path: resourcez.yaml")
    with Workspace(root) as workspace:
        batch = BatchBuilder(tools["kustomize-batch"], workspace)
        try:
            for overlay in ("overlays/dev", "overlays/prod", "base"):
                ours = batch.build([str(workspace.path / overlay)])
                theirs = subprocess.run([str(tools["kustomize"]), "build", str(workspace.path / overlay)],
                                        capture_output=True, text=True)
                assert (ours.returncode == 0) == (theirs.returncode == 0)
                assert ours.stdout == theirs.stdout
                assert ours.stderr.strip() == workspace.display(theirs.stderr.strip())
        finally:
            batch.close()


def test_kustomize_options_of_the_application_equal_kustomize_edit_then_build(tools, tmp_path):
    root = copy("kustomize-overlays", tmp_path)
    edit(root / "argocd/prod.yaml", "    path: overlays/prod\n", "    path: overlays/prod\n    kustomize:\n"
         "      namePrefix: eu-\n      images:\n        - registry.example.com/shop=registry.example.com/shop:9.9.9\n"
         "      commonLabels:\n        region: eu\n")
    by_hand_copy = tmp_path / "by-hand"
    shutil.copytree(root, by_hand_copy)
    overlay = by_hand_copy / "overlays/prod"
    kustomize = str(tools["kustomize"])
    for args in (["edit", "set", "nameprefix", "--", "eu-"],
                 ["edit", "set", "image", "registry.example.com/shop=registry.example.com/shop:9.9.9"],
                 ["edit", "add", "label", "region:eu"]):
        subprocess.run([kustomize, *args], cwd=overlay, check=True, capture_output=True)
    expected = by_hand([kustomize, "build", str(overlay)], cwd=by_hand_copy)
    assert canonical(rendered(root, "shop-prod")) == canonical(expected)
    assert "namePrefix" not in (root / "overlays/prod/kustomization.yaml").read_text()  # the repository is untouched


@pytest.mark.parametrize("app, release, namespace, extra", [
    ("shop-staging", "shop-staging", "shop-staging", ["--values", "values-staging.yaml"]),
    ("shop-prod", "shop", "shop-prod", ["--set", "image.tag=2.0.0", "--values", "values-prod.yaml"]),
])
def test_helm_rendering_equals_helm_template(tools, tmp_path, app, release, namespace, extra):
    root = FIXTURES / "helm-chart"
    chart = tmp_path / "charts"
    shutil.copytree(root / "charts", chart)  # helm dependency build writes into the chart
    helm = str(tools["helm"])
    subprocess.run([helm, "dependency", "build"], cwd=chart / "shop", check=True, capture_output=True)
    expected = by_hand([helm, "template", ".", "--name-template", release, "--namespace", namespace,
                        "--kube-version", _kube_version(), *extra, "--include-crds"], cwd=chart / "shop")
    assert canonical(rendered(root, app)) == canonical(expected)


def test_multi_source_rendering_equals_helm_template_with_the_ref_values(tools):
    root = FIXTURES / "multi-source"
    helm = str(tools["helm"])
    expected = by_hand([helm, "template", ".", "--name-template", "shop", "--namespace", "shop-prod",
                        "--kube-version", _kube_version(), "--values", str(root / "environments/prod/values.yaml"),
                        "--include-crds"], cwd=root / "chart")
    expected += [yaml.safe_load((root / "extra/configmap.yaml").read_text())]
    assert canonical(rendered(root, "shop")) == canonical(expected)


def _kube_version() -> str:
    from wavegate.schemas.kubernetes import resolve_version

    return resolve_version(None)


def test_a_tools_own_configuration_is_no_manifest_unless_an_application_syncs_it(tmp_path):
    """kind's, k3d's and skaffold's configuration files look like manifests (apiVersion, kind) but
    no API server serves their groups (argoproj/argo-helm: a kind cluster config was an error,
    "no metadata.name"). A folder an Application syncs is applied whole, so there it still counts."""
    root = copy("kustomize-overlays", tmp_path)
    (root / ".github").mkdir()
    (root / ".github/kind.yaml").write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n")
    (root / "skaffold.yaml").write_text("apiVersion: skaffold/v4beta6\nkind: Config\nbuild: {}\n")
    (root / "k3d.yaml").write_text("apiVersion: k3d.io/v1alpha4\nkind: Simple\nmetadata:\n  name: dev\nservers: 1\n")
    assert [f for f in check_repo(root) if f.path in (".github/kind.yaml", "skaffold.yaml", "k3d.yaml")] == []
    (root / "plain").mkdir()
    (root / "plain/kind.yaml").write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    edit(root / "argocd/dev.yaml", "path: overlays/dev", "path: plain")
    assert [f.rule for f in check_repo(root) if f.path == "plain/kind.yaml"]


def test_test_data_is_read_only_where_an_application_syncs_it(tmp_path):
    """A `testdata` folder holds test fixtures, often broken on purpose (argoproj/argo-rollouts'
    kubectl plugin): no root, no top-level Application. An Application that syncs one is obeyed."""
    root = copy("kustomize-overlays", tmp_path)
    invalid = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    tier: not valid!\n"
    (root / "cmd/lint/testdata/chart/templates").mkdir(parents=True)
    (root / "cmd/lint/testdata/invalid.yaml").write_text(invalid)
    (root / "cmd/lint/testdata/app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: fixture, namespace: argocd}\n"
        "spec: {project: default, source: {repoURL: https://gitlab.example.com/team/shop.git, path: nowhere},\n"
        "       destination: {server: https://kubernetes.default.svc, namespace: x}}\n")
    (root / "cmd/lint/testdata/kustomization.yaml").write_text("resources: [missing.yaml]\n")
    (root / "cmd/lint/testdata/chart/Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (root / "cmd/lint/testdata/chart/templates/cm.yaml").write_text("{{ fail \"on purpose\" }}\n")
    assert [f for f in check_repo(root) if f.path.startswith("cmd/")] == []
    (root / "synced/testdata").mkdir(parents=True)
    (root / "synced/testdata/invalid.yaml").write_text(invalid)
    edit(root / "argocd/dev.yaml", "path: overlays/dev", "path: synced/testdata")
    assert [(f.path, f.line) for f in with_rule(check_repo(root), "label-invalid")] == [("synced/testdata/invalid.yaml", 6)]
