"""wavegate dry-run against the real local control plane (etcd + kube-apiserver from install-tools)."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import EXAMPLES, REPO_ROOT, widget_crd, write_repo
from wavegate import pipeline
from wavegate.cluster import LocalCluster
from wavegate.dryrun.run import dry_run, prerequisites

pytestmark = pytest.mark.integration

REPO_URL = "https://gitlab.example.com/team/app.git"


def crd(wave: str) -> str:
    return widget_crd("""
        type: object
        properties:
          size: {type: integer, minimum: 1}
        """, annotations={"argocd.argoproj.io/sync-wave": wave})


WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: {name}
  namespace: {namespace}
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  size: 2
  {extra}
"""
APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source: {{repoURL: "%s", path: {path}, targetRevision: main}}
  destination: {{server: "https://kubernetes.default.svc", namespace: {namespace}}}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
""" % REPO_URL  # noqa: UP031 - the YAML's braces are not placeholders


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster() as running:
        yield running


def run(root, cluster, schemas=(), policies=None):
    ctx = pipeline.render(pipeline.prepare(pipeline.Options(root=root, repo_url=REPO_URL))).ctx
    return dry_run(ctx, cluster, prerequisites(tuple(map(str, schemas)), policies))


def test_custom_resource_with_a_field_its_crd_lacks_is_refused_at_that_line(tmp_path, cluster):
    write_repo(tmp_path, {
        "argocd/app.yaml": APP.format(name="widgets-a", path="manifests", namespace="team-a"),
        "manifests/crd.yaml": crd(wave="0"),
        "manifests/widget.yaml": WIDGET.format(name="w", namespace="team-a", extra="colour: blue"),
    })
    report = run(tmp_path, cluster)
    [finding] = report.findings
    assert finding.rule == "dry-run-refused" and finding.path == "manifests/widget.yaml"
    assert finding.line == 10, finding  # the `colour:` line
    assert "colour" in finding.message


def write_kind_and_resource(root, app: str, namespace: str, kind: str, crd_wave: str) -> None:
    """An Application syncing a CRD of its own kind `kind` (in wave `crd_wave`) and one resource of
    that kind (in wave 1); each test names its own kind, since they share one API server."""
    write_repo(root, {
        "argocd/app.yaml": APP.format(name=app, path="manifests", namespace=namespace),
        "manifests/crd.yaml": crd(wave=crd_wave).replace("widgets.example.com", f"{kind.lower()}s.example.com")
            .replace("Widget", kind).replace("widget", kind.lower()),
        "manifests/resource.yaml": WIDGET.format(name="g", namespace=namespace, extra="").replace("Widget", kind),
    })


def test_crd_written_in_a_later_wave_is_moved_before_its_resources_as_argo_cd_does(tmp_path, cluster):
    write_kind_and_resource(tmp_path, "widgets-b", "team-b", "Gadget", crd_wave="3")
    report = run(tmp_path, cluster)
    assert report.findings == []
    assert [a.outcome.applied for a in report.applied if a.plan != "Argo CD objects"] == [True, True]
    assert [a.manifest.kind for a in report.applied if a.plan == "Argo CD objects"] == ["Application"]


def test_a_crd_is_established_before_the_next_object_of_its_wave_is_applied(tmp_path, cluster, monkeypatch):
    # Argo CD waits for each CRD it applies (gitops-engine's ensureCRDReady) before the next
    # object; waiting only at the end of the wave lost a race with the CRD's own resources.
    from wavegate.dryrun.server import Server

    calls: list[tuple[str, str]] = []
    apply, wait = Server.apply, Server.wait_established

    def recorded_apply(self, body, namespace):
        calls.append(("apply", body.get("kind", "")))
        return apply(self, body, namespace)

    def recorded_wait(self, names, *args, **kwargs):
        calls.extend(("wait", name) for name in names)
        return wait(self, names, *args, **kwargs)

    monkeypatch.setattr(Server, "apply", recorded_apply)
    monkeypatch.setattr(Server, "wait_established", recorded_wait)
    write_kind_and_resource(tmp_path, "widgets-c", "team-c", "Gizmo", crd_wave="1")
    report = run(tmp_path, cluster)
    assert report.findings == []
    gizmo = calls.index(("apply", "Gizmo"))
    assert calls[gizmo - 2:gizmo + 1] == [("apply", "CustomResourceDefinition"), ("wait", "gizmos.example.com"),
                                          ("apply", "Gizmo")], calls



def test_a_crd_whose_names_are_taken_is_not_waited_for(cluster):
    # Another CRD already serves the plural: the API server never establishes this one
    # (NamesAccepted=False), so waiting the full timeout for it would only delay the dry-run.
    import time

    from wavegate.dryrun.server import Server

    def crd_named(name):
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": name},
                "spec": {"group": "taken.example.com", "scope": "Namespaced",
                         "names": {"plural": "things", "singular": "thing", "kind": "Thing",
                                   "listKind": "ThingList", "shortNames": ["th"]},
                         "versions": [{"name": "v1", "served": True, "storage": True,
                                       "schema": {"openAPIV3Schema": {"type": "object"}}}]}}

    server = Server(cluster)
    try:
        first = crd_named("things.taken.example.com")
        assert server.apply(first, None).applied
        assert server.wait_established([first["metadata"]["name"]]) == []
        second = crd_named("stuff.taken.example.com")  # another plural, the same kind and short name
        second["spec"]["names"].update(plural="stuff", singular="stuff")
        assert server.apply(second, None).applied  # (accepted: the conflict shows only in its status)
        began = time.monotonic()
        assert server.wait_established([second["metadata"]["name"]]) == [second["metadata"]["name"]]
        assert time.monotonic() - began < 10
    finally:
        server.close()


RGD = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: pipelines.kro.run
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  schema:
    apiVersion: v1alpha1
    kind: Pipeline
    spec:
      name: string | required=true
"""
INSTANCE = """
apiVersion: kro.run/v1alpha1
kind: Pipeline
metadata:
  name: p
  namespace: team-c
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  name: p
"""


def test_kro_instance_in_an_earlier_wave_than_its_rgd_fails_as_argo_cds_sync_would(tmp_path, cluster):
    write_repo(tmp_path, {
        "argocd/app.yaml": APP.format(name="pipelines", path="manifests", namespace="team-c"),
        "manifests/rgd.yaml": RGD.format(wave="2"),
        "manifests/instance.yaml": INSTANCE.format(wave="1"),
    })
    report = run(tmp_path, cluster)
    [finding] = report.findings
    assert finding.rule == "dry-run-unknown-kind" and finding.path == "manifests/instance.yaml"


POLICY = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: configmaps-need-owner
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["configmaps"]
  validations:
    - expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels"
      message: "every ConfigMap needs an owner label"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: configmaps-need-owner
spec:
  policyName: configmaps-need-owner
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {policy-test: "yes"}
"""


def test_admission_policy_installed_first_denies_with_its_message(tmp_path, cluster):
    policies = tmp_path / "policies"
    write_repo(policies, {"owner.yaml": POLICY})
    repo = tmp_path / "repo"
    write_repo(repo, {
        "manifests/ns.yaml": 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-d\n  labels: {policy-test: "yes"}\n',
        "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-d\ndata: {a: b}\n",
    })
    report = run(repo, cluster, policies=str(policies))
    [finding] = report.findings
    assert finding.rule == "dry-run-refused" and finding.path == "manifests/cm.yaml"
    assert "every ConfigMap needs an owner label" in finding.message
    assert "configmaps-need-owner" in finding.message


def test_clean_generated_repository_applies_with_no_finding_and_leaves_nothing_behind(tmp_path):
    # A temporary folder of its own (other test processes share /tmp): empty again afterwards.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, "-m", "wavegate", "dry-run", str(EXAMPLES / "clean"),
                           "--cluster", "local", "--format", "json"], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["findings"] == []
    assert os.listdir(scratch) == []
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(EXAMPLES) not in ps


WARN_POLICY = POLICY.replace("configmaps-need-owner", "configmaps-should-have-team").replace(
    "'owner' in object.metadata.labels", "'team' in object.metadata.labels").replace(
    "every ConfigMap needs an owner label", "ConfigMaps should carry a team label").replace(
    "validationActions: [Deny]", "validationActions: [Warn]").replace('policy-test: "yes"', 'warn-test: "yes"')


def test_server_warnings_become_warning_findings_and_applied_objects_report_http_status(tmp_path, cluster):
    policies = tmp_path / "policies"
    write_repo(policies, {"team.yaml": WARN_POLICY})
    repo = tmp_path / "repo"
    write_repo(repo, {
        "manifests/ns.yaml": 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-e\n  labels: {warn-test: "yes"}\n',
        "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-e\n",
    })
    report = run(repo, cluster, policies=str(policies))
    assert all(a.outcome.applied and a.outcome.status in (200, 201) for a in report.applied)
    [finding] = report.findings
    assert finding.rule == "dry-run-server-warning" and finding.path == "manifests/cm.yaml"
    assert "ConfigMaps should carry a team label" in finding.message


def test_a_prerequisite_the_server_refuses_is_reported_at_its_file(tmp_path, cluster):
    schemas = tmp_path / "schemas"
    broken = crd(wave="0").replace("widgets.example.com", "sprockets.example.com").replace(
        "Widget", "Sprocket").replace("widget", "sprocket").replace("type: integer, minimum: 1", "type: integr")
    write_repo(schemas, {"sprocket-crd.yaml": broken})
    repo = tmp_path / "repo"
    write_repo(repo, {"manifests/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-f\n"})
    report = run(repo, cluster, schemas=[schemas / "sprocket-crd.yaml"])
    [finding] = report.findings
    assert finding.rule == "dry-run-prerequisite-refused" and finding.path.endswith("sprocket-crd.yaml")
    assert "sprockets.example.com" in finding.message and "integr" in finding.message


def test_an_application_that_renders_nothing_is_reported_at_its_path(tmp_path, cluster):
    write_repo(tmp_path, {
        "argocd/app.yaml": APP.format(name="typo", path="manifest", namespace="team-g"),
        "manifests/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-g\n",
    })
    [finding] = run(tmp_path, cluster).findings
    assert finding.rule == "dry-run-nothing-rendered" and finding.path == "argocd/app.yaml"
    assert "'manifest' does not exist" in finding.message and finding.line == 8  # the `source:` line


def test_the_applications_and_projects_themselves_get_the_servers_verdict(tmp_path, cluster):
    project = ("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team-h\n  namespace: argocd\n"
               "spec:\n  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: team-h}]\n")
    write_repo(tmp_path, {
        "argocd/project.yaml": project,
        "argocd/app.yaml": APP.format(name="team-h", path="manifests", namespace="team-h").replace(
            "syncOptions: [CreateNamespace=true]", "syncOptions: [CreateNamespace=true]\n    automatd: {}"),
        "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: b}\n",
    })
    report = run(tmp_path, cluster)
    applied = {(a.manifest.kind, a.plan): a.outcome.applied for a in report.applied}
    assert applied[("AppProject", "Argo CD objects")] is True
    assert applied[("Application", "Argo CD objects")] is False
    assert applied[("ConfigMap", "team-h")] is True
    [finding] = report.findings
    assert finding.rule == "dry-run-refused" and (finding.path, finding.line) == ("argocd/app.yaml", 12)
    assert "automatd" in finding.message


def test_pod_security_is_enforced_on_workloads_not_only_warned_about(tmp_path, cluster):
    """The API server's own PodSecurity only warns about a Deployment whose Pods it will refuse;
    the shipped pod-security-restricted policy, installed by the dry-run, refuses the Deployment."""
    from wavegate.policy import builtin_policy_dir

    write_repo(tmp_path, {
        "argocd/app.yaml": APP.format(name="secure", path="manifests", namespace="team-secure"),
        "manifests/namespace.yaml": """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: team-secure
              labels: {pod-security.kubernetes.io/enforce: restricted}
            """,
        "manifests/deployment.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: team-secure}
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
                  containers:
                    - name: app
                      image: registry.example.com/web:1.0.0
                      securityContext: {capabilities: {drop: [ALL]}}
            """,
    })
    report = run(tmp_path, cluster, policies=str(builtin_policy_dir()))
    refused = [f for f in report.findings if f.rule == "dry-run-refused" and f.path.startswith("manifests/")]
    assert [f.path for f in refused] == ["manifests/deployment.yaml"], report.findings
    assert ("ValidatingAdmissionPolicy 'pod-security-restricted' with binding 'pod-security-restricted' denied request: "
            "its pod template violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false "
            "(container \"app\" must set securityContext.allowPrivilegeEscalation=false)") in refused[0].message
