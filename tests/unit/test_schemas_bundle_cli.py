"""`wavegate schemas bundle` (layouts, the kind-suffix collision), the OpenAPI v3 conversion of
`schemas export`, and how kubeconform's results map back to findings (no binary needed here)."""

from __future__ import annotations

import argparse
import json

import pytest

from tests.helpers import REPO_ROOT, widget_crd, write_repo
from wavegate.config import Config
from wavegate.load import parse_documents
from wavegate.schemas import SchemaStore
from wavegate.schemas.bundle import BundleCollision, collisions, layout_path
from wavegate.schemas.cli import add_parser
from wavegate.schemas.engine import REQUIRED, TYPE, UNKNOWN_FIELD, VALUE
from wavegate.schemas.export import convert, group_version, schemas_of
from wavegate.schemas.kubeconform import Result, problems_of, resolve_pointer


def crd(group: str, maximum: int) -> str:
    return widget_crd(f"type: object\nproperties: {{size: {{type: integer, maximum: {maximum}}}}}\n", group=group)



def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_bundle_writes_every_kind_under_kubeconforms_names(tmp_path, capsys):
    assert run("schemas", "bundle", str(tmp_path / "out"), "--schemas",
               str(REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml")) == 0
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"deployment-apps-v1.json", "configmap-v1.json", "application-argoproj-v1alpha1.json",
            "component-backstage-v1alpha1.json", "cicdpipeline-kro-v1alpha1.json"} <= names
    assert "{{ .ResourceKind }}{{ .KindSuffix }}.json" in capsys.readouterr().out
    pipeline = json.loads((tmp_path / "out" / "cicdpipeline-kro-v1alpha1.json").read_text())
    assert pipeline["properties"]["spec"]["additionalProperties"] is False


def test_bundle_refuses_groups_that_share_a_first_label_in_the_kind_suffix_layout(tmp_path, capsys):
    write_repo(tmp_path / "crds", {"com.yaml": crd(group="example.com", maximum=10),
                                   "org.yaml": crd(group="example.org", maximum=100)})
    assert run("schemas", "bundle", str(tmp_path / "out"), "--schemas", str(tmp_path / "crds")) == 2
    error = capsys.readouterr().err
    assert "Widget example.com/v1 and Widget example.org/v1 would both be widget-example-v1.json" in error
    assert "--layout group" in error and error.count("\n") == 1
    assert not (tmp_path / "out" / "widget-example-v1.json").exists()


def test_the_group_layout_keeps_them_apart_and_reads_back_exactly(tmp_path):
    write_repo(tmp_path / "crds", {"com.yaml": crd(group="example.com", maximum=10),
                                   "org.yaml": crd(group="example.org", maximum=100)})
    assert run("schemas", "bundle", str(tmp_path / "out"), "--schemas", str(tmp_path / "crds"),
               "--layout", "group") == 0
    assert (tmp_path / "out" / "example.com" / "widget_v1.json").exists()
    assert (tmp_path / "out" / "v1" / "configmap_v1.json").exists()  # kubeconform's .Group of a core kind
    again = SchemaStore.build(None, Config(), extra_paths=[tmp_path / "out"])
    for group, maximum in (("example.com", 10), ("example.org", 100)):
        entry = again.lookup(f"{group}/v1", "Widget")
        assert entry.origin == "bundle" and entry.source.endswith(f"{group}/widget_v1.json")
        assert not entry.validate({"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"},
                                   "spec": {"size": maximum}})[0]


def test_a_missing_schemas_path_is_a_usage_error(tmp_path, capsys):
    assert run("schemas", "bundle", str(tmp_path / "out"), "--schemas", str(tmp_path / "nope")) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_collisions_and_layout_paths():
    assert collisions([("example.com", "v1", "Widget"), ("example.org", "v1", "Widget"), ("apps", "v1", "Deployment")]) \
        == {"widget-example-v1.json": [("example.com", "v1", "Widget"), ("example.org", "v1", "Widget")]}
    assert layout_path("group", "", "v1", "ConfigMap") == "v1/configmap_v1.json"
    assert layout_path("kind-suffix", "apps", "v1", "Deployment") == "deployment-apps-v1.json"
    with pytest.raises(BundleCollision):
        from wavegate.schemas.export import write
        write({("a.com", "v1", "X"): {}, ("a.org", "v1", "X"): {}}, "/nonexistent")


# -- OpenAPI v3 -> strict JSON Schema (schemas export) ---------------------------------------------

COMPONENTS = {
    "io.k8s.Meta": {"type": "object", "properties": {"name": {"type": "string"}}},
    "io.k8s.Port": {"type": "object", "required": ["port"], "properties": {
        "port": {"type": "integer"}, "target": {"x-kubernetes-int-or-string": True,
                                                "anyOf": [{"type": "integer"}, {"type": "string"}]}}},
    "io.k8s.Props": {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/io.k8s.Props"}}},
    "io.k8s.Thing": {
        "type": "object", "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Thing"}],
        "properties": {
            "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.Meta"}], "default": {}},
            "ports": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.Port"}]}},
            "raw": {"type": "object"},
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "properties": {"known": {"type": "string"}}},
            "schema": {"$ref": "#/components/schemas/io.k8s.Props"},
            "note": {"type": "string", "nullable": True},
        }},
}


def test_export_inlines_references_and_is_strict_where_the_schema_is_structural():
    thing = convert(COMPONENTS["io.k8s.Thing"], COMPONENTS)
    assert "$ref" not in json.dumps(thing) and "allOf" not in json.dumps(thing)
    assert thing["additionalProperties"] is False
    assert thing["properties"]["metadata"] == {"type": "object", "properties": {"name": {"type": "string"}},
                                               "additionalProperties": False}
    port = thing["properties"]["ports"]["items"]
    assert port["required"] == ["port"] and port["additionalProperties"] is False
    assert port["properties"]["target"] == {"type": ["integer", "string"]}
    assert "additionalProperties" not in thing["properties"]["raw"]  # no properties: open, as in kubeconform
    assert "additionalProperties" not in thing["properties"]["open"]  # preserves unknown fields
    assert thing["properties"]["schema"]["properties"]["items"] == {"type": "object"}  # recursion cut open
    assert thing["properties"]["note"]["type"] == ["string", "null"]


def test_export_keeps_each_kind_of_its_own_group_version():
    documents = {"apis/example.com/v1": {"components": {"schemas": {
        **COMPONENTS, "io.k8s.DeleteOptions": {"type": "object", "x-kubernetes-group-version-kind": [
            {"group": "example.com", "version": "v1", "kind": "DeleteOptions"}]},
        "io.k8s.Other": {"type": "object", "x-kubernetes-group-version-kind": [
            {"group": "other.io", "version": "v1", "kind": "Other"}]}}}}}
    assert list(schemas_of(documents)) == [("example.com", "v1", "Thing")]
    assert group_version("api/v1") == ("", "v1") and group_version("apis/apps/v1") == ("apps", "v1")


# -- kubeconform results -> problems -----------------------------------------------------------------

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {argocd.argoproj.io/sync-wave: 1}
spec:
  replica: 2
  template: {spec: {containers: [{name: web, ports: [{containerPort: "80"}]}]}}
"""


def test_json_paths_map_to_manifest_paths_including_keys_with_slashes():
    manifest = parse_documents("d.yaml", DEPLOYMENT)[0][0]
    assert resolve_pointer(manifest.data, "/spec/template/spec/containers/0/ports/0/containerPort") == \
        ("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort")
    assert resolve_pointer(manifest.data, "/metadata/annotations/argocd.argoproj.io/sync-wave") == \
        ("metadata", "annotations", "argocd.argoproj.io/sync-wave")
    assert resolve_pointer(manifest.data, "") == ()
    assert resolve_pointer(manifest.data, "/spec/nope") is None


def test_kubeconform_messages_become_the_schema_rules_problems():
    manifest = parse_documents("d.yaml", DEPLOYMENT)[0][0]
    result = Result("d.yaml", "Deployment", "web", "apps/v1", "statusInvalid", "", [
        ("/spec", "additional properties 'replica' not allowed"),
        ("/spec/template/spec/containers/0/ports/0/containerPort", "got string, want integer"),
        ("/spec", "missing properties 'selector', 'template'"),
        ("/spec/template/spec/containers/0/name", "value must be one of 'a', 'b'"),
    ])
    schema = {"properties": {"spec": {"properties": {"replicas": {}, "selector": {}}}}}
    problems = problems_of(manifest, result, schema)
    assert [(p.code, p.path) for p in problems] == [
        (UNKNOWN_FIELD, ("spec", "replica")),
        (TYPE, ("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort")),
        (REQUIRED, ("spec", "selector")), (REQUIRED, ("spec", "template")),
        (VALUE, ("spec", "template", "spec", "containers", 0, "name")),
    ]
    assert problems[0].suggestions == ["replicas"]
    assert problems[1].value == "80" and "integer" in problems[1].text
