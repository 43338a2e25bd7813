"""`wavegate adopt` round trip on the real local control plane (etcd + kube-apiserver).

Instances are created the way the old Backstage template did it (`kubectl apply`: a plain create
carrying the last-applied annotation), kro's marks are added (finalizer, labels, status through the
status subresource), then `wavegate adopt` writes the repositories and the generated manifests are
server-side applied as Argo CD would: the objects keep their uid, their spec and generation, and
every label and annotation they had; the only changes are the additions adopt announced (none
with --exact-metadata).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitlab_server import GitLabServer
from tests.helpers import REPO_ROOT
from wavegate.cluster import LocalCluster, ToolNotFoundError, find_tool
from wavegate.kro import crd_for_rgd
from wavegate.load import read_yaml
from wavegate.scaffold.adopt import LAST_APPLIED

pytestmark = pytest.mark.integration

RGD = REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml"
VALUES = "argocd_hostname: argocd.example.com\n"


def wavegate(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})}
    environment.pop("CI_PROJECT_URL", None)
    return subprocess.run([sys.executable, "-m", "wavegate", *map(str, args)], capture_output=True, text=True,
                          env=environment, timeout=120)


def adopt(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "wavegate", "adopt", *map(str, args)],
                          capture_output=True, text=True, env=environment, timeout=120)


def pipeline(name, namespace, app, *, labels=None, annotations=None, spec_name=None, prefix=None):
    spec = {
        "name": spec_name or f"{app}-cicd",
        "namespace": namespace,
        "aws": {"region": "us-west-2", "accountId": "012345678901", "clusterName": "peeks-hub-cluster"},
        "application": {"name": app, "dockerfilePath": ".", "deploymentPath": "./deployment"},
        "gitlab": {"hostname": "gitlab.example.com", "username": "platform"},
    }
    if prefix:
        spec["aws"]["resourcePrefix"] = prefix
    meta = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "kro.run/v1alpha1", "kind": "CICDPipeline", "metadata": meta, "spec": spec}


@pytest.fixture(scope="module")
def cluster():
    for tool in ("kube-apiserver", "etcd"):
        try:
            find_tool(tool)
        except ToolNotFoundError as e:
            pytest.fail(str(e), pytrace=False)
    with LocalCluster() as running:
        yield running


@pytest.fixture(scope="module")
def kube(cluster):
    from kubernetes.dynamic import DynamicClient

    from wavegate.dryrun.server import Server

    api = cluster.api_client()
    dynamic = DynamicClient(api)
    [rgd] = [d.data for d in read_yaml(RGD)[0]]
    crd = crd_for_rgd(rgd)
    dynamic.create(dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"),
                   body=crd)
    server = Server(cluster)
    assert server.wait_established([crd["metadata"]["name"]]) == []
    server.close()
    dynamic.resources.invalidate_cache()
    yield dynamic
    api.close()


def kubectl_apply(dynamic, obj):
    """What `kubectl apply` does to a new object: create it with the last-applied annotation."""
    body = copy.deepcopy(obj)
    body["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(obj, separators=(",", ":"), sort_keys=True)
    namespaces = dynamic.resources.get(api_version="v1", kind="Namespace")
    try:
        dynamic.create(namespaces, body={"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": obj["metadata"]["namespace"],
                                                      "labels": {"team": "payments"}}})
    except Exception:  # noqa: BLE001 - already there
        pass
    resource = dynamic.resources.get(api_version="kro.run/v1alpha1", kind="CICDPipeline")
    dynamic.create(resource, body=body, namespace=obj["metadata"]["namespace"])
    return resource


def mark_as_kro_would(dynamic, resource, name, namespace):
    """kro's instance labeler and finalizer (an update), then its status (the status subresource)."""
    live = dynamic.get(resource, name=name, namespace=namespace).to_dict()
    live["metadata"]["finalizers"] = ["kro.run/finalizer"]
    live["metadata"].setdefault("labels", {}).update({"kro.run/owned": "true", "kro.run/kro-version": "v0.4.0"})
    live = dynamic.replace(resource, body=live, namespace=namespace).to_dict()
    live["status"] = {"state": "ACTIVE", "conditions": [{"type": "Ready", "status": "True",
                                                         "lastTransitionTime": "2025-01-01T00:00:00Z",
                                                         "reason": "Ready", "message": ""}],
                      "serviceAccountName": f"{live['spec']['name']}-sa"}
    dynamic.request("put", resource.path(name=name, namespace=namespace) + "/status", body=live)
    got = dynamic.get(resource, name=name, namespace=namespace).to_dict()
    assert got["status"]["state"] == "ACTIVE" and got["metadata"]["generation"] == 1


def server_side_apply(dynamic, path: Path, manager="argocd-controller"):
    """Apply a generated manifest as Argo CD's server-side apply would -- without forcing conflicts."""
    [document] = [d.data for d in read_yaml(path)[0]]
    resource = dynamic.resources.get(api_version=document["apiVersion"], kind=document["kind"])
    namespace = document["metadata"].get("namespace")
    return dynamic.request("patch", resource.path(name=document["metadata"]["name"], namespace=namespace),
                           body=document, content_type="application/apply-patch+yaml",
                           field_manager=manager, query_params=[("fieldValidation", "Strict")]), document


def snapshot(dynamic, kind, name, namespace=None):
    resource = dynamic.resources.get(api_version="kro.run/v1alpha1" if kind == "CICDPipeline" else "v1", kind=kind)
    obj = dynamic.get(resource, name=name, namespace=namespace).to_dict()
    meta = obj["metadata"]
    return {"uid": meta["uid"], "generation": meta.get("generation"), "spec": obj.get("spec"),
            "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {},
            "finalizers": meta.get("finalizers") or [], "status": obj.get("status")}


def assert_taken_over(before, after, added):
    assert after["uid"] == before["uid"], "the object was re-created"
    assert after["generation"] == before["generation"], "the spec changed"
    assert after["spec"] == before["spec"]
    assert after["finalizers"] == before["finalizers"]
    assert after["status"] == before["status"]
    for section in ("labels", "annotations"):
        for key, value in before[section].items():
            assert after[section].get(key) == value, f"{section}[{key}] changed"
        new = {k: v for k, v in after[section].items() if k not in before[section]}
        assert new == added.get(section, {}), section


def test_adopt_then_server_side_apply_changes_nothing_but_the_announced_metadata(tmp_path, cluster, kube):
    web = pipeline("web-cicd-pipeline", "team-web", "web", labels={"team": "payments"},
                   annotations={"backstage.io/created-by": "jane", "owner": "payments"})
    resource = kubectl_apply(kube, web)
    mark_as_kro_would(kube, resource, "web-cicd-pipeline", "team-web")
    before = snapshot(kube, "CICDPipeline", "web-cicd-pipeline", "team-web")
    ns_before = snapshot(kube, "Namespace", "team-web")
    assert before["spec"]["aws"]["resourcePrefix"] == "peeks"  # defaulted by the API server
    (tmp_path / "values.yaml").write_text(VALUES)

    done = adopt("web-cicd-pipeline", "--kubeconfig", cluster.kubeconfig,
                 "--out", tmp_path / "web", "--values", tmp_path / "values.yaml")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    repo = tmp_path / "web"
    manifest = (repo / "manifests/kro-cicd-pipeline.yaml").read_text()
    for gone in ("status", "uid", "resourceVersion", "managedFields", "creationTimestamp", "generation",
                 "last-applied-configuration", "kro.run/owned", "kro.run/finalizer", "ACTIVE"):
        assert gone not in manifest, gone
    assert 'resourcePrefix: "peeks"' in manifest  # defaults are kept: the repository says what runs
    assert "first sync adds CICDPipeline metadata.annotations[argocd.argoproj.io/sync-wave]=1" in done.stdout

    _, document = server_side_apply(kube, repo / "manifests/namespace.yaml")
    _, document = server_side_apply(kube, repo / "manifests/kro-cicd-pipeline.yaml")
    after = snapshot(kube, "CICDPipeline", "web-cicd-pipeline", "team-web")
    assert_taken_over(before, after, {
        "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "cicd-pipeline",
                   "app.kubernetes.io/managed-by": "argocd"},
        "annotations": {"argocd.argoproj.io/sync-wave": "1"}})
    ns_after = snapshot(kube, "Namespace", "team-web")
    assert ns_after["uid"] == ns_before["uid"] and ns_after["labels"]["team"] == "payments"
    assert ns_after["annotations"]["argocd.argoproj.io/sync-options"] == "Delete=false"

    # Applying the same manifests again is a no-op: nothing left to sync.
    again_before = snapshot(kube, "CICDPipeline", "web-cicd-pipeline", "team-web")
    server_side_apply(kube, repo / "manifests/kro-cicd-pipeline.yaml")
    assert snapshot(kube, "CICDPipeline", "web-cicd-pipeline", "team-web") == again_before

    checked = wavegate("validate", repo, "--schemas", REPO_ROOT / "templates/kro", "--fail-on", "warning")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_exact_metadata_and_all_namespaces_change_nothing_at_all(tmp_path, cluster, kube):
    api = pipeline("api", "team-api", "api", spec_name="api-pipeline", prefix="acme")
    resource = kubectl_apply(kube, api)
    mark_as_kro_would(kube, resource, "api", "team-api")
    worker = pipeline("worker-cicd-pipeline", "team-worker", "worker")
    kubectl_apply(kube, worker)
    names = [("api", "team-api"), ("worker-cicd-pipeline", "team-worker"), ("web-cicd-pipeline", "team-web")]
    before = {n: snapshot(kube, "CICDPipeline", *n) for n in names if _exists(kube, *n)}
    (tmp_path / "values.yaml").write_text(VALUES)

    done = adopt("--all", "--exact-metadata", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "out",
                 "--values", tmp_path / "values.yaml")
    assert done.returncode == 0, done.stderr
    assert "first sync adds" not in done.stdout
    assert "spec.name: kept the cluster's value" in done.stdout
    for name, namespace in before:
        repo = tmp_path / "out" / name
        text = (repo / "manifests/kro-cicd-pipeline.yaml").read_text()
        assert f'name: "{name}"\n' in text
        server_side_apply(kube, repo / "manifests/kro-cicd-pipeline.yaml")
        after = snapshot(kube, "CICDPipeline", name, namespace)
        assert_taken_over(before[(name, namespace)], after, {})
    assert 'spec:\n  name: "api-pipeline"' in (tmp_path / "out/api/manifests/kro-cicd-pipeline.yaml").read_text()
    assert 'resourcePrefix: "acme"' in (tmp_path / "out/api/manifests/kro-cicd-pipeline.yaml").read_text()
    # Without the golden-path labels the catalog entity's selector finds nothing: validate says so
    # (a warning, the price of --exact-metadata), and nothing worse.
    checked = wavegate("validate", tmp_path / "out/api", "--schemas", REPO_ROOT / "templates/kro",
                       "--fail-on", "warning", "--format", "json")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert {f["rule"] for f in json.loads(checked.stdout)["findings"]
            if f["severity"] != "info"} == {"catalog-kubernetes-selector-matches-nothing"}


def test_missing_value_is_one_clear_line_and_nothing_is_written(tmp_path, cluster, kube):
    kubectl_apply(kube, pipeline("db-cicd-pipeline", "team-db", "db"))
    done = adopt("db-cicd-pipeline", "-n", "team-db", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "db")
    assert done.returncode == 2
    assert "argocd_hostname is missing" in done.stderr and "--values" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "db").exists()


def test_unknown_instance_and_unserved_kind_are_clear(tmp_path, cluster, kube):
    (tmp_path / "values.yaml").write_text(VALUES)
    done = adopt("nope", "-n", "team-web", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "x",
                 "--values", tmp_path / "values.yaml")
    assert done.returncode == 2 and "no CICDPipeline 'nope' in namespace 'team-web'" in done.stderr
    done = adopt("--all", "--kind", "Gizmo", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "x",
                 "--values", tmp_path / "values.yaml")
    assert done.returncode == 2 and "serves no kind 'Gizmo' in group 'kro.run'" in done.stderr


def test_publish_creates_the_project_and_pushes_with_git(tmp_path, cluster, kube):
    kubectl_apply(kube, pipeline("shop-cicd-pipeline", "team-shop", "shop"))
    (tmp_path / "values.yaml").write_text(VALUES)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    with GitLabServer() as gitlab:
        gitlab.add_namespace("platform")
        done = adopt("shop-cicd-pipeline", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "shop",
                     "--values", tmp_path / "values.yaml", "--publish", "--gitlab-project", "platform/shop-cicd",
                     "--gitlab-url", gitlab.url, "--push-url", remote, "--debug",
                     env={"GITLAB_TOKEN": gitlab.token})
        assert done.returncode == 0, done.stderr
        assert gitlab.token not in done.stdout + done.stderr
        [project] = [p for p in gitlab.projects.values() if p["path_with_namespace"] == "platform/shop-cicd"]
        assert project["http_url_to_repo"] == "https://gitlab.example.com/platform/shop-cicd.git"
        assert ("POST", "/projects") in [(r.method, r.path) for r in gitlab.requests]
    files = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "main"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert {"manifests/kro-cicd-pipeline.yaml", "manifests/namespace.yaml", "argocd/application.yaml",
            "catalog-info.yaml", ".gitlab-ci.yml", ".wavegate.yaml"} <= set(files)
    # A second publish never overwrites what is there: git refuses a non-fast-forward push. (Another
    # commit date: two runs within one second would otherwise make the very same commit.)
    later = {"GIT_AUTHOR_DATE": "2030-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"}
    done = adopt("shop-cicd-pipeline", "--kubeconfig", cluster.kubeconfig, "--out", tmp_path / "shop2",
                 "--values", tmp_path / "values.yaml", "--publish", "--push-url", remote, env=later)
    assert done.returncode == 1 and "git push failed" in done.stderr


def _exists(dynamic, name, namespace):
    resource = dynamic.resources.get(api_version="kro.run/v1alpha1", kind="CICDPipeline")
    try:
        dynamic.get(resource, name=name, namespace=namespace)
    except Exception:  # noqa: BLE001
        return False
    return True
