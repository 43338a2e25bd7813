"""The kro health check shipped for argocd-cm, run by a real Lua 5.1 runtime (Argo CD uses gopher-lua,
a Lua 5.1 implementation), and the rule that asks for it."""

import re
import textwrap

import pytest
from lupa import lua51

from tests.helpers import REPO_ROOT, check_repo, with_rule, write_repo
from wavegate.load import parse_documents, read_yaml

CM_PATH = REPO_ROOT / "templates" / "argocd" / "argocd-cm-kro-health.yaml"
RULE = "kro-instance-health-unknown-to-argocd"


def config_map() -> dict:
    documents, problems = read_yaml(CM_PATH)
    assert not problems and len(documents) == 1
    return documents[0].data


def scripts() -> dict[str, str]:
    data = config_map()["data"]
    legacy, problems = parse_documents("resource.customizations", data["resource.customizations"], require_object=False)
    assert not problems
    return {"per-kind": data["resource.customizations.health.kro.run_CICDPipeline"],
            "wildcard": legacy[0].data["kro.run/*"]["health.lua"]}


def run(script: str, obj: dict) -> dict:
    """Run a health script the way Argo CD does: `obj` is a global table, the chunk returns `hs`.
    Only the base and table libraries are open, as in Argo CD without useOpenLibs."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
    lua.execute("string = nil; os = nil; io = nil; math = nil; debug = nil; require = nil; loadstring = nil; "
                "dofile = nil; loadfile = nil; python = nil")
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    return {"status": result["status"], "message": result["message"]}


def instance(status=None, generation=1, deleting=False) -> dict:
    obj = {"apiVersion": "kro.run/v1alpha1", "kind": "CICDPipeline",
           "metadata": {"name": "web-cicd-pipeline", "namespace": "team-web", "generation": generation}}
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-11-26T10:00:00Z"
    if status is not None:
        obj["status"] = status
    return obj


def ready(status, reason=None, message=None, generation=1) -> dict:
    condition = {"type": "Ready", "status": status, "observedGeneration": generation,
                 "lastTransitionTime": "2026-11-26T10:00:00Z"}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


CASES = [
    ("no status yet", instance(), "Progressing", "Waiting for kro"),
    ("status without state or conditions", instance({}), "Progressing", "Waiting for kro"),
    ("ACTIVE and Ready", instance({"state": "ACTIVE", "conditions": [ready("True", "Ready", "all resources are ready")]}),
     "Healthy", "all resources are ready"),
    ("IN_PROGRESS, Ready False with a reason",
     instance({"state": "IN_PROGRESS", "conditions": [
         {"type": "InstanceManaged", "status": "True"},
         ready("False", "ResourcesNotReady", "waiting for ecrmainrepo")]}),
     "Progressing", "ResourcesNotReady: waiting for ecrmainrepo"),
    ("IN_PROGRESS without conditions", instance({"state": "IN_PROGRESS"}), "Progressing", "IN_PROGRESS"),
    ("ERROR with Ready False", instance({"state": "ERROR", "conditions": [
        ready("False", "ReconcileFailed", "ecr repository: AccessDenied")]}),
     "Degraded", "ERROR: ReconcileFailed: ecr repository: AccessDenied"),
    ("FAILED, only another condition says why", instance({"state": "FAILED", "conditions": [
        {"type": "GraphResolved", "status": "False", "message": "cannot resolve ${schema.spec.x}"}]}),
     "Degraded", "cannot resolve"),
    ("ACTIVE but Ready False", instance({"state": "ACTIVE", "conditions": [ready("False", "ResourceDrifted")]}),
     "Degraded", "ResourceDrifted"),
    ("Ready Unknown", instance({"state": "IN_PROGRESS", "conditions": [ready("Unknown")]}), "Progressing", "Not ready yet"),
    ("DELETING", instance({"state": "DELETING", "conditions": [ready("False")]}), "Progressing", "deleted"),
    ("deletionTimestamp set", instance({"state": "ACTIVE", "conditions": [ready("True")]}, deleting=True),
     "Progressing", "deleted"),
    ("Ready True but about an older generation",
     instance({"state": "ACTIVE", "conditions": [ready("True", generation=1)]}, generation=2),
     "Progressing", "generation 2"),
    ("RGD Active", {"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition", "metadata": {"name": "x", "generation": 1},
                    "status": {"state": "Active", "conditions": [ready("True")]}}, "Healthy", "Ready"),
    ("RGD Inactive", {"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition", "metadata": {"name": "x", "generation": 1},
                      "status": {"state": "Inactive", "conditions": [
                          {"type": "GraphAccepted", "status": "False", "reason": "InvalidResourceGraph", "message": "cycle"},
                          ready("False", "InvalidResourceGraph", "cycle")]}}, "Degraded", "Inactive"),
]


@pytest.mark.parametrize("form", ["per-kind", "wildcard"])
@pytest.mark.parametrize("name, obj, status, message", CASES, ids=[c[0] for c in CASES])
def test_health_in_every_state(form, name, obj, status, message):
    health = run(scripts()[form], obj)
    assert health["status"] == status, health
    assert message in health["message"], health


def test_both_forms_hold_the_same_script():
    forms = scripts()
    assert textwrap.dedent(forms["per-kind"]) == textwrap.dedent(forms["wildcard"])


def test_config_map_keys_are_valid_kubernetes_keys():
    # ConfigMap keys allow only [-._a-zA-Z0-9]: a wildcard can live only inside resource.customizations.
    data = config_map()["data"]
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", key) for key in data)
    assert config_map()["metadata"] == {"name": "argocd-cm", "namespace": "argocd",
                                        "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}}


def test_the_origins_later_check_misses_states_ours_handles():
    """The origin's argocd-cm (appmod-blueprints at fcc75366) calls an instance whose Ready is stale
    after an update Healthy; and one being deleted Healthy. Ours says Progressing."""
    from tests.helpers import shared

    origin_cm = shared("reference", "appmod-blueprints", "at-fcc75366", "gitops", "addons", "charts",
                       "argocd-health-checks", "argocd-cm.yaml")
    documents, _ = read_yaml(origin_cm)
    blocks, _ = parse_documents("x", documents[0].data["data"]["resource.customizations"], require_object=False)
    origin = blocks[0].data["kro.run/*"]["health.lua"]
    stale = instance({"state": "ACTIVE", "conditions": [ready("True", generation=1)]}, generation=2)
    deleting = instance({"state": "DELETING", "conditions": [ready("True")]})
    assert run(origin, stale)["status"] == "Healthy" and run(scripts()["per-kind"], stale)["status"] == "Progressing"
    assert run(origin, deleting)["status"] == "Healthy" and run(scripts()["per-kind"], deleting)["status"] == "Progressing"


# --- the rule -------------------------------------------------------------------------------------

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: team-web
  annotations:
    argocd.argoproj.io/sync-wave: "0"
"""
PIPELINE = """
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata:
  name: web-cicd-pipeline
  namespace: team-web
  annotations:
    argocd.argoproj.io/sync-wave: "1"
"""
LATER = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: uses-the-pipeline
  namespace: team-web
  annotations:
    argocd.argoproj.io/sync-wave: "2"
"""
CM_WITHOUT = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  resource.customizations.health.cert-manager.io_Certificate: |
    hs = {status = "Healthy"}
    return hs
"""


def repo(tmp_path, files):
    return check_repo(write_repo(tmp_path, files))


def test_later_wave_without_any_configured_argocd_cm_warns(tmp_path):
    findings = with_rule(repo(tmp_path, {"ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE, "later.yaml": LATER}), RULE)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity.name == "WARNING" and finding.path == "later.yaml"
    assert finding.line == 7  # the sync-wave annotation of the resource that relies on the order
    assert "wave 2" in finding.message and "CICDPipeline/web-cicd-pipeline (wave 1)" in finding.message
    assert "argocd.configMap" in finding.message and "argocd-cm-kro-health.yaml" in finding.hint


def test_configured_argocd_cm_without_a_kro_check_warns(tmp_path):
    findings = with_rule(repo(tmp_path, {
        "ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE, "later.yaml": LATER,
        "platform/argocd-cm.yaml": CM_WITHOUT,
        ".wavegate.yaml": "argocd:\n  configMap: platform/argocd-cm.yaml\n"}), RULE)
    assert len(findings) == 1
    assert "platform/argocd-cm.yaml has no health check for kro.run/CICDPipeline" in findings[0].message
    assert "resource.customizations.health.kro.run_CICDPipeline" in findings[0].hint


def test_missing_configured_file_is_a_configuration_error(tmp_path):
    from wavegate.config import ConfigError

    with pytest.raises(ConfigError, match=r"\.wavegate\.yaml:2:14: argocd\.configMap: 'nowhere/argocd-cm\.yaml' is not a file"):
        repo(tmp_path, {"ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE, "later.yaml": LATER,
                        ".wavegate.yaml": "argocd:\n  configMap: nowhere/argocd-cm.yaml\n"})


@pytest.mark.parametrize("form", ["shipped", "per-kind", "wildcard"])
def test_argocd_cm_with_a_kro_check_passes(tmp_path, form):
    if form == "shipped":
        cm = CM_PATH.read_text()
    elif form == "per-kind":
        cm = CM_WITHOUT + "  resource.customizations.health.kro.run_CICDPipeline: |\n    hs = {}\n    return hs\n"
    else:
        cm = CM_WITHOUT + '  resource.customizations: |\n    "kro.run/*":\n      health.lua: |\n        return {}\n'
    findings = with_rule(repo(tmp_path, {
        "ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE, "later.yaml": LATER,
        "platform/argocd-cm.yaml": cm, ".wavegate.yaml": "argocd:\n  configMap: platform/argocd-cm.yaml\n"}), RULE)
    assert findings == []


OPERATOR = """
apiVersion: argoproj.io/v1beta1
kind: ArgoCD
metadata:
  name: openshift-gitops
  namespace: openshift-gitops
spec:
  resourceHealthChecks:
    - group: cert-manager.io
      kind: Certificate
      check: |
        return {status = "Healthy"}
"""


@pytest.mark.parametrize("covered", [False, True])
def test_the_operators_argocd_resource_gives_the_health_checks_it_writes_into_argocd_cm(tmp_path, covered):
    operator = OPERATOR + ("    - group: kro.run\n      kind: CICDPipeline\n      check: |\n        return {}\n"
                           if covered else "")
    findings = with_rule(repo(tmp_path, {
        "ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE, "later.yaml": LATER, "platform/argocd.yaml": operator,
        ".wavegate.yaml": "argocd:\n  configMap: platform/argocd.yaml\n"}), RULE)
    if covered:
        assert findings == []
    else:
        [finding] = findings
        assert "platform/argocd.yaml has no health check for kro.run/CICDPipeline" in finding.message


def test_nothing_after_the_instance_needs_no_health_check(tmp_path):
    # The golden-path layout: Namespace (0), CICDPipeline (1), nothing later.
    assert with_rule(repo(tmp_path, {"ns.yaml": NAMESPACE, "pipeline.yaml": PIPELINE}), RULE) == []


def test_waves_of_other_applications_do_not_count(tmp_path):
    app = """
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
        targetRevision: main
      destination:
        server: https://kubernetes.default.svc
        namespace: team-web
    """
    findings = with_rule(repo(tmp_path, {
        "apps/a.yaml": app.format(name="a", path="a"), "apps/b.yaml": app.format(name="b", path="b"),
        "a/ns.yaml": NAMESPACE, "a/pipeline.yaml": PIPELINE, "b/later.yaml": LATER}), RULE)
    assert findings == []
