"""CRDs made from wavegate's own schemas (the dry-run serves Argo CD's kinds with them): structural
as the API server requires; the real server accepting them is tests/integration/test_dry_run.py."""

from wavegate.schemas.crd import crds_for_group, structural
from wavegate.schemas.store import SchemaStore


def nodes(schema, path=()):
    yield path, schema
    for key in ("properties", "patternProperties"):
        for name, sub in (schema.get(key) or {}).items():
            yield from nodes(sub, path + (name,))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from nodes(schema[key], path + (f"<{key}>",))


def test_argo_cd_kinds_become_structural_crds():
    crds = {c["spec"]["names"]["kind"]: c for c in crds_for_group(SchemaStore(None), "argoproj.io")}
    assert set(crds) == {"Application", "AppProject", "ApplicationSet"}
    application = crds["Application"]
    assert application["metadata"]["name"] == "applications.argoproj.io"
    assert application["spec"]["scope"] == "Namespaced"
    schema = application["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["properties"]["metadata"] == {"type": "object"}
    for path, node in nodes(schema):
        assert "$ref" not in node, path
        assert node.get("additionalProperties") is not False, path
        assert not ("properties" in node and "additionalProperties" in node), path
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields") or \
            node.get("x-kubernetes-int-or-string"), path


def test_structural_keeps_property_names_that_look_like_keywords():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"items": {"type": "string"}, "type": {"type": "string"}, "open": {"type": "object"}}}
    made = structural(schema)
    assert set(made["properties"]) == {"items", "type", "open"}
    assert "additionalProperties" not in made
    assert made["properties"]["open"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
