"""The kro RGD checks: every rule fails on a broken RGD and passes on the fixed one."""

from __future__ import annotations

import copy
import shutil

import yaml

from tests.helpers import REPO_ROOT, check_repo, shared, with_rule, write_repo
from wavegate.findings import Severity
from wavegate.rule_examples import examples
from wavegate.rules import REGISTRY, all_rules

BASE = {
    "apiVersion": "kro.run/v1alpha1",
    "kind": "ResourceGraphDefinition",
    "metadata": {"name": "webapp.kro.run"},
    "spec": {
        "schema": {
            "apiVersion": "v1alpha1",
            "kind": "WebApp",
            "spec": {"name": "string | required=true", "replicas": "integer | default=1",
                     "labels": "map[string]string", "values": "object", "git": {"url": "string"}},
            "status": {"configMap": "${config.metadata.name}"},
        },
        "resources": [
            {"id": "config", "template": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "${schema.spec.name}", "namespace": "${schema.metadata.namespace}"},
                "data": {"replicas": "${string(schema.spec.replicas)}", "url": "${schema.spec.git.url}"}}},
        ],
    },
}


def rgd(edit=None) -> dict:
    doc = copy.deepcopy(BASE)
    if edit:
        edit(doc)
    return doc


def schema(doc) -> dict:
    return doc["spec"]["schema"]


def resources(doc) -> list:
    return doc["spec"]["resources"]


def add(doc, item):
    doc["spec"]["resources"].append(item)


def configmap(rid, **extra) -> dict:
    body = {"id": rid, "template": {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "${schema.spec.name}-" + rid.lower()}}}
    if "data" in extra:
        body["template"]["data"] = extra.pop("data")
    body.update(extra)
    return body


def run(tmp_path, *docs, raw: str | None = None):
    text = raw if raw is not None else "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)
    write_repo(tmp_path, {"rgd.yaml": text})
    return check_repo(tmp_path)


def kro(findings):
    """The findings of this module's rules, without the informational one."""
    return [f for f in findings if f.rule in REGISTRY and REGISTRY[f.rule].family == "kro"
            and f.rule != "kro-check-skipped"]


def line_of(tmp_path, needle: str) -> int:
    for number, line in enumerate((tmp_path / "rgd.yaml").read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in rgd.yaml")


def test_rules_are_declared_with_the_kro_prefix_and_examples():
    all_rules()
    mine = [r for r in REGISTRY.values() if r.family == "kro"]
    assert len(mine) >= 20
    for rule in mine:
        assert rule.id.startswith("kro-") and examples(rule.id) is not None and rule.rationale
    assert REGISTRY["kro-check-skipped"].severity == Severity.INFO


def test_a_correct_rgd_has_no_kro_errors(tmp_path):
    assert kro(run(tmp_path, rgd())) == []


# ---------------------------------------------------------------------------------------------
# SimpleSchema


def test_schema_type_invalid(tmp_path):
    findings = run(tmp_path, rgd(lambda d: schema(d)["spec"].update(replicas="number | default=1")))
    [finding] = with_rule(findings, "kro-schema-type-invalid")
    assert finding.line == line_of(tmp_path, "replicas: number")
    assert "unknown type: number" in finding.message and "kro rejects the RGD" in finding.message
    assert "float" in finding.hint


def test_schema_type_invalid_in_custom_types(tmp_path):
    def edit(d):
        schema(d)["types"] = {"A": {"b": "B"}, "B": {"a": "A"}}
        schema(d)["spec"]["a"] = "A"
    [finding] = with_rule(run(tmp_path, rgd(edit)), "kro-schema-type-invalid")
    assert "graph contains a cycle: A -> B -> A" in finding.message


def test_schema_type_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd()), "kro-schema-type-invalid") == []


def test_schema_marker_invalid(tmp_path):
    findings = run(tmp_path, rgd(lambda d: schema(d)["spec"]["git"].update(url="string | requird=true")))
    [finding] = with_rule(findings, "kro-schema-marker-invalid")
    assert finding.line == line_of(tmp_path, "url: string | requird")
    assert 'invalid marker key "requird": unknown marker: requird' in finding.message
    assert "field git: field url:" in finding.message
    assert finding.hint.startswith("Did you mean required?")


def test_schema_marker_invalid_when_kro_lets_it_through_but_the_api_server_does_not(tmp_path):
    findings = run(tmp_path, rgd(lambda d: schema(d)["spec"].update(enabled="boolean | default=True")))
    [finding] = with_rule(findings, "kro-schema-marker-invalid")
    assert "not valid JSON" in finding.message


def test_schema_marker_passes(tmp_path):
    def edit(d):
        schema(d)["spec"]["tags"] = "[]string | uniqueItems=true maxItems=3 description=\"up to three\""
    assert with_rule(run(tmp_path, rgd(edit)), "kro-schema-marker-invalid") == []


def test_several_schema_errors_are_all_reported(tmp_path):
    def edit(d):
        schema(d)["spec"].update(a="number", b="string | optional", c="[]")
    findings = run(tmp_path, rgd(edit))
    assert len(with_rule(findings, "kro-schema-type-invalid")) == 2
    assert len(with_rule(findings, "kro-schema-marker-invalid")) == 1


# ---------------------------------------------------------------------------------------------
# identity


def test_kind_invalid(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(kind="web-app"))), "kro-kind-invalid")
    assert "must be UpperCamelCase" in finding.message and "WebApp" in finding.hint
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).pop("kind"))), "kro-kind-invalid")
    assert finding.message == "spec.schema.kind is missing"


def test_kind_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd()), "kro-kind-invalid") == []


def test_api_version_invalid(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(apiVersion="kro.run/v1alpha1"))),
                          "kro-api-version-invalid")
    lines = [i for i, text in enumerate((tmp_path / "rgd.yaml").read_text().splitlines(), 1) if "kro.run/v1alpha1" in text]
    assert (finding.line, finding.column) == (lines[1], 17)  # the value under spec.schema, not the RGD's own
    assert "apiVersion: v1alpha1" in finding.hint


def test_api_version_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: schema(d).update(apiVersion="v2beta1"))), "kro-api-version-invalid") == []


def test_group_invalid(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(group="platform"))), "kro-group-invalid")
    assert "has no dot" in finding.message


def test_group_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: schema(d).update(group="platform.example.com"))),
                     "kro-group-invalid") == []


def test_scope_invalid(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(scope="namespaced"))), "kro-scope-invalid")
    assert finding.hint == "Write Namespaced."


def test_scope_passes(tmp_path):
    def edit(d):
        schema(d)["scope"] = "Cluster"
        resources(d)[0]["template"]["metadata"].pop("namespace")
    assert with_rule(run(tmp_path, rgd(edit)), "kro-scope-invalid") == []


def test_kind_plural_invalid(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(kind="DNS"))), "kro-kind-plural-invalid")
    assert "'dnsDNSes'" in finding.message


def test_kind_plural_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: schema(d).update(kind="DNSRecord"))), "kro-kind-plural-invalid") == []


# ---------------------------------------------------------------------------------------------
# resources


def test_resource_id_invalid(tmp_path):
    def edit(d):
        add(d, configmap("app-config"))
        add(d, {"template": resources(d)[0]["template"]})
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-resource-id-invalid")
    assert [f.message for f in findings] == [
        "id app-config is not a valid KRO resource id: must be lower camelCase", "resource #3 has no id"]
    assert findings[0].hint.startswith("Rename it to appConfig")


def test_resource_id_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: add(d, configmap("appConfig2")))), "kro-resource-id-invalid") == []


def test_resource_id_reserved(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: add(d, configmap("namespace")))), "kro-resource-id-reserved")
    assert finding.message == "id namespace is a reserved keyword in KRO"


def test_resource_id_reserved_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: add(d, configmap("appNamespace")))), "kro-resource-id-reserved") == []


def test_resource_id_duplicate(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: add(d, configmap("config")))), "kro-resource-id-duplicate")
    assert "also used by resource #1" in finding.message
    assert finding.line == [i for i, text in enumerate((tmp_path / "rgd.yaml").read_text().splitlines(), 1)
                            if "id: config" in text][1]


def test_resource_id_duplicate_passes(tmp_path):
    assert with_rule(run(tmp_path, rgd(lambda d: add(d, configmap("other")))), "kro-resource-id-duplicate") == []


def test_template_or_external_ref(tmp_path):
    external = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}

    def edit(d):
        add(d, {"id": "both", "template": resources(d)[0]["template"], "externalRef": external})
        add(d, {"id": "neither", "readyWhen": ["${neither.data != null}"]})
        add(d, {"id": "collection", "externalRef": external, "forEach": [{"item": "${schema.spec.items}"}]})
        add(d, {"id": "unnamed", "externalRef": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}})
    messages = [f.message for f in with_rule(run(tmp_path, rgd(edit)), "kro-resource-template-or-external-ref")]
    assert messages == [
        'resource "both": cannot use externalRef with template',
        'resource "neither": exactly one of template or externalRef must be provided',
        'resource "collection": cannot use externalRef with forEach',
        'resource "unnamed": externalRef has neither metadata.name nor metadata.selector; exactly one is required']


def test_external_ref_passes(tmp_path):
    def edit(d):
        add(d, {"id": "settings", "externalRef": {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "settings", "namespace": "platform"}}})
        add(d, {"id": "many", "externalRef": {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"selector": {"matchLabels": {"a": "b"}}}}})
    assert with_rule(run(tmp_path, rgd(edit)), "kro-resource-template-or-external-ref") == []


def test_template_invalid(tmp_path):
    def edit(d):
        add(d, {"id": "noVersion", "template": {"kind": "ConfigMap", "metadata": {"name": "a"}}})
        add(d, {"id": "badMeta", "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": "a"}})
        add(d, {"id": "badKind", "template": {"apiVersion": "v1", "kind": "Config_Map", "metadata": {"name": "a"}}})
        add(d, {"id": "badVersion", "template": {"apiVersion": "a/b/v1", "kind": "ConfigMap", "metadata": {"name": "a"}}})
        add(d, {"id": "reserved", "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "a", "labels": {"kro.run/owned": "true"}, "annotations": {"internal.kro.run/x": "y"}}}})
    messages = [f.message for f in with_rule(run(tmp_path, rgd(edit)), "kro-template-invalid")]
    assert messages == [
        "resource noVersion is not a valid Kubernetes object: apiVersion field not found",
        "resource badMeta is not a valid Kubernetes object: metadata field is not a map",
        'invalid kind "Config_Map": must be a valid DNS-1035 label when lowercased',
        'invalid apiVersion format "a/b/v1": expected version or group/version',
        'invalid label for resource "reserved". labels with prefix "kro.run/" are reserved for internal use',
        'invalid annotation for resource "reserved". annotations with prefix "internal.kro.run/" are reserved '
        "for internal use"]


def test_template_passes(tmp_path):
    def edit(d):
        resources(d)[0]["template"]["metadata"]["annotations"] = {"cicd.kro.run/app": "x", "example.com/kro.run": "y"}
    assert with_rule(run(tmp_path, rgd(edit)), "kro-template-invalid") == []


def test_for_each_invalid(tmp_path):
    def edit(d):
        add(d, configmap("a", forEach=[{"item": "schema.spec.items"}]))
        add(d, configmap("b", forEach=[{"each": "${schema.spec.items}"}]))
        add(d, configmap("c", forEach=[{"config": "${schema.spec.items}"}]))
        add(d, configmap("e", forEach=[{"x": "${schema.spec.items}", "y": "${schema.spec.items}"}]))
        add(d, configmap("f", forEach=[{f"i{n}": "${schema.spec.items}"} for n in range(11)]))
    messages = [f.message for f in with_rule(run(tmp_path, rgd(edit)), "kro-foreach-invalid")]
    assert any('forEach iterator "item" must be one standalone' in m for m in messages)
    assert any('forEach iterator name "each" is a reserved keyword' in m for m in messages)
    assert any('forEach iterator name "config" conflicts with resource ID' in m for m in messages)
    assert any("must map exactly one iterator" in m for m in messages)
    assert any("forEach cannot have more than 10 dimensions, got 11" in m for m in messages)


def test_for_each_passes(tmp_path):
    def edit(d):
        schema(d)["spec"]["items"] = "[]string"
        add(d, configmap("buckets", forEach=[{"bucket": "${schema.spec.items}"}], data={"name": "${bucket}"},
                         readyWhen=["${each.metadata.name != ''}"]))
    findings = run(tmp_path, rgd(edit))
    assert with_rule(findings, "kro-foreach-invalid") == []
    assert with_rule(findings, "kro-reference-unknown") == []
    assert with_rule(findings, "kro-ready-when-foreign-reference") == []


# ---------------------------------------------------------------------------------------------
# references


def test_reference_unknown(tmp_path):
    def edit(d):
        add(d, configmap("secret", data={"from": "${confg.metadata.name}", "rt": "${runtime.x}"}))
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-reference-unknown")
    assert [f.message for f in findings] == [
        "${confg.metadata.name} references unknown identifiers: [confg]",
        "${runtime.x} runtime is only available in status.conditions expressions"]
    assert findings[0].hint.startswith("Did you mean config?")
    assert findings[0].line == line_of(tmp_path, "${confg.metadata.name}")


def test_reference_unknown_passes(tmp_path):
    def edit(d):
        add(d, configmap("secret", data={"from": "${config.metadata.name}",
                                         "ok": "${config.data.exists(k, k == 'a') && cel.bind(n, 1, n > 0)}"}))
        schema(d)["status"]["conditions"] = ['${runtime.newCondition("Ok", config.metadata.name != "")}']
    assert with_rule(run(tmp_path, rgd(edit)), "kro-reference-unknown") == []


def test_reference_unknown_field(tmp_path):
    def edit(d):
        add(d, configmap("secret", data={"a": "${schema.spec.nmae}", "b": "${schema.spec.git.ur}",
                                         "c": "${schema.status.ready}", "d": "${schema.metadata.nme}",
                                         "e": "${config.metadata.nmae}", "f": "${schema.sepc.name}"}))
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-reference-unknown-field")
    messages = [f.message for f in findings]
    assert messages[0] == ("${schema.spec.nmae} reads schema.spec.nmae, but spec.schema.spec declares git, labels, "
                           "name, replicas, values")
    assert findings[0].hint.startswith("Did you mean schema.spec.name?")
    assert messages[1].startswith("${schema.spec.git.ur} reads schema.spec.git.ur, but spec.schema.spec.git declares url")
    assert "schema.status" in messages[2]
    assert "schema.metadata.nme, which is not an ObjectMeta field" in messages[3]
    assert "config.metadata.nmae, which is not an ObjectMeta field" in messages[4]
    assert "reads schema.sepc" in messages[5]


def test_reference_unknown_field_passes_for_maps_free_objects_and_metadata(tmp_path):
    def edit(d):
        add(d, configmap("secret", data={"a": "${schema.spec.labels.team}", "b": "${schema.spec.values.any.depth}",
                                         "c": "${schema.metadata.labels['x']}", "d": "${schema.spec.name.lowerAscii()}",
                                         "e": "${schema.kind}", "f": "${config.metadata.uid}"}))
    assert with_rule(run(tmp_path, rgd(edit)), "kro-reference-unknown-field") == []


def test_a_field_with_a_schema_error_is_not_also_an_unknown_reference(tmp_path):
    def edit(d):
        schema(d)["spec"]["size"] = "number"
        add(d, configmap("secret", data={"a": "${string(schema.spec.size)}"}))
    findings = run(tmp_path, rgd(edit))
    assert len(with_rule(findings, "kro-schema-type-invalid")) == 1
    assert with_rule(findings, "kro-reference-unknown-field") == []


def test_cluster_scoped_kind_has_no_namespace(tmp_path):
    [finding] = with_rule(run(tmp_path, rgd(lambda d: schema(d).update(scope="Cluster"))), "kro-reference-unknown-field")
    assert "Cluster-scoped" in finding.message


def test_dependency_cycle(tmp_path):
    def edit(d):
        add(d, configmap("a", data={"x": "${b.metadata.name}"}))
        add(d, configmap("b", data={"x": "${a.metadata.name}"}))
        add(d, configmap("c", data={"x": "${c.metadata.name}"}))
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-dependency-cycle")
    assert [f.message for f in findings] == [
        "failed to build dependency graph: graph contains a cycle: a -> b -> a",
        'resource "c" refers to itself: self references are not allowed']


def test_dependency_cycle_through_include_when(tmp_path):
    def edit(d):
        add(d, configmap("a", includeWhen=["${b.data.enabled == 'true'}"]))
        add(d, configmap("b", data={"x": "${a.metadata.name}"}))
    [finding] = with_rule(run(tmp_path, rgd(edit)), "kro-dependency-cycle")
    assert "a -> b -> a" in finding.message


def test_dependency_chain_passes(tmp_path):
    def edit(d):
        add(d, configmap("a", data={"x": "${config.metadata.name}"}, readyWhen=["${a.data != null}"]))
        add(d, configmap("b", data={"x": "${a.metadata.name}"}))
    assert with_rule(run(tmp_path, rgd(edit)), "kro-dependency-cycle") == []


def test_condition_not_standalone(tmp_path):
    def edit(d):
        resources(d)[0]["readyWhen"] = ["config.data != null", "ready: ${config.data != null}", 5]
        resources(d)[0]["includeWhen"] = "${schema.spec.replicas > 0}"
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-condition-not-standalone")
    assert len(findings) == 4
    assert findings[0].hint == "Wrap it: - ${config.data != null}"
    assert "only standalone expressions are allowed" in findings[1].message
    assert "includeWhen must be a list" in findings[3].message


def test_condition_standalone_passes(tmp_path):
    def edit(d):
        resources(d)[0]["readyWhen"] = ["${config.data != null && size(config.data) > 0}"]
        resources(d)[0]["includeWhen"] = ["${schema.spec.replicas > 0}"]
    assert with_rule(run(tmp_path, rgd(edit)), "kro-condition-not-standalone") == []


def test_ready_when_foreign_reference(tmp_path):
    def edit(d):
        add(d, configmap("other"))
        resources(d)[0]["readyWhen"] = ["${other.data != null && schema.spec.replicas > 0}"]
    [finding] = with_rule(run(tmp_path, rgd(edit)), "kro-ready-when-foreign-reference")
    assert finding.message.startswith('resource "config" readyWhen: references unknown identifiers: [other, schema]')


def test_ready_when_own_reference_passes(tmp_path):
    def edit(d):
        resources(d)[0]["readyWhen"] = ["${config.metadata.name != ''}"]
    assert with_rule(run(tmp_path, rgd(edit)), "kro-ready-when-foreign-reference") == []


def test_expression_invalid(tmp_path):
    def edit(d):
        resources(d)[0]["template"]["data"].update(a="${schema.spec.name +}", b="${upper(${schema.spec.name})}")
    findings = with_rule(run(tmp_path, rgd(edit)), "kro-expression-invalid")
    messages = sorted(f.message for f in findings)
    assert any("parse error" in m and "Syntax error" in m for m in messages)
    assert any(m.startswith("nested expressions are not allowed unless inside string literals") for m in messages)


def test_expression_passes(tmp_path):
    def edit(d):
        resources(d)[0]["template"]["data"].update(a='${"prefix-${literal}" + schema.spec.name}',
                                                   b="${schema.metadata.?annotations['x'].orValue('')}")
    assert with_rule(run(tmp_path, rgd(edit)), "kro-expression-invalid") == []


def test_status_invalid(tmp_path):
    def edit(d):
        schema(d)["status"].update(phase="Ready", count=3, constant='${"x"}', conditions="${config.x}")
    messages = [f.message for f in with_rule(run(tmp_path, rgd(edit)), "kro-status-invalid")]
    assert messages == [
        "status fields without expressions are not supported: [status.phase] is 'Ready'",
        "status fields without expressions are not supported: [status.count] is 3",
        "instance status field must refer to a resource or schema: status.constant",
        "status.conditions must be a list, got string"]


def test_status_passes(tmp_path):
    def edit(d):
        schema(d)["status"].update(url="https://${config.metadata.name}", nested={"name": "${schema.spec.name}"},
                                   conditions=['${runtime.newCondition("Ok", config.metadata.name != "")}'])
    assert with_rule(run(tmp_path, rgd(edit)), "kro-status-invalid") == []


# ---------------------------------------------------------------------------------------------
# what was skipped


def test_one_info_finding_per_rgd_says_what_was_skipped(tmp_path):
    def edit(d):
        schema(d)["kind"] = "Other"
        d["metadata"]["name"] = "other.kro.run"
        schema(d)["status"]["replicas"] = "${config.data.replicas}"
    findings = with_rule(run(tmp_path, rgd(), rgd(edit)), "kro-check-skipped")
    assert len(findings) == 2 and all(f.severity == Severity.INFO for f in findings)
    assert "ConfigMap (v1)" in findings[0].message and "namespaced or cluster-scoped" in findings[0].message
    assert "status.replicas" in findings[1].message and "status.replicas" not in findings[0].message


def test_nothing_skipped_for_an_rgd_without_resources_or_status(tmp_path):
    def edit(d):
        d["spec"]["resources"] = []
        schema(d).pop("status")
    assert with_rule(run(tmp_path, rgd(edit)), "kro-check-skipped") == []


# ---------------------------------------------------------------------------------------------
# real RGDs


def test_the_platform_rgd_is_clean(tmp_path):
    shutil.copy(REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml", tmp_path / "rgd.yaml")
    findings = check_repo(tmp_path)
    assert kro(findings) == []
    assert len(with_rule(findings, "kro-check-skipped")) == 1


def test_kro_examples_are_clean(tmp_path):
    for name in ("kro-e2e-required-default__rgd.yaml", "kro-e2e-validation-markers__rgd.yaml",
                 "kro-examples_kubernetes_webapp_rg.yaml", "kro-examples_kubernetes_defaults_rg.yaml"):
        shutil.copy(shared("reference", "kro-examples", name), tmp_path / "rgd.yaml")
        assert kro(check_repo(tmp_path)) == [], name


def test_real_cicdpipeline_rgd_uses_a_reserved_annotation(tmp_path):
    source = shared("reference", "appmod-blueprints", "at-fcc75366", "gitops", "addons", "charts", "kro",
                    "resource-groups", "manifests", "cicd-pipeline", "cicd-pipeline.yaml")
    shutil.copy(source, tmp_path / "rgd.yaml")
    [finding] = kro(check_repo(tmp_path))
    assert finding.rule == "kro-template-invalid"
    assert 'annotations with prefix "kro.run/"' in finding.message
    assert finding.line == line_of(tmp_path, "kro.run/depends-on")
