"""`wavegate schemas export`: the local control plane's /openapi/v3 (built-in kinds and a served
CRD) written as a kubeconform directory, then read by kubeconform and by wavegate (--schemas)."""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import pytest

from tests.helpers import write_repo
from wavegate.cluster import LocalCluster, find_tool
from wavegate.config import Config
from wavegate.load import load
from wavegate.schemas import SchemaStore
from wavegate.schemas.cli import add_parser
from wavegate.validators import Context
from wavegate.validators import schema as schema_check

pytestmark = pytest.mark.integration

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {
                     "type": "object", "required": ["size"],
                     "properties": {"size": {"type": "integer", "minimum": 1},
                                    "colour": {"type": "string", "enum": ["red", "blue"]},
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}}}]},
}
MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: good}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replica: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: "80"}]}]}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: good}
spec: {size: 2, colour: red, extra: {anything: [1]}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: bad}
spec: {size: 0, colour: green, shape: round}
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from kubernetes.dynamic import DynamicClient

    out = tmp_path_factory.mktemp("export") / "schemas"
    with LocalCluster() as cluster:
        api = cluster.api_client()
        dynamic = DynamicClient(api)
        dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(body=CRD)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # published in /openapi/v3 once established
            index = json.loads(api.call_api("GET", cluster_url(api) + "/openapi/v3",
                                            header_params=auth(api)).read())
            if "apis/example.com/v1" in index.get("paths", {}):
                break
            time.sleep(0.2)
        api.close()
        parser = argparse.ArgumentParser()
        add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["schemas", "export", "--kubeconfig", str(cluster.kubeconfig), str(out)])
        assert args.handler(args) == 0
    return out


def cluster_url(api) -> str:
    return api.configuration.host


def auth(api) -> dict:
    headers = {}
    api.update_params_for_auth(headers, [], ["BearerToken"], "", "GET", None)
    return headers


def test_export_writes_strict_self_contained_files_for_built_in_kinds_and_served_crds(exported):
    names = {p.name for p in exported.iterdir()}
    assert {"deployment-apps-v1.json", "configmap-v1.json", "gadget-example-v1.json",
            "customresourcedefinition-apiextensions-v1.json"} <= names
    gadget = json.loads((exported / "gadget-example-v1.json").read_text())
    assert gadget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "version": "v1", "kind": "Gadget"}]
    assert gadget["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in gadget["properties"]["spec"]["properties"]["extra"]  # preserves unknown
    assert gadget["properties"]["metadata"]["additionalProperties"] is False  # ObjectMeta, inlined
    for path in exported.iterdir():
        assert '"$ref"' not in path.read_text(), path.name


def test_kubeconform_and_wavegate_read_the_export_and_agree(exported, tmp_path):
    root = write_repo(tmp_path / "repo", {"manifests.yaml": MANIFESTS})
    done = subprocess.run([str(find_tool("kubeconform")), "-strict", "-output", "json", "-summary",
                           "-schema-location", f"{exported}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
                           "manifests.yaml"], cwd=root, capture_output=True, text=True, timeout=60)
    output = json.loads(done.stdout)
    assert output["summary"] == {"valid": 2, "invalid": 2, "errors": 0, "skipped": 0}, output
    kubeconform_invalid = {(r["kind"], r["name"]) for r in output["resources"]}
    assert kubeconform_invalid == {("Deployment", "bad"), ("Gadget", "bad")}

    repo = load(root)
    store = SchemaStore.build(repo, Config(), extra_paths=[exported])
    assert store.lookup("example.com/v1", "Gadget").origin == "bundle"
    assert store.lookup("apps/v1", "Deployment").origin == "bundle"
    ctx = Context(repo=repo)
    ctx.schemas = store
    findings = sorted((f.rule, f.line) for f in schema_check.check(repo, ctx))
    # replica: (line 14), containerPort "80" (18), size 0, colour green and shape (28): what kubeconform found.
    assert findings == [("schema-invalid-type", 18), ("schema-invalid-value", 28), ("schema-invalid-value", 28),
                        ("schema-unknown-field", 14), ("schema-unknown-field", 28)], findings
