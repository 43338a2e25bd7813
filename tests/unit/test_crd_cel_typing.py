"""A CRD's CEL rules are compiled by the API server against the types of its schema and estimated
against the cost budget; wavegate finds the same refusals offline (wavegate.schemas.cel_check),
with the server's wording, at the rule's line. tests/integration/test_server_differential.py
compares the verdicts with a real API server."""

import pytest

from tests.helpers import check_repo, widget_crd, with_rule, write_repo
from wavegate.schemas import cel_check

SPEC = """
type: object
x-kubernetes-validations:
  - rule: "{rule}"
properties:
  size: {{type: integer}}
  ratio: {{type: number}}
  owner: {{type: string, maxLength: 20}}
  tags: {{type: array, maxItems: 3, items: {{type: string}}}}
  labels: {{type: object, additionalProperties: {{type: string}}}}
  ports:
    type: array
    items:
      type: object
      required: [name]
      properties:
        name: {{type: string}}
        port: {{type: integer}}
"""

REFUSED = {
    "self.nosuch == 1": "compilation failed: ERROR: <input>:1:5: undefined field 'nosuch'",
    "self.ports.all(p, p.nme == 'a')": "compilation failed: ERROR: <input>:1:20: undefined field 'nme'",
    "self.size == 'x'": "compilation failed: ERROR: <input>:1:11: found no matching overload for '_==_' applied to "
                        "'(int, string)'",
    "self.size == 1.5": "found no matching overload for '_==_' applied to '(int, double)'",
    "self.labels.all(k, self.labels.all(j, k != j || self.labels[k] == self.labels[j]))":
        "Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or "
        "adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
    "self.ports.all(p, p.name.matches('^[a-z]+$'))": "estimated rule cost exceeds budget",
}
ACCEPTED = ["self.size > 0", "self.ratio > 1", "self.tags.all(t, t.matches('^a'))", "self.ports.all(p, p.port > 0)",
            "self.ports.all(p, p.name.startsWith('a'))", "has(self.owner) ? self.owner.matches('^[a-z]+$') : true",
            "self.labels.all(k, self.labels[k] != '')", "self.owner.contains('x')"]


def _crd_findings(tmp_path, rule):
    write_repo(tmp_path, {"crd.yaml": widget_crd(SPEC.format(rule=rule))})
    return with_rule(check_repo(tmp_path), "schema-crd-invalid")


@pytest.mark.parametrize("rule", list(REFUSED))
def test_what_the_api_server_refuses_is_refused_at_the_rule_line(tmp_path, rule):
    [finding] = _crd_findings(tmp_path, rule)
    assert REFUSED[rule] in finding.message and f"`{rule}`" in finding.message
    assert finding.line == 20  # the `- rule:` line under x-kubernetes-validations
    assert finding.field.endswith("x-kubernetes-validations[0].rule")


@pytest.mark.parametrize("rule", ACCEPTED)
def test_what_the_api_server_accepts_is_accepted(tmp_path, rule):
    assert _crd_findings(tmp_path, rule) == []


def test_a_resource_roots_own_fields_are_known():
    schema = {"type": "object", "properties": {"spec": {"type": "object"}}}
    assert cel_check.check("self.metadata.name.startsWith('a')", schema, resource_root=True) == []
    [found] = cel_check.check("self.metadata.name == 'a'", schema, resource_root=False)
    assert "undefined field 'metadata'" in found.message


def test_an_expression_this_parser_cannot_read_is_left_to_the_runtime():
    assert cel_check.check("self.size >", {"type": "object"}) == []
    assert cel_check.check("self.x", {"type": ["object"]}) == []  # a schema too odd to reason about
