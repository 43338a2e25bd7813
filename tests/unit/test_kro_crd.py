"""RGD -> the CRD kro generates: kro-facts section 3 and the worked example of section 8.2."""

from __future__ import annotations

import copy
import json
import re
import time

import pytest
import yaml

from tests.helpers import shared
from tests.unit.test_kro_simpleschema import is_subset
from wavegate.kro import SimpleSchemaError, crd_for_rgd, kind_plural, pluralize, rgd_group_kind, synthesize


def facts() -> str:
    return shared("reference", "kro-facts.md").read_text()


def worked_example() -> tuple[dict, dict]:
    text = facts()
    rgd = re.search(r"### 8\.1 The RGD\n```yaml\n(.*?)```", text, re.S).group(1)
    crd = re.search(r"### 8\.2 The CRD kro would create\n.*?```yaml\n(.*?)```", text, re.S).group(1)
    # kro-facts writes one pattern unquoted inside a flow mapping, which YAML cannot parse
    crd = crd.replace("pattern: ^[a-z][a-z0-9-]*$}", "pattern: '^[a-z][a-z0-9-]*$'}")
    return yaml.safe_load(rgd), yaml.safe_load(crd)


def example(name: str) -> dict:
    docs = [d for d in yaml.safe_load_all(shared("reference", "kro-examples", name).read_text()) if d]
    return docs[0]


def rgd(schema: dict, resources: list | None = None) -> dict:
    base = {"apiVersion": "v1alpha1", "kind": "WebApp"}
    return {"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition", "metadata": {"name": "x"},
            "spec": {"schema": {**base, **schema}, "resources": resources or []}}


def walk(value, path=""):
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from walk(child, f"{path}[{i}]")


def test_worked_example_field_for_field():
    source, expected = worked_example()
    assert crd_for_rgd(source) == expected


def test_worked_example_has_no_unknown_status():
    source, _ = worked_example()
    synthesis = synthesize(source)
    assert synthesis.unknown_status == [] and synthesis.status_problems == []


@pytest.mark.parametrize("name", ["kro-e2e-required-default", "kro-e2e-validation-markers"])
def test_e2e_instance_crd_asserts_are_contained(name):
    crd = crd_for_rgd(example(f"{name}__rgd.yaml"), server_defaults=True)
    expected = example(f"{name}__instancecrd-assert.yaml")
    expected.pop("status", None)  # set by the API server, not part of the object kro sends
    assert is_subset(expected, crd) == []


def test_output_is_deterministic_json_without_none_or_float_integers():
    source, _ = worked_example()
    first = crd_for_rgd(source)
    assert json.dumps(first) == json.dumps(crd_for_rgd(copy.deepcopy(source)))
    for path, value in walk(first):
        assert value is not None, path
        if isinstance(value, float):
            assert value != int(value), f"{path} is a whole float {value}"
    assert list(first) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(first["spec"]) == ["group", "names", "scope", "versions"]
    assert list(first["spec"]["names"]) == ["plural", "singular", "kind", "listKind"]
    assert list(first["spec"]["versions"][0]) == ["name", "served", "storage", "schema", "subresources",
                                                  "additionalPrinterColumns"]


def test_crd_for_rgd_does_not_modify_its_input():
    source, _ = worked_example()
    before = copy.deepcopy(source)
    crd_for_rgd(source)
    assert source == before


def test_group_defaults_to_kro_run():
    crd = crd_for_rgd(rgd({}))
    assert crd["metadata"]["name"] == "webapps.kro.run" and crd["spec"]["group"] == "kro.run"
    assert rgd_group_kind(rgd({})) == ("kro.run", "v1alpha1", "WebApp")
    assert rgd_group_kind(rgd({"group": "apps.example.com"})) == ("apps.example.com", "v1alpha1", "WebApp")
    assert rgd_group_kind(rgd({"group": ""}))[0] == "kro.run"


def test_scope_short_names_categories_and_metadata():
    crd = crd_for_rgd(rgd({"scope": "Cluster", "shortNames": ["wa"], "categories": ["all", "platform"],
                           "metadata": {"labels": {"team": "web"}, "annotations": {"b": "2", "a": "1"}}}))
    assert crd["spec"]["scope"] == "Cluster"
    assert crd["spec"]["names"] == {"plural": "webapps", "singular": "webapp", "shortNames": ["wa"], "kind": "WebApp",
                                    "listKind": "WebAppList", "categories": ["all", "platform"]}
    assert crd["metadata"] == {"name": "webapps.kro.run", "labels": {"team": "web"}, "annotations": {"a": "1", "b": "2"}}
    assert crd_for_rgd(rgd({}))["spec"]["scope"] == "Namespaced"


def test_additional_printer_columns_replace_the_defaults():
    columns = [{"jsonPath": ".spec.image", "name": "Image", "type": "string", "priority": 0},
               {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "priority": 1, "format": "int32"}]
    crd = crd_for_rgd(rgd({"additionalPrinterColumns": columns}))
    assert crd["spec"]["versions"][0]["additionalPrinterColumns"] == [
        {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
        {"name": "Replicas", "type": "integer", "format": "int32", "priority": 1, "jsonPath": ".spec.replicas"}]
    defaults = crd_for_rgd(rgd({"additionalPrinterColumns": []}))["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in defaults] == ["State", "Ready", "Age"]


def test_server_defaults_add_conversion():
    assert "conversion" not in crd_for_rgd(rgd({}))["spec"]
    assert crd_for_rgd(rgd({}), server_defaults=True)["spec"]["conversion"] == {"strategy": "None"}


@pytest.mark.parametrize("schema, field", [
    ({"kind": None}, "spec.schema.kind"),
    ({"kind": "web-app"}, "spec.schema.kind"),
    ({"apiVersion": "kro.run/v1"}, "spec.schema.apiVersion"),
    ({"apiVersion": None}, "spec.schema.apiVersion"),
    ({"group": "platform"}, "spec.schema.group"),
    ({"group": "Platform.Example.com"}, "spec.schema.group"),
    ({"scope": "namespaced"}, "spec.schema.scope"),
    ({"kind": "DNS"}, "spec.schema.kind"),
    ({"spec": {"git": {"url": "string | requird=true"}}}, "spec.schema.spec.git.url"),
    ({"types": {"A": {"b": "A"}}}, "spec.schema.types.A.b"),
    ({"types": {"A": {"b": "B"}, "B": {"a": "A"}}}, "spec.schema.types.B"),
])
def test_what_stops_the_crd_from_existing_raises_with_the_path(schema, field):
    source = rgd(schema)
    source["spec"]["schema"] = {k: v for k, v in source["spec"]["schema"].items() if v is not None}
    with pytest.raises(SimpleSchemaError) as info:
        crd_for_rgd(source)
    assert info.value.field == field


def test_missing_schema_raises():
    with pytest.raises(SimpleSchemaError):
        crd_for_rgd({"spec": {}})


# ---------------------------------------------------------------------------------------------
# status


RESOURCES = [
    {"id": "deployment", "template": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}},
    {"id": "service", "template": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}},
]


def status_of(status: dict, spec: dict | None = None, scope: str | None = None) -> tuple[dict, list]:
    schema = {"status": status, "spec": spec or {"name": "string", "replicas": "integer",
                                                 "labels": "map[string]string", "git": {"url": "string"}}}
    if scope:
        schema["scope"] = scope
    synthesis = synthesize(rgd(schema, RESOURCES))
    return synthesis.status_schema["properties"], synthesis.unknown_status


def test_status_always_has_state_and_conditions():
    props, _ = status_of({})
    assert props["state"] == {"type": "string"}
    assert props["conditions"]["items"]["properties"]["observedGeneration"] == {"type": "integer"}
    props, _ = status_of({"state": "${deployment.status.phase}"})
    assert props["state"] == {"x-kubernetes-preserve-unknown-fields": True}  # kro only fills it in when missing


def test_status_types_that_can_be_known_offline():
    props, unknown = status_of({
        "url": "https://${service.metadata.name}.example.com",
        "name": "${schema.spec.name}",
        "replicas": "${schema.spec.replicas}",
        "labels": "${schema.spec.labels}",
        "git": "${schema.spec.git}",
        "owner": "${schema.metadata.name}",
        "deployName": "${deployment.metadata.name}",
        "deployLabels": "${deployment.metadata.labels}",
        "generation": "${deployment.metadata.generation}",
        "kind": "${deployment.kind}",
        "ready": "${deployment.status.availableReplicas == deployment.spec.replicas}",
        "count": "${size(deployment.status.conditions)}",
        "text": "${string(deployment.status.availableReplicas)}",
        "nested": {"ok": "${has(service.spec.clusterIP)}"},
    })
    assert unknown == []
    assert props["url"] == props["name"] == props["owner"] == props["deployName"] == props["kind"] == {"type": "string"}
    assert props["text"] == {"type": "string"}
    assert props["replicas"] == props["generation"] == props["count"] == {"type": "integer"}
    assert props["labels"] == props["deployLabels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert props["git"] == {"type": "object", "properties": {"url": {"type": "string"}}}
    assert props["ready"] == {"type": "boolean"}
    assert props["nested"] == {"type": "object", "properties": {"ok": {"type": "boolean"}}}


def test_status_types_that_need_the_live_schema_accept_anything_and_are_listed():
    props, unknown = status_of({
        "replicas": "${deployment.status.availableReplicas}",
        "uri": "${service.status.?loadBalancer}",
        "conditions2": "${deployment.status.conditions}",
        "custom": "${random.seededString(8, schema.metadata.uid)}",
    })
    for key in ("replicas", "uri", "conditions2", "custom"):
        assert props[key] == {"x-kubernetes-preserve-unknown-fields": True}
    assert sorted(unknown) == ["status.conditions2", "status.custom", "status.replicas", "status.uri"]


def test_author_conditions_use_the_standard_schema():
    props, _ = status_of({"conditions": ['${runtime.newCondition("Ok", deployment.status.ready)}']})
    assert props["conditions"]["type"] == "array"
    assert props["conditions"]["items"]["properties"]["reason"] == {"type": "string"}


def test_status_literals_are_left_out_and_reported():
    synthesis = synthesize(rgd({"status": {"phase": "Ready", "count": 3}}, RESOURCES))
    assert "phase" not in synthesis.status_schema["properties"]
    assert [p for p, _ in synthesis.status_problems] == [("spec", "schema", "status", "phase"),
                                                         ("spec", "schema", "status", "count")]


def test_cluster_scoped_instance_has_no_namespace_to_infer():
    props, unknown = status_of({"ns": "${schema.metadata.namespace}"}, scope="Cluster")
    assert unknown == ["status.ns"]


# ---------------------------------------------------------------------------------------------
# plurals (flect v1.0.3)


@pytest.mark.parametrize("kind, plural", [
    ("CICDPipeline", "cicdpipelines"), ("WebApp", "webapps"), ("ValidationTestApp", "validationtestapps"),
    ("ComplexApp", "complexapps"), ("Policy", "policies"), ("Ingress", "ingresses"), ("Status", "statuses"),
    ("Database", "databases"), ("Proxy", "proxies"), ("Gateway", "gateways"), ("Person", "people"),
    ("Index", "indices"), ("Child", "children"), ("Datum", "data"), ("Box", "boxes"), ("Leaf", "leaves"),
    ("Potato", "potatoes"), ("Photo", "photos"), ("Quiz", "quizzes"), ("Analysis", "analyses"),
    ("Cactus", "cacti"), ("Campus", "campuses"), ("Wife", "wives"), ("Key", "keys"), ("Cherry", "cherries"),
    ("Api", "apis"), ("Id", "ids"), ("Sheep", "sheep"), ("Series", "series"), ("Alias", "aliases"),
    # flect quirks kro inherits
    ("Idea", "idea"), ("Area", "area"), ("Media", "media"), ("DNS", "dnsDNSes"), ("Https", "httpsHTTPSes"),
    ("Data", "data"), ("Bus", "buses"), ("Virus", "viruses"), ("Octopus", "octupuses"),
])
def test_kind_plurals(kind, plural):
    assert kind_plural(kind) == plural


def test_flect_keeps_capitalisation_on_mixed_case_input():
    assert pluralize("Person") == "People"
    assert pluralize("node_child") == "node_children"
    assert pluralize("") == ""


def test_real_cicdpipeline_rgd():
    path = shared("reference", "appmod-blueprints", "at-fcc75366", "gitops", "addons", "charts", "kro",
                  "resource-groups", "manifests", "cicd-pipeline", "cicd-pipeline.yaml")
    source = [d for d in yaml.safe_load_all(path.read_text()) if d][0]
    synthesis = synthesize(source)
    assert synthesis.crd["metadata"]["name"] == "cicdpipelines.kro.run"
    spec = synthesis.crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["default"] == {} and spec["properties"]["aws"]["default"] == {}
    assert "default" not in spec["properties"]["gitlab"]
    # optional field access (`.?`) has an optional type kro resolves from the live schema
    assert synthesis.unknown_status == ["status.ecrMainRepositoryURI", "status.ecrCacheRepositoryURI",
                                        "status.iamRoleARN", "status.serviceAccountName"]


def test_fast_enough_for_hundreds_of_rgds():
    source, _ = worked_example()
    sources = []
    for i in range(300):
        item = copy.deepcopy(source)
        item["spec"]["schema"]["kind"] = f"Pipeline{i}"
        sources.append(item)
    start = time.perf_counter()
    for item in sources:
        crd_for_rgd(item)
    assert time.perf_counter() - start < 3.0
