"""The schema store: its sources, their precedence, lookups, and the check's use of it."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.helpers import check_repo, widget_crd, write_repo
from wavegate import pipeline
from wavegate.config import Config, ConfigError, load_config
from wavegate.load import load
from wavegate.schemas import SchemaStore
from wavegate.validators import Context
from wavegate.validators import schema as schema_check

UNSERVED_V0 = """
- name: v0
  served: false
  storage: false
  schema:
    openAPIV3Schema: {type: object}
"""
RGD = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: webapps}
spec:
  schema:
    apiVersion: v1alpha1
    kind: WebApp
    spec:
      name: string | required=true
      replicas: integer | default=1 minimum=1
      region: string | default="eu-west-1"
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: '${schema.spec.name}'}
"""


def _crd(field: str = "size", scope: str = "Namespaced") -> str:
    return widget_crd(f"type: object\nproperties:\n  {field}: {{type: string}}\n", scope=scope,
                      more_versions=UNSERVED_V0)


def _widget(field: str) -> str:
    return f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\nspec: {{{field}: x}}\n"


def test_crds_in_the_repository_are_found_with_their_source_and_scope(tmp_path):
    write_repo(tmp_path, {"crds/widget.yaml": _crd(scope="Cluster")})
    store = SchemaStore.build(load(tmp_path), Config())
    entry = store.lookup("example.com/v1", "Widget")
    assert (entry.origin, entry.source, entry.scope, entry.dialect) == ("crd", "crds/widget.yaml:1", "Cluster", "crd")
    assert entry.json_schema["type"] == "object"
    assert store.lookup("example.com/v0", "Widget") is None  # not served
    assert ("example.com", "v1", "Widget") in store.kinds()


def test_builtin_and_shipped_entries_say_where_they_come_from():
    store = SchemaStore(kubernetes_version="1.33")
    deployment = store.lookup("apps/v1", "Deployment")
    assert (deployment.source, deployment.origin, deployment.scope) == ("kubernetes 1.33", "kubernetes", "Namespaced")
    assert "$ref" in json.dumps(deployment.json_schema)
    assert store.lookup("v1", "Namespace").scope == "Cluster"
    application = store.lookup("argoproj.io/v1alpha1", "Application")
    assert (application.source, application.origin) == ("wavegate built-in", "shipped")
    assert store.lookup("backstage.io/v1alpha1", "Component").source == "wavegate built-in"
    assert store.lookup("backstage.io/v1beta1", "Component") is not None
    assert store.lookup("scaffolder.backstage.io/v1beta3", "Template") is not None
    assert store.lookup("kro.run/v1alpha1", "ResourceGraphDefinition") is not None
    kinds = store.kinds()
    assert ("", "v1", "ConfigMap") in kinds and ("argoproj.io", "v1alpha1", "AppProject") in kinds
    assert ("backstage.io", "v1alpha1", "Location") in kinds


def test_repository_crds_win_over_extra_paths(tmp_path):
    write_repo(tmp_path / "repo", {"crd.yaml": _crd("inRepo")})
    write_repo(tmp_path / "extra", {"crd.yaml": _crd("inExtra")})
    store = SchemaStore.build(load(tmp_path / "repo"), Config(), extra_paths=[tmp_path / "extra"])
    assert store.lookup("example.com/v1", "Widget").origin == "crd"
    assert "inRepo" in store.lookup("example.com/v1", "Widget").json_schema["properties"]["spec"]["properties"]


def test_extra_paths_win_over_repository_rgds_and_rgds_over_shipped(tmp_path):
    rgd_as_widget = RGD.replace("kind: WebApp", "kind: Widget").replace("    apiVersion: v1alpha1\n",
                                                                          "    apiVersion: v1\n    group: example.com\n")
    write_repo(tmp_path / "repo", {"rgd.yaml": rgd_as_widget, "webapp-rgd.yaml": RGD})
    write_repo(tmp_path / "extra", {"crd.yaml": _crd("fromExtra")})
    store = SchemaStore.build(load(tmp_path / "repo"), Config(), extra_paths=[str(tmp_path / "extra" / "crd.yaml")])
    assert store.lookup("example.com/v1", "Widget").origin == "schemas"
    assert store.lookup("kro.run/v1alpha1", "WebApp").origin == "rgd"


def test_config_schemas_are_relative_to_the_configuration(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "schemas: [platform/crds]\n", "platform/crds/widget.yaml": _crd(),
                          "apps/widget.yaml": _widget("size")})
    config = load_config(tmp_path)
    store = SchemaStore.build(load(tmp_path, exclude=("platform",)), config)
    assert store.lookup("example.com/v1", "Widget").origin == "schemas"
    assert store.lookup("example.com/v1", "Widget").source == "platform/crds/widget.yaml:1"


def test_a_missing_schemas_path_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError) as error:
        SchemaStore.build(None, Config(), extra_paths=[tmp_path / "nope"])
    assert "nope" in str(error.value) and "no such file" in str(error.value)


def test_schemas_files_that_do_not_parse_are_findings(tmp_path):
    write_repo(tmp_path / "repo", {"w.yaml": _widget("size")})
    write_repo(tmp_path / "extra", {"broken.yaml": "a: [\n", "crd.yaml": _crd()})
    findings = validate(tmp_path / "repo", str(tmp_path / "extra"))
    assert [f.rule for f in findings] == ["yaml-syntax"]
    assert findings[0].path.endswith("extra/broken.yaml")


def test_a_bundle_directory_in_kubeconforms_layout(tmp_path):
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                             "metadata": {"type": "object"},
                             "spec": {"$ref": "#/definitions/Spec"}},
              "definitions": {"Spec": {"type": "object", "additionalProperties": False,
                                       "properties": {"size": {"type": "integer"}}}}}
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "gadget-example-v1.json").write_text(json.dumps(schema))
    (bundle / "sprocket.json").write_text(json.dumps({
        **schema, "x-kubernetes-group-version-kind": [{"group": "parts.example.com", "version": "v2", "kind": "Sprocket"}]}))
    (bundle / "example.com").mkdir()
    (bundle / "example.com" / "doohickey_v1beta1.json").write_text(json.dumps(schema))
    store = SchemaStore.build(None, Config(), extra_paths=[bundle])
    assert store.lookup("example.com/v1", "Gadget").source.endswith("gadget-example-v1.json")
    assert store.lookup("parts.example.com/v2", "Sprocket").origin == "bundle"
    assert store.lookup("example.com/v1beta1", "Doohickey") is not None
    write_repo(tmp_path / "repo", {"g.yaml": """
        apiVersion: example.com/v1
        kind: Gadget
        metadata: {name: g}
        spec: {size: "3", colour: red}
        """})
    found = sorted((f.rule, f.field) for f in validate(tmp_path / "repo", bundle))
    assert found == [("schema-invalid-type", "spec.size"), ("schema-unknown-field", "spec.colour")]


def test_rgd_instances_are_checked_against_the_crd_kro_would_generate(tmp_path):
    write_repo(tmp_path, {"rgd.yaml": RGD, "app.yaml": """
        apiVersion: kro.run/v1alpha1
        kind: WebApp
        metadata: {name: web}
        spec:
          replicas: 0
          regoin: eu-central-1
        """})
    findings = sorted((f.rule, f.field) for f in check_repo(tmp_path) if f.rule.startswith("schema-"))
    assert findings == [("schema-invalid-value", "spec.replicas"), ("schema-required", "spec.name"),
                        ("schema-unknown-field", "spec.regoin")]
    [unknown] = [f for f in check_repo(tmp_path) if f.rule == "schema-unknown-field"]
    assert "ResourceGraphDefinition at rgd.yaml" in unknown.message
    assert unknown.hint == "Did you mean spec.region?"


def test_a_valid_rgd_instance_passes(tmp_path):
    write_repo(tmp_path, {"rgd.yaml": RGD, "app.yaml": """
        apiVersion: kro.run/v1alpha1
        kind: WebApp
        metadata: {name: web}
        spec: {name: web, replicas: 2}
        """})
    assert [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")] == []


def test_rgds_given_with_schemas_define_kinds_too(tmp_path):
    write_repo(tmp_path / "platform", {"rgd.yaml": RGD})
    write_repo(tmp_path / "repo", {"app.yaml": "apiVersion: kro.run/v1alpha1\nkind: WebApp\nmetadata: {name: w}\nspec: {}\n"})
    assert [(f.rule, f.field) for f in validate(tmp_path / "repo", tmp_path / "platform")] == \
        [("schema-required", "spec.name")]


def test_an_rgd_kro_cannot_build_leaves_its_instances_not_checked_not_unknown(tmp_path):
    bad = RGD.replace("string | required=true", "strin | required=true")
    write_repo(tmp_path, {"rgd.yaml": bad, "app.yaml": "apiVersion: kro.run/v1alpha1\nkind: WebApp\nmetadata: {name: w}\n"})
    findings = [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")]
    assert [f.rule for f in findings] == ["schema-not-checked"]
    assert "kro cannot build its CRD" in findings[0].message


def test_the_check_builds_a_store_lazily_and_keeps_it_on_the_context(tmp_path):
    write_repo(tmp_path, {"crd.yaml": _crd(), "w.yaml": _widget("sise")})
    run = pipeline.validate(pipeline.Options(root=tmp_path))
    assert isinstance(run.ctx.schemas, SchemaStore)
    assert [(f.rule, f.hint) for f in run.findings] == [("schema-unknown-field", "Did you mean spec.size?")]


def test_the_store_never_reads_the_network(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the schema store opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    write_repo(tmp_path, {"crd.yaml": _crd(), "w.yaml": _widget("size"), "a.yaml": textwrap.dedent("""
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec: {project: default, destination: {server: https://kubernetes.default.svc}}
        """)})
    store = SchemaStore.build(load(tmp_path), Config())
    store.kinds()
    assert [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")] == []


def test_a_partial_load_still_knows_every_crd_and_rgd_of_the_repository(tmp_path):
    write_repo(tmp_path, {"crds/widget.yaml": _crd(), "rgd.yaml": RGD, "apps/w.yaml": _widget("size"),
                          "apps/web.yaml": "apiVersion: kro.run/v1alpha1\nkind: WebApp\nmetadata: {name: w}\nspec: {name: w}\n"})
    repo = load(tmp_path, only=["apps/w.yaml", "apps/web.yaml"])
    partial = SchemaStore.build(repo, Config())
    assert partial.lookup("example.com/v1", "Widget") is None
    store = SchemaStore.build(repo, Config(), complete=True)
    assert store.lookup("example.com/v1", "Widget").source == "crds/widget.yaml:1"
    assert store.lookup("kro.run/v1alpha1", "WebApp").origin == "rgd"
    ctx = Context(repo=repo, config=Config(), schemas=store)
    assert list(schema_check.check(repo, ctx)) == []


def validate(root, *schemas):
    """What `wavegate validate ROOT --schemas S...` finds."""
    return pipeline.validate(pipeline.Options(root=root, schemas=tuple(str(p) for p in schemas))).findings
