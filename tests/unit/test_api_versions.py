"""API versions the target Kubernetes release removed (an error at the apiVersion line naming the
replacement) or deprecated (a warning naming the removal), from k8s.io/api's lifecycle data
(data/api-lifecycle.json, scripts/generate-api-lifecycle); the table is checked against the bundled
schemas of every Kubernetes version wavegate ships."""

import pytest

from tests.helpers import check_repo, write_repo
from wavegate.schemas import kubernetes
from wavegate.validators.api_versions import table

DEPLOYMENT = """\
apiVersion: {api_version}
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "nginx:1.27"}}]}}
"""
HPA = """\
apiVersion: autoscaling/{version}
kind: HorizontalPodAutoscaler
metadata: {{name: web, namespace: default}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 3
"""


def _findings(root, files, version=None):
    if version:
        files = {**files, ".wavegate.yaml": f"kubernetesVersion: '{version}'\n"}
    write_repo(root, files)
    return [f for f in check_repo(root) if f.rule.startswith("api-version-") or f.rule.startswith("schema-unknown")]


def test_a_removed_version_is_an_error_at_the_api_version_line_naming_the_replacement(tmp_path):
    [finding] = _findings(tmp_path, {"d.yaml": DEPLOYMENT.format(api_version="extensions/v1beta1")})
    assert finding.rule == "api-version-removed" and str(finding.severity) == "error"
    assert (finding.line, finding.column) == (1, 13)  # the value of apiVersion
    assert finding.message == ("extensions/v1beta1 Deployment was removed in Kubernetes 1.16 (the target is 1.37); "
                               "use apps/v1")
    assert finding.hint.startswith("Change apiVersion to apps/v1")


def test_a_removed_kind_without_replacement_says_so(tmp_path):
    psp = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\nspec: {}\n"
    [finding] = _findings(tmp_path, {"psp.yaml": psp})
    assert finding.rule == "api-version-removed"
    assert finding.message.startswith("policy/v1beta1 PodSecurityPolicy was removed in Kubernetes 1.25")
    assert "Pod Security Admission" in finding.hint


def test_a_served_version_passes(tmp_path):
    assert _findings(tmp_path, {"d.yaml": DEPLOYMENT.format(api_version="apps/v1")}) == []


def test_the_target_version_decides_deprecated_or_removed(tmp_path):
    [deprecated] = _findings(tmp_path / "a", {"h.yaml": HPA.format(version="v2beta2")}, version="1.25")
    assert deprecated.rule == "api-version-deprecated" and str(deprecated.severity) == "warning"
    assert deprecated.message == ("autoscaling/v2beta2 HorizontalPodAutoscaler is deprecated since Kubernetes 1.23 "
                                  "and is removed in 1.26; use autoscaling/v2")
    [removed] = _findings(tmp_path / "b", {"h.yaml": HPA.format(version="v2beta2")}, version="1.26")
    assert removed.rule == "api-version-removed"
    assert _findings(tmp_path / "c", {"h.yaml": HPA.format(version="v2")}, version="1.25") == []


def test_a_chain_of_replacements_leads_to_a_served_version(tmp_path):
    flow = ("apiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: FlowSchema\nmetadata: {name: f}\n"
            "spec: {priorityLevelConfiguration: {name: global-default}}\n")
    [finding] = _findings(tmp_path, {"f.yaml": flow})
    # v1beta2 names v1beta3 as its replacement, itself removed in 1.32: the served one is v1.
    assert finding.message.endswith("use flowcontrol.apiserver.k8s.io/v1")


@pytest.mark.parametrize("version", kubernetes.available_versions())
def test_the_table_agrees_with_the_bundled_schemas_of(version):
    """No kind the table calls removed (or not yet introduced) at a version is in that version's
    schemas; and every kind that disappears from one version's schemas to the next is one the table
    removes there."""
    at = tuple(int(p) for p in version.split("."))
    kinds = set(kubernetes.schemas_for(version).kinds)
    for key, life in table().items():
        served = (life.introduced is None or at >= life.introduced) and (life.removed is None or at < life.removed)
        assert served or key not in kinds, (key, life)
    versions = kubernetes.available_versions()
    if version == versions[0]:
        return
    before = set(kubernetes.schemas_for(versions[versions.index(version) - 1]).kinds)
    gone = {k for k in before - kinds if "alpha" not in k[1] and not k[2].endswith("List")
            and k[2] not in ("DeleteOptions", "WatchEvent")}
    unexplained = {k for k in gone if not (k in table() and table()[k].removed and table()[k].removed <= at)}
    assert unexplained == set()


CLAIM = "apiVersion: resource.k8s.io/{version}\nkind: ResourceClaim\nmetadata: {{name: c, namespace: default}}\nspec: {{}}\n"


def test_a_beta_api_a_default_cluster_does_not_serve_is_an_error_naming_the_stable_one(tmp_path):
    [finding] = _findings(tmp_path, {"c.yaml": CLAIM.format(version="v1beta2")})
    assert finding.rule == "api-version-not-enabled" and (finding.line, finding.column) == (1, 13)
    assert "serves only when the API server enables it (--runtime-config=resource.k8s.io/v1beta2=true)" in finding.message
    assert finding.hint == "Change apiVersion to resource.k8s.io/v1."


def test_the_stable_api_is_served(tmp_path):
    assert _findings(tmp_path, {"c.yaml": CLAIM.format(version="v1")}) == []


def test_betas_from_before_1_24_were_served_by_default(tmp_path):
    # KEP-3136: only betas introduced from 1.24 on are off by default; autoscaling/v2beta2 (1.12) was on.
    assert [f.rule for f in _findings(tmp_path, {"h.yaml": HPA.format(version="v2beta2")}, version="1.25")] == [
        "api-version-deprecated"]


FLOW_SCHEMA = """\
apiVersion: flowcontrol.apiserver.k8s.io/{version}
kind: FlowSchema
metadata: {{name: batch}}
spec:
  priorityLevelConfiguration: {{name: workload-low}}
"""


def test_flowcontrol_v1beta3_was_served_by_default_although_it_came_after_1_24(tmp_path):
    # kube-apiserver's legacyBetaEnabledByDefaultResources (1.26 to 1.31): deprecated, never "not enabled".
    assert [f.rule for f in _findings(tmp_path, {"f.yaml": FLOW_SCHEMA.format(version="v1beta3")}, version="1.31")] == [
        "api-version-deprecated"]
    # Other betas of the same release stay off by default.
    assert [f.rule for f in _findings(tmp_path / "claim", {"c.yaml": CLAIM.format(version="v1beta2")}, version="1.34")] \
        == ["api-version-not-enabled"]
