"""The built-in engine on a small hand-written CRD: every instance check fails once and passes once,
in the API server's order (prune, default, validate, CEL)."""

from __future__ import annotations

import copy
import textwrap

import pytest

from tests.helpers import check_repo, widget_crd, with_rule, write_repo
from wavegate.config import Config
from wavegate.load import load, parse_documents
from wavegate.schemas import SchemaStore
from wavegate.validators.schema import check_manifest

CRD = widget_crd("""
              type: object
              required: [region]
              x-kubernetes-validations:
                - rule: self.minReplicas <= self.maxReplicas
                  message: minReplicas must not exceed maxReplicas
              properties:
                region: {type: string, pattern: '^[a-z]+-[a-z]+-[0-9]$'}
                replicas: {type: integer, minimum: 1, maximum: 5}
                ratio: {type: number, minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true}
                minReplicas: {type: integer, default: 1}
                maxReplicas: {type: integer, default: 3}
                tier: {type: string, enum: [free, pro], default: free}
                name: {type: string, minLength: 3, maxLength: 5}
                tags:
                  type: array
                  maxItems: 3
                  minItems: 1
                  items: {type: string}
                  x-kubernetes-list-type: set
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string}
                      port: {type: integer, default: 80}
                labels:
                  type: object
                  maxProperties: 2
                  minProperties: 1
                  additionalProperties: {type: string}
                port: {x-kubernetes-int-or-string: true}
                values: {type: object, x-kubernetes-preserve-unknown-fields: true}
                note: {type: string, nullable: true}
                template:
                  type: object
                  x-kubernetes-embedded-resource: true
                  x-kubernetes-preserve-unknown-fields: true
                clusterId:
                  type: string
                  x-kubernetes-validations:
                    - {rule: self == oldSelf, message: field is immutable}
                owner:
                  type: object
                  x-kubernetes-validations:
                    - rule: self.team.startsWith('team-')
                      messageExpression: "'owner team ' + self.team + ' must start with team-'"
                  properties:
                    team: {type: string}
                database:
                  type: object
                  required: [host, port]
                  properties:
                    host: {type: string}
                    port: {type: integer, default: 5432}
""")

GOOD = {"region": "eu-west-1"}


def _widget(spec: dict | None = None, extra: str = "") -> str:
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "apps"}}
    if spec is not None:
        body["spec"] = spec
    import yaml

    return yaml.safe_dump(body, sort_keys=False) + extra


def _check(tmp_path, spec: dict | None = None, crd: str = CRD, extra: str = ""):
    write_repo(tmp_path, {"crds/widget.yaml": crd, "widget.yaml": _widget(spec, extra)})
    return [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")]


def _rules(findings) -> list[tuple[str, str]]:
    return sorted((f.rule, f.field) for f in findings)


def test_a_valid_instance_has_no_findings(tmp_path):
    assert _check(tmp_path, {**GOOD, "replicas": 2, "tags": ["a", "b"], "name": "abc"}) == []


def test_unknown_field_is_reported_with_the_closest_known_field(tmp_path):
    findings = _check(tmp_path, {**GOOD, "regoin": "eu-west-1"})
    assert _rules(findings) == [("schema-unknown-field", "spec.regoin")]
    [finding] = findings
    assert "spec.regoin is not in the CRD schema" in finding.message
    assert "the API server drops it silently" in finding.message
    assert finding.hint == "Did you mean spec.region?"
    assert finding.line == 8  # the regoin key (apiVersion, kind, metadata: 3 lines, spec, region, regoin)


def test_unknown_fields_are_allowed_under_preserve_unknown_fields(tmp_path):
    assert _check(tmp_path, {**GOOD, "values": {"anything": {"goes": 1}}}) == []


def test_unknown_metadata_field_is_reported_like_the_api_server_prunes_it(tmp_path):
    write_repo(tmp_path, {"crds/widget.yaml": CRD, "widget.yaml": """
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
          lables: {app: w}
        spec: {region: eu-west-1}
        """})
    findings = with_rule(check_repo(tmp_path), "schema-unknown-field")
    assert [(f.field, f.hint) for f in findings] == [("metadata.lables", "Did you mean metadata.labels?")]


@pytest.mark.parametrize("spec, rule, field, text", [
    ({"replicas": "3"}, "schema-invalid-type", "spec.replicas", 'Invalid value: "3": must be of type integer'),
    ({"replicas": 1.5}, "schema-invalid-type", "spec.replicas", "must be of type integer"),
    ({"tags": "a"}, "schema-invalid-type", "spec.tags", "must be of type array"),
    ({"labels": {"a": 1}}, "schema-invalid-type", "spec.labels.a", "must be of type string"),
    ({"port": True}, "schema-invalid-type", "spec.port", "must be an integer or a string"),
    ({"replicas": 0}, "schema-invalid-value", "spec.replicas",
     "spec.replicas: Invalid value: 0: should be greater than or equal to 1"),
    ({"replicas": 6}, "schema-invalid-value", "spec.replicas", "should be less than or equal to 5"),
    ({"ratio": 0}, "schema-invalid-value", "spec.ratio", "should be greater than 0"),
    ({"ratio": 1}, "schema-invalid-value", "spec.ratio", "should be less than 1"),
    ({"tier": "gold"}, "schema-invalid-value", "spec.tier",
     'spec.tier: Unsupported value: "gold": supported values: "free", "pro"'),
    ({"region": "EU"}, "schema-invalid-value", "spec.region", "should match '^[a-z]+-[a-z]+-[0-9]$'"),
    ({"name": "ab"}, "schema-invalid-value", "spec.name", "should be at least 3 chars long"),
    ({"name": "abcdef"}, "schema-invalid-value", "spec.name", "Too long: may not be longer than 5"),
    ({"tags": []}, "schema-invalid-value", "spec.tags", "should have at least 1 items"),
    ({"tags": ["a", "b", "c", "d"]}, "schema-invalid-value", "spec.tags", "Too many: 4: must have at most 3 items"),
    ({"labels": {}}, "schema-invalid-value", "spec.labels", "should have at least 1 properties"),
    ({"labels": {"a": "1", "b": "2", "c": "3"}}, "schema-invalid-value", "spec.labels", "must have at most 2 items"),
    ({"tags": ["a", "a"]}, "schema-duplicate-item", "spec.tags[1]", 'Duplicate value: "a"'),
    ({"ports": [{"name": "http"}, {"name": "http", "port": 8080}]}, "schema-duplicate-item", "spec.ports[1]",
     'Duplicate value: name="http"'),
    ({"ports": [{"port": 1}]}, "schema-required", "spec.ports[0].name", "spec.ports[0].name: Required value"),
    ({"database": {"host": "db"}}, None, None, None),  # port is required and defaulted: satisfied
    ({"database": {"port": 1}}, "schema-required", "spec.database.host", "Required value"),
    ({"template": {"metadata": {"name": "x"}}}, "schema-required", "spec.template.apiVersion", "must not be empty"),
    ({"note": None}, None, None, None),  # nullable
    ({"replicas": None}, None, None, None),  # a non-nullable null is pruned, not an error
])
def test_each_value_check_fails_and_the_message_reads_like_the_api_server(tmp_path, spec, rule, field, text):
    findings = _check(tmp_path, {**GOOD, **spec})
    if rule is None:
        assert findings == []
        return
    assert (rule, field) in _rules(findings), findings
    [finding] = [f for f in findings if (f.rule, f.field) == (rule, field)]
    assert text in finding.message


@pytest.mark.parametrize("spec", [
    {"replicas": 1}, {"replicas": 5}, {"replicas": 3.0}, {"ratio": 0.5}, {"tier": "pro"}, {"name": "abcde"},
    {"name": "äöü"}, {"tags": ["a", "b", "c"]}, {"labels": {"a": "1", "b": "2"}}, {"port": 8080},
    {"port": "http"}, {"ports": [{"name": "http"}, {"name": "grpc"}]}, {"template": {"apiVersion": "v1", "kind": "Pod"}},
    {"owner": {"team": "team-web"}}, {"clusterId": "a"},
])
def test_each_value_check_passes_on_a_good_value(tmp_path, spec):
    assert _check(tmp_path, {**GOOD, **spec}) == []


def test_lengths_count_unicode_code_points_not_bytes(tmp_path):
    # "äöüß" is 4 code points (8 bytes in UTF-8): too short is not the issue, too long would be at 6.
    assert _check(tmp_path, {**GOOD, "name": "äöüßé"}) == []
    assert _rules(_check(tmp_path, {**GOOD, "name": "äöüßéè"})) == [("schema-invalid-value", "spec.name")]


def test_required_field_missing_points_at_its_parent(tmp_path):
    findings = _check(tmp_path, {"replicas": 2})
    [finding] = findings
    assert (finding.rule, finding.field) == ("schema-required", "spec.region")
    assert finding.message == "spec.region: Required value"
    assert finding.line == 6  # `spec:`, where region must be added
    assert finding.hint == "Add `region:` under spec."


def test_required_field_is_satisfied_by_its_default_as_in_the_api_server(tmp_path):
    # Defaulting runs before validation: `database.port` is required and defaulted, so only `host` is missing.
    findings = _check(tmp_path, {**GOOD, "database": {}})
    assert _rules(findings) == [("schema-required", "spec.database.host")]


def test_defaults_are_applied_before_validation_so_a_bad_default_is_caught(tmp_path):
    crd = CRD.replace("tier: {type: string, enum: [free, pro], default: free}",
                      "tier: {type: string, enum: [free, pro], default: gold}")
    findings = _check(tmp_path, GOOD, crd=crd)
    rules = _rules(findings)
    assert ("schema-invalid-value", "spec.tier") in rules  # the instance, with the default applied
    assert ("schema-crd-invalid", "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.tier.default") in rules
    [instance] = [f for f in findings if f.field == "spec.tier"]
    assert "the value comes from the schema's default" in instance.message
    assert instance.line == 6  # the default lands under spec


def test_defaults_feed_cel_rules(tmp_path):
    # maxReplicas defaults to 3, so minReplicas 4 breaks the rule although maxReplicas is not written.
    findings = _check(tmp_path, {**GOOD, "minReplicas": 4})
    [finding] = findings
    assert finding.rule == "schema-cel-rule"
    assert finding.message == 'spec: Invalid value: "object": minReplicas must not exceed maxReplicas'


def test_cel_rule_passes(tmp_path):
    assert _check(tmp_path, {**GOOD, "minReplicas": 2, "maxReplicas": 2}) == []


def test_cel_message_expression_is_used(tmp_path):
    [finding] = _check(tmp_path, {**GOOD, "owner": {"team": "web"}})
    assert finding.rule == "schema-cel-rule"
    assert "owner team web must start with team-" in finding.message


def test_cel_runtime_error_is_a_finding_not_a_crash(tmp_path):
    [finding] = _check(tmp_path, {**GOOD, "owner": {}})
    assert finding.rule == "schema-cel-rule"
    assert "evaluating rule: self.team.startsWith('team-')" in finding.message


def test_cel_rules_are_not_run_when_the_object_has_type_errors(tmp_path):
    findings = _check(tmp_path, {**GOOD, "minReplicas": "many", "maxReplicas": 1})
    assert _rules(findings) == [("schema-invalid-type", "spec.minReplicas"), ("schema-not-checked", "")]
    assert "some validation rules were not checked" in findings[-1].message or \
        any("some validation rules were not checked" in f.message for f in findings)


def test_transition_rules_are_skipped_on_create_and_run_with_an_old_object(tmp_path):
    assert _check(tmp_path, {**GOOD, "clusterId": "a"}) == []
    write_repo(tmp_path, {"crds/widget.yaml": CRD, "widget.yaml": _widget({**GOOD, "clusterId": "b"})})
    repo = load(tmp_path)
    store = SchemaStore.build(repo, Config())
    [widget] = [m for m in repo.manifests if m.kind == "Widget"]
    old = copy.deepcopy(widget.data)
    old["spec"]["clusterId"] = "a"
    [finding] = check_manifest(store, widget, old=old)
    assert finding.rule == "schema-cel-rule"
    assert finding.message == 'spec.clusterId: Invalid value: "string": field is immutable'
    old["spec"]["clusterId"] = "b"
    assert check_manifest(store, widget, old=old) == []


def test_validation_never_mutates_the_manifest(tmp_path):
    write_repo(tmp_path, {"crds/widget.yaml": CRD, "widget.yaml": _widget({**GOOD, "regoin": "x", "replicas": None})})
    repo = load(tmp_path)
    [widget] = [m for m in repo.manifests if m.kind == "Widget"]
    before = copy.deepcopy(widget.data)
    store = SchemaStore.build(repo, Config())
    entry = store.lookup("example.com/v1", "Widget")
    problems, stored = entry.validate(widget.data)
    assert widget.data == before
    # What the API server would store: pruned and defaulted.
    assert "regoin" not in stored["spec"] and "replicas" not in stored["spec"]
    assert stored["spec"]["minReplicas"] == 1 and stored["spec"]["tier"] == "free"


# -- patterns: Go RE2, not Python's re -------------------------------------------------------------


def _pattern_crd(pattern: str) -> str:
    return CRD.replace("region: {type: string, pattern: '^[a-z]+-[a-z]+-[0-9]$'}",
                       "region: {type: string, pattern: '" + pattern.replace("'", "''") + "'}")


def test_a_lookahead_pattern_is_reported_on_the_crd(tmp_path):
    findings = _check(tmp_path, GOOD, crd=_pattern_crd("^(?=.*-)[a-z-0-9]+$"))
    [finding] = [f for f in findings if f.rule == "schema-crd-invalid"]
    assert finding.path == "crds/widget.yaml"
    assert finding.field == "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.region.pattern"
    assert "not a valid Go (RE2) regular expression" in finding.message
    assert "invalid perl operator: (?=" in finding.message


def test_backslash_capital_z_is_not_re2(tmp_path):
    # Python's re accepts \Z (end of string); Go's regexp rejects it, so the API server refuses the CRD.
    import re

    re.compile(r"^[a-z-0-9]+\Z")
    findings = _check(tmp_path, GOOD, crd=_pattern_crd(r"^[a-z-0-9]+\Z"))
    assert any(f.rule == "schema-crd-invalid" and "invalid escape sequence" in f.message for f in findings)


def test_dollar_does_not_match_before_a_trailing_newline_in_re2(tmp_path):
    # Python: re.search('^[a-z]+$', 'abc\n') matches; Go's $ (without m) is the end of the text only.
    import re

    assert re.search(r"^[a-z]+-[a-z]+-[0-9]$", "eu-west-1\n")
    findings = _check(tmp_path, {"region": "eu-west-1\n"})
    assert _rules(findings) == [("schema-invalid-value", "spec.region")]


def test_patterns_are_unanchored_searches_like_go(tmp_path):
    crd = _pattern_crd("[0-9]")
    assert _check(tmp_path, {"region": "eu-west-1"}, crd=crd) == []
    assert _rules(_check(tmp_path, {"region": "eu-west"}, crd=crd)) == [("schema-invalid-value", "spec.region")]


def test_a_cel_rule_that_does_not_compile_is_a_crd_finding_not_a_crash(tmp_path):
    crd = CRD.replace("rule: self.minReplicas <= self.maxReplicas", "rule: self.minReplicas <=")
    findings = _check(tmp_path, {**GOOD, "minReplicas": 9}, crd=crd)
    [finding] = findings
    assert finding.rule == "schema-crd-invalid"
    assert finding.field == "spec.versions[0].schema.openAPIV3Schema.properties.spec.x-kubernetes-validations[0].rule"
    # The API server's wording: "compilation failed: ERROR: <input>:1:20: Syntax error: ..."
    assert "`self.minReplicas <=`: compilation failed: ERROR: <input>:1:" in finding.message


@pytest.mark.parametrize("rule, spec, holds", [
    ("!has(self.name) || quantity(self.name).isLessThan(quantity('1Gi'))", {"name": "512Mi"}, True),
    ("!has(self.name) || quantity(self.name).isLessThan(quantity('1Gi'))", {"name": "2Gi"}, False),
    ("!has(self.tags) || self.tags.isSorted()", {"tags": ["a", "b"]}, True),
    ("!has(self.tags) || self.tags.isSorted()", {"tags": ["b", "a"]}, False),
    ("!has(self.name) || !isIP(self.name) || !ip(self.name).isLoopback()", {"name": "::1"}, False),
    ("!has(self.name) || self.name.find('[0-9]+') == '12'", {"name": "ab12c"}, True),
])
def test_a_cel_rule_using_kubernetes_libraries_wavegate_implements_is_evaluated(tmp_path, rule, spec, holds):
    crd = CRD.replace("rule: self.minReplicas <= self.maxReplicas", f'rule: "{rule}"')
    findings = _check(tmp_path, {**GOOD, **spec}, crd=crd)
    if holds:
        assert findings == []
    else:
        [finding] = findings
        assert (finding.rule, finding.field) == ("schema-cel-rule", "spec")
        assert "minReplicas must not exceed maxReplicas" in finding.message  # the rule's message


@pytest.mark.parametrize("rule, names", [
    ("isSemver('1.0.0')", "isSemver()"),                      # a library wavegate.cel lacks
    ("ip('127.0.0.1').isLinkLocalUnicast()", "isLinkLocalUnicast()"),
    ("quantity('1').add(1) == quantity('2')", "add()"),       # an overload it does not offer
])
def test_a_cel_rule_using_kubernetes_libraries_wavegate_lacks_is_reported_as_not_checked(tmp_path, rule, names):
    crd = CRD.replace("rule: self.minReplicas <= self.maxReplicas", f'rule: "{rule}"')
    findings = _check(tmp_path, GOOD, crd=crd)
    [finding] = findings
    assert finding.rule == "schema-not-checked" and str(finding.severity) == "info"
    assert names in finding.message


def test_the_kubernetes_functions_reported_missing_are_the_ones_wavegate_cel_lacks():
    from wavegate import cel
    from wavegate.schemas.cel import KUBERNETES_LIBRARY

    assert not KUBERNETES_LIBRARY & cel.KUBERNETES_FUNCTIONS
    env = cel.Environment(("x",))
    for name in cel.KUBERNETES_FUNCTIONS:
        forms = (f"{name}(x)", f"x.{name}()", f"x.{name}(x)", f"x.{name}('a', 1)")
        assert any(env.check(form) is None for form in forms), name
    for name in ("isSemver", "isLinkLocalUnicast", "isLinkLocalMulticast", "semver"):
        forms = (f"{name}(x)", f"x.{name}()", f"x.{name}(x)")
        assert all(env.check(form) is not None for form in forms), name


def test_list_map_keys_must_be_required_or_defaulted(tmp_path):
    crd = CRD.replace("                    required: [name]\n                    properties:\n                      name: {type: string}",
                      "                    properties:\n                      name: {type: string}")
    findings = _check(tmp_path, GOOD, crd=crd)
    assert any(f.rule == "schema-crd-invalid" and "must have a default or be a required property" in f.message
               for f in findings)


def test_a_field_without_type_makes_the_crd_non_structural(tmp_path):
    crd = CRD.replace("note: {type: string, nullable: true}", "note: {nullable: true}")
    findings = _check(tmp_path, GOOD, crd=crd)
    assert any(f.rule == "schema-crd-invalid" and "not structural" in f.message
               and f.field.endswith("properties.note") for f in findings)


def test_a_crd_without_instances_is_still_checked(tmp_path):
    write_repo(tmp_path, {"crds/widget.yaml": _pattern_crd("a(?!b)")})
    assert [f.rule for f in check_repo(tmp_path) if f.rule.startswith("schema-")] == ["schema-crd-invalid"]


def test_parse_documents_round_trip_through_the_store():
    manifests, _ = parse_documents("w.yaml", textwrap.dedent(_widget({"regoin": "x"})))
    crds, _ = parse_documents("crd.yaml", textwrap.dedent(CRD))
    store = SchemaStore()
    store.add_crd(crds[0], origin="crd")
    findings = check_manifest(store, manifests[0])
    assert _rules(findings) == [("schema-required", "spec.region"), ("schema-unknown-field", "spec.regoin")]


def test_cel_reason_and_field_path_place_the_error_like_the_api_server(tmp_path):
    crd = CRD.replace("""                - rule: self.minReplicas <= self.maxReplicas
                  message: minReplicas must not exceed maxReplicas""",
                      """                - rule: self.minReplicas <= self.maxReplicas
                  message: minReplicas must not exceed maxReplicas
                  fieldPath: .minReplicas
                  reason: FieldValueForbidden""")
    [finding] = _check(tmp_path, {**GOOD, "minReplicas": 4}, crd=crd)
    assert (finding.rule, finding.field) == ("schema-cel-rule", "spec.minReplicas")
    assert finding.message == "spec.minReplicas: Forbidden: minReplicas must not exceed maxReplicas"
    assert finding.line == 8  # the minReplicas key, not spec


def test_rules_on_list_items_and_map_values_see_each_item(tmp_path):
    crd = CRD.replace("""                      port: {type: integer, default: 80}""",
                      """                      port: {type: integer, default: 80}
                    x-kubernetes-validations:
                      - {rule: self.port != 22, message: port 22 is not allowed}""")
    findings = _check(tmp_path, {**GOOD, "ports": [{"name": "a", "port": 22}, {"name": "b"}]}, crd=crd)
    assert [(f.rule, f.field, f.message) for f in findings] == [
        ("schema-cel-rule", "spec.ports[0]", 'spec.ports[0]: Invalid value: "object": port 22 is not allowed')]


@pytest.mark.parametrize("fmt, value, verdict", [
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", ""),
    ("uuid", "not-a-uuid", "must be a valid uuid"),
    ("ipv4", "10.0.0.300", "must be a valid ipv4"),
    ("duration", "90x", "must be a duration such as 30s, 5m or 1h30m"),
])
def test_string_formats_of_custom_resources(fmt, value, verdict):
    from wavegate.schemas.engine import CRD as CRD_DIALECT
    from wavegate.schemas.engine import check_format

    assert check_format(fmt, value, CRD_DIALECT) == verdict
