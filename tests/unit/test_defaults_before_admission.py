"""Policies and CRD CEL rules see the object after defaulting, as the API server's admission does:
structural-schema defaults of CRDs and RGD-generated CRDs, and the defaults of built-in kinds
(compared with a real API server in tests/integration/test_server_differential.py)."""

from pathlib import Path

from tests.helpers import REPO_ROOT, check_repo, widget_crd, with_rule, write_repo
from wavegate.schemas.defaults import builtin_defaults

RGD = (REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml").read_text()
REQUIRED_REGION = 'region: string | required=true enum="us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,' \
                  'eu-central-1,ap-southeast-1,ap-southeast-2,ap-northeast-1"'
assert REQUIRED_REGION in RGD, "the platform RGD changed: update this test's RGD variants"

PIPELINE = """\
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata: {name: web-cicd, namespace: team-web}
spec:
  name: web-cicd
  namespace: team-web
  aws: {accountId: "123456789012", clusterName: peeks-hub-cluster}
  application: {name: web}
  gitlab: {hostname: gitlab.example.com, username: platform}
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-web}\n"


def _pipeline_repo(root: Path, region_field: str) -> Path:
    return write_repo(root, {"rgd/rgd.yaml": RGD.replace(REQUIRED_REGION, region_field),
                             "manifests/pipeline.yaml": PIPELINE, "manifests/namespace.yaml": NAMESPACE})


def test_a_region_the_rgd_defaults_is_what_the_policy_sees(tmp_path):
    # The false alarm of issue 13: "spec.aws.region '' is not an allowed region".
    root = _pipeline_repo(tmp_path, 'region: string | default="us-west-2"')
    assert with_rule(check_repo(root), "policy-violation") == []


def test_a_defaulted_region_outside_the_allowed_list_is_denied_with_its_value(tmp_path):
    root = _pipeline_repo(tmp_path, 'region: string | default="mars-1"')
    [violation] = with_rule(check_repo(root), "policy-violation")
    assert "spec.aws.region 'mars-1' is not an allowed region" in violation.message
    assert violation.path == "manifests/pipeline.yaml"


POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: two-replicas}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: ["*"], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas >= 2"
      messageExpression: "'replicas is ' + string(object.spec.replicas) + ', at least 2 are needed'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: two-replicas}
spec: {policyName: two-replicas, validationActions: [Deny]}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-web}
spec:
  {replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"""


def test_a_builtin_default_is_what_the_policy_sees(tmp_path):
    root = write_repo(tmp_path, {".wavegate.yaml": "policies: policies\n", "policies/p.yaml": POLICY,
                                 "d.yaml": DEPLOYMENT.replace("{replicas}", "minReadySeconds: 0"),
                                 "n.yaml": NAMESPACE})
    [violation] = with_rule(check_repo(root), "policy-violation")
    # Written as nothing, admitted as replicas: 1 (SetDefaults_Deployment), not "no such key".
    assert "replicas is 1, at least 2 are needed" in violation.message


def test_an_explicit_value_is_still_what_the_policy_sees(tmp_path):
    root = write_repo(tmp_path, {".wavegate.yaml": "policies: policies\n", "policies/p.yaml": POLICY,
                                 "d.yaml": DEPLOYMENT.replace("{replicas}", "replicas: 3"), "n.yaml": NAMESPACE})
    assert with_rule(check_repo(root), "policy-violation") == []


CEL_CRD = widget_crd("""
    type: object
    x-kubernetes-validations:
      - {rule: "self.minReplicas <= self.maxReplicas", message: minReplicas must not exceed maxReplicas}
    properties:
      minReplicas: {type: integer, default: 1}
      maxReplicas: {type: integer, default: 3}
    """)


def _widget(spec: str) -> str:
    return f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w, namespace: team-web}}\nspec: {spec}\n"


def test_crd_cel_rules_see_defaults(tmp_path):
    # maxReplicas is defaulted to 3 before the rule runs: 5 > 3 is refused, with the rule's message.
    root = write_repo(tmp_path, {"crd.yaml": CEL_CRD, "w.yaml": _widget("{minReplicas: 5}"), "n.yaml": NAMESPACE})
    [finding] = with_rule(check_repo(root), "schema-cel-rule")
    assert "minReplicas must not exceed maxReplicas" in finding.message


def test_crd_cel_rules_pass_on_defaults_that_satisfy_them(tmp_path):
    root = write_repo(tmp_path, {"crd.yaml": CEL_CRD, "w.yaml": _widget("{minReplicas: 2}"), "n.yaml": NAMESPACE})
    assert with_rule(check_repo(root), "schema-cel-rule") == []


def test_builtin_defaults_follow_the_servers_functions():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx",
                                                                 "ports": [{"containerPort": 80}]}]}}}}
    out = builtin_defaults(deployment, "apps", "v1", "Deployment")
    assert out["spec"]["replicas"] == 1 and out["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    container = out["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"  # no tag: latest
    assert container["ports"][0]["protocol"] == "TCP"
    assert "replicas" not in deployment["spec"]  # the manifest's data is never changed
    secret = builtin_defaults({"kind": "Secret", "stringData": {"a": "b"}}, "", "v1", "Secret")
    assert secret == {"kind": "Secret", "type": "Opaque", "data": {"a": "Yg=="}}


def test_null_fields_are_what_the_api_server_drops_when_it_decodes():
    # `annotations:` written empty is null in YAML, no map at all once decoded into the Go struct.
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": None},
                  "spec": {"template": {"metadata": {"annotations": None},
                                        "spec": {"containers": [{"name": "web", "image": "nginx:1", "env": None}]}}}}
    out = builtin_defaults(deployment, "apps", "v1", "Deployment")
    assert "labels" not in out["metadata"] and out["spec"]["template"]["metadata"] == {}
    assert "env" not in out["spec"]["template"]["spec"]["containers"][0]
    assert deployment["metadata"]["labels"] is None  # the manifest's data is never changed
    job = {"kind": "Job", "metadata": {"name": "j", "labels": {"a": None}},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1",
                                                          "resources": {"requests": {"cpu": None}, "limits": None}}]}}}}
    out = builtin_defaults(job, "batch", "v1", "Job")
    assert out["metadata"]["labels"] == {"a": ""}  # a map's null entry: its zero value, as the server stores it
    assert out["spec"]["template"]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "0"}}
    limits = {"kind": "LimitRange", "spec": {"limits": [{"type": "Container", "max": None, "min": {"cpu": None}}]}}
    assert builtin_defaults(limits, "", "v1", "LimitRange")["spec"]["limits"] == [{"type": "Container",
                                                                                   "min": {"cpu": "0"}}]
    role = {"kind": "Role", "metadata": {"name": "r", "annotations": None}, "rules": []}
    assert builtin_defaults(role, "rbac.authorization.k8s.io", "v1", "Role") == {"kind": "Role",
                                                                                 "metadata": {"name": "r"}, "rules": []}


def test_the_pod_security_policies_read_an_empty_annotations_field_as_none(tmp_path):
    # kubeflow/manifests (katib's postgres): `annotations:` left empty in the pod template made
    # pod-security-baseline's AppArmor control a CEL error ("No matching overloads"), an error finding.
    deployment = DEPLOYMENT.replace("{replicas}", "replicas: 1").replace(
        "metadata: {labels: {app: web}}", "metadata:\n      labels: {app: web}\n      annotations:")
    root = write_repo(tmp_path, {"d.yaml": deployment, "n.yaml": NAMESPACE})
    assert [f.message for f in with_rule(check_repo(root), "policy-violation")] == []


def test_a_custom_resource_the_schema_refuses_never_reaches_the_policies_that_fail_on_it(tmp_path):
    # argoproj-labs/argocd-operator's kubebuilder samples: an Application without spec. The API
    # server refuses it on its schema (spec: Required value) before admission: the policies'
    # `object.spec.project` is never evaluated, so no "resulted in error" finding.
    application = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: example\n"
                   "  namespace: argocd\n  finalizers: [resources-finalizer.argocd.argoproj.io]\n")
    findings = check_repo(write_repo(tmp_path, {"sample.yaml": application}))
    assert [(f.rule, f.message) for f in findings if f.rule in ("schema-required", "policy-violation")] == [
        ("schema-required", "spec: Required value")]
