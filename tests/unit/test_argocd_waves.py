from tests.helpers import check_repo, with_rule, write_repo

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: web
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
"""
CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: web
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
"""


def test_unparsable_sync_wave_is_reported_at_the_annotation_value(tmp_path):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE.format(wave="1.5")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-not-integer")
    assert (finding.line, finding.column) == (6, 35)
    assert "silently uses wave 0" in finding.message


def test_sync_wave_written_as_number_is_reported(tmp_path):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE.replace('"{wave}"', "2")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-not-integer")
    assert "not a string" in finding.message


def test_integer_sync_waves_pass_including_signs(tmp_path):
    write_repo(tmp_path, {"a.yaml": NAMESPACE.format(wave="-1"), "b.yaml": CONFIGMAP.format(wave="+3")})
    assert with_rule(check_repo(tmp_path), "sync-wave-not-integer") == []


def test_namespace_after_its_resources(tmp_path):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE.format(wave="2"), "cm.yaml": CONFIGMAP.format(wave="1")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-namespace-after-resources")
    assert finding.path == "ns.yaml" and finding.line == 6
    assert "wave 2" in finding.message and "wave 1" in finding.message


def test_namespace_before_its_resources_passes(tmp_path):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE.format(wave="0"), "cm.yaml": CONFIGMAP.format(wave="1")})
    assert with_rule(check_repo(tmp_path), "sync-wave-namespace-after-resources") == []


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  group: example.com
  names: {{kind: Widget, plural: widgets}}
  scope: Namespaced
  versions: []
"""
WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  annotations:
    argocd.argoproj.io/sync-wave: "1"
"""


def test_crd_after_its_resources(tmp_path):
    write_repo(tmp_path, {"crd.yaml": CRD.format(wave="3"), "w.yaml": WIDGET})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-crd-after-resources")
    assert finding.path == "crd.yaml"


def test_crd_before_its_resources_passes(tmp_path):
    write_repo(tmp_path, {"crd.yaml": CRD.format(wave="0"), "w.yaml": WIDGET})
    assert with_rule(check_repo(tmp_path), "sync-wave-crd-after-resources") == []


RGD = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: cicdpipelines
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  schema:
    apiVersion: v1alpha1
    kind: CICDPipeline
    spec:
      name: string
"""
INSTANCE = """
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata:
  name: app
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
    {options}
spec:
  name: app
"""


def test_kro_instance_in_same_wave_as_rgd(tmp_path):
    write_repo(tmp_path, {"rgd.yaml": RGD.format(wave="1"), "i.yaml": INSTANCE.format(wave="1", options="")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-kro-instance-before-rgd")
    assert finding.path == "i.yaml" and finding.line == 6
    assert "SkipDryRunOnMissingResource=true" in finding.hint


def test_kro_instance_later_but_without_skip_dry_run(tmp_path):
    write_repo(tmp_path, {"rgd.yaml": RGD.format(wave="0"), "i.yaml": INSTANCE.format(wave="1", options="")})
    [finding] = with_rule(check_repo(tmp_path), "sync-wave-kro-instance-before-rgd")
    assert "dry-run" in finding.message


def test_kro_instance_after_rgd_with_skip_dry_run_passes(tmp_path):
    options = "argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true"
    write_repo(tmp_path, {"rgd.yaml": RGD.format(wave="0"), "i.yaml": INSTANCE.format(wave="1", options=options)})
    assert with_rule(check_repo(tmp_path), "sync-wave-kro-instance-before-rgd") == []
