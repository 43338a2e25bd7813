"""`wavegate status` against the local control plane: the real Argo CD Application CRD, kro
instances whose status is set through the status subresource, in every state.
The helpers that install the real Application CRD and write status are shared with
test_promote_gates.py.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import shared, write_repo
from wavegate.cluster import ToolNotFoundError, find_tool, open_cluster
from wavegate.load import read_yaml
from wavegate.status import add_parser, cmd_status, kro_health

pytestmark = pytest.mark.integration


APP_CRD = shared("reference", "schemas", "argocd", "application-crd.yaml")

# The CRD kro generates for an instance kind: a status subresource, spec and status kept as sent.
PIPELINE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "cicdpipelines.kro.run"},
    "spec": {"group": "kro.run", "scope": "Namespaced",
             "names": {"kind": "CICDPipeline", "plural": "cicdpipelines", "singular": "cicdpipeline", "listKind": "CICDPipelineList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def install_crds(api) -> None:
    from kubernetes import client

    ext = client.ApiextensionsV1Api(api)
    [doc], problems = read_yaml(APP_CRD)
    assert not problems, problems
    for crd in (doc.data, PIPELINE_CRD):
        ext.create_custom_resource_definition(crd)
    deadline = time.monotonic() + 30
    for name in ("applications.argoproj.io", "cicdpipelines.kro.run"):
        while True:
            got = ext.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True" for c in (got.status.conditions or [])):
                break
            assert time.monotonic() < deadline, f"{name} never became Established"
            time.sleep(0.1)
    # The Application CRD has no status subresource (`subresources: {}`): status is part of the
    # object and is written with it.
    assert "status" not in (doc.data["spec"]["versions"][0].get("subresources") or {})


def ensure_namespace(api, name: str) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except ApiException as error:
        if error.status != 409:
            raise


def put_application(api, name: str, path: str, status: dict, namespace: str = "argocd") -> dict:
    """Create or replace the Application with this status (written with the object itself)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ensure_namespace(api, namespace)
    custom = client.CustomObjectsApi(api)
    operation = status.get("operationState")
    if operation is not None:  # what the real CRD requires of an operation state
        operation.setdefault("operation", {"sync": {"revision": (status.get("sync") or {}).get("revision", "")}})
        operation.setdefault("startedAt", operation.get("finishedAt"))
    body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"project": "default", "source": {"repoURL": "https://gitlab.example.com/platform/web-cicd.git",
                                                      "path": path, "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "team-web"}},
            "status": status}
    try:
        current = custom.get_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "applications", name)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return custom.replace_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "applications", name, body)
    except ApiException as error:
        if error.status != 404:
            raise
        return custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "applications", body)


def put_instance(api, name: str, namespace: str, status: dict | None) -> dict:
    """Create the CICDPipeline, then set its status through the status subresource, as kro does."""
    from kubernetes import client

    ensure_namespace(api, namespace)
    custom = client.CustomObjectsApi(api)
    created = custom.create_namespaced_custom_object(
        "kro.run", "v1alpha1", namespace, "cicdpipelines",
        {"apiVersion": "kro.run/v1alpha1", "kind": "CICDPipeline", "metadata": {"name": name, "namespace": namespace},
         "spec": {"name": name}})
    if status is None:
        return created
    created["status"] = status
    return custom.replace_namespaced_custom_object_status("kro.run", "v1alpha1", namespace, "cicdpipelines", name, created)



def iso(delta: timedelta) -> str:
    # The moment `delta` before the test runs (not before the module was imported: a long session
    # would otherwise shift every age the assertions read).
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready(status: str, reason: str = "", message: str = "", since: timedelta = timedelta(minutes=1)) -> dict:
    return {"type": "Ready", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": iso(since)}


@pytest.fixture(scope="module")
def cluster():
    for tool in ("kube-apiserver", "etcd"):
        try:
            find_tool(tool)
        except ToolNotFoundError as error:
            pytest.fail(str(error), pytrace=False)
    with open_cluster("local") as started:
        install_crds(started.api_client())
        yield started


def app_yaml(env: str) -> str:
    return f"""
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: web-{env}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: https://gitlab.example.com/platform/web-cicd.git, path: environments/{env}, targetRevision: main}}
          destination: {{server: https://kubernetes.default.svc, namespace: team-{env}}}
    """


def pipeline(name: str, namespace: str | None = None) -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"apiVersion: kro.run/v1alpha1\nkind: CICDPipeline\nmetadata: {{name: {name}{ns}}}\nspec: {{name: {name}}}\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, cluster):
    root = tmp_path_factory.mktemp("status")
    write_repo(root, {
        ".wavegate.yaml": """
            environments:
              - {name: dev, path: environments/dev}
              - {name: staging, path: environments/staging, promoteFrom: dev}
        """,
        "argocd/dev.yaml": app_yaml("dev"),
        "argocd/staging.yaml": app_yaml("staging"),
        "environments/dev/ok.yaml": pipeline("ok", "team-dev"),
        "environments/dev/broken.yaml": pipeline("broken"),  # namespace from the Application's destination
        "environments/staging/slow.yaml": pipeline("slow", "team-staging"),
        "environments/staging/silent.yaml": pipeline("silent", "team-staging"),
        "environments/staging/unsynced.yaml": pipeline("unsynced", "team-staging"),
    })
    api = cluster.api_client()
    put_application(api, "web-dev", "environments/dev", {
        "sync": {"status": "Synced", "revision": "a" * 40}, "health": {"status": "Healthy"},
        "operationState": {"phase": "Succeeded", "finishedAt": iso(timedelta(hours=2))}})
    put_application(api, "web-staging", "environments/staging", {
        "sync": {"status": "OutOfSync", "revision": "b" * 40},
        "health": {"status": "Degraded", "message": "one resource is degraded"},
        "operationState": {"phase": "Failed", "message": "one or more objects failed to apply",
                           "finishedAt": iso(timedelta(minutes=45))},
        "resources": [{"group": "kro.run", "kind": "CICDPipeline", "namespace": "team-staging", "name": "slow",
                       "health": {"status": "Degraded", "message": "IN_PROGRESS for 40 minutes"}}]})
    put_instance(api, "ok", "team-dev", {"state": "ACTIVE", "conditions": [ready("True", "Ready", "all resources are ready")]})
    put_instance(api, "broken", "team-dev", {"state": "ERROR", "conditions": [
        ready("False", "ReconcileFailed", "role arn:aws:iam::1:role/x is not authorized")]})
    put_instance(api, "slow", "team-staging", {"state": "IN_PROGRESS", "conditions": [
        ready("False", "Reconciling", "waiting for the ECR repository", since=timedelta(minutes=40))]})
    put_instance(api, "silent", "team-staging", None)
    return root


def run_status(cluster, capsys, *argv) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["status", *argv])
    code = cmd_status(args, cluster=cluster)
    return code, capsys.readouterr().out


def test_status_json_reads_applications_and_instances_in_every_state(cluster, repo, capsys):
    code, out = run_status(cluster, capsys, str(repo), "--format", "json")
    assert code == 1
    envs = {e["name"]: e for e in json.loads(out)["environments"]}
    dev, staging = envs["dev"], envs["staging"]
    assert dev["application"]["sync"] == "Synced" and dev["application"]["health"] == "Healthy"
    assert dev["application"]["revision"] == "a" * 40 and dev["application"]["advice"] == []
    instances = {i["name"]: i for e in envs.values() for i in e["instances"]}
    assert (instances["ok"]["state"], instances["ok"]["health"], instances["ok"]["advice"]) == ("ACTIVE", "Healthy", [])
    assert instances["broken"]["namespace"] == "team-dev"
    assert (instances["broken"]["state"], instances["broken"]["health"]) == ("ERROR", "Degraded")
    assert "not authorized" in instances["broken"]["advice"][0]
    assert (instances["slow"]["state"], instances["slow"]["health"]) == ("IN_PROGRESS", "Progressing")
    assert re.search(r"^IN_PROGRESS for (40|41) min \(since \d\d:\d\d UTC\)", instances["slow"]["advice"][0])
    assert instances["silent"]["state"] is None and "kro has not reported any status" in instances["silent"]["advice"][0]
    assert instances["unsynced"]["found"] is False and instances["unsynced"]["health"] == "Missing"
    advice = " ".join(staging["application"]["advice"])
    assert "last sync failed: one or more objects failed to apply" in advice
    assert "OutOfSync, and the last sync finished 45 min ago" in advice
    assert "Degraded: CICDPipeline team-staging/slow: Degraded (IN_PROGRESS for 40 minutes)" in advice


def test_status_text_for_one_environment_says_what_to_do(cluster, repo, capsys):
    code, out = run_status(cluster, capsys, str(repo), "--env", "dev", "--stuck-after", "60")
    assert code == 1  # the broken instance
    assert "Application argocd/web-dev: Synced Healthy at aaaaaaaaaaaa" in out
    assert "CICDPipeline team-dev/broken: ERROR, Degraded" in out
    assert "Ready=False ReconcileFailed: role arn:aws:iam::1:role/x is not authorized" in out
    assert "-> kro reports ERROR" in out
    assert "staging" not in out


def test_kro_health_matches_the_argocd_health_check_in_every_state():
    gen = {"metadata": {"generation": 3}}
    cases = [
        ({}, "Progressing"),
        ({"metadata": {"deletionTimestamp": "x"}, "status": {"state": "ACTIVE"}}, "Progressing"),
        ({"status": {"state": "DELETING"}}, "Progressing"),
        ({**gen, "status": {"state": "ACTIVE", "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}]}},
         "Progressing"),
        ({"status": {"state": "ERROR", "conditions": [{"type": "Ready", "status": "False", "message": "m"}]}}, "Degraded"),
        ({"status": {"state": "FAILED"}}, "Degraded"),
        ({"status": {"state": "ACTIVE", "conditions": [{"type": "Ready", "status": "True"}]}}, "Healthy"),
        ({"status": {"state": "IN_PROGRESS", "conditions": [{"type": "Ready", "status": "False"}]}}, "Progressing"),
        ({"status": {"state": "ACTIVE", "conditions": [{"type": "Ready", "status": "False", "message": "x"}]}}, "Degraded"),
    ]
    for obj, expected in cases:
        assert kro_health(obj)[0] == expected, obj
