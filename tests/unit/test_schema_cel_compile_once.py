"""A CRD's CEL rule that the API server would not compile (an undefined field, the wrong types) is
one finding at the rule's line in the CRD, not an evaluation error on every instance."""

import pytest

from tests.helpers import check_repo, widget_crd, with_rule, write_repo

SPEC = """
type: object
x-kubernetes-validations:
  - rule: "{rule}"
properties:
  replicas: {{type: integer}}
  name: {{type: string}}
  ports:
    type: array
    items:
      type: object
      properties:
        port: {{type: integer}}
"""
INSTANCES = "".join(f"""---
apiVersion: example.com/v1
kind: Widget
metadata: {{name: w{i}, namespace: default}}
spec: {{replicas: {i}, name: web, ports: [{{port: 80}}]}}
""" for i in range(3))


def findings(tmp_path, rule, spec=SPEC):
    write_repo(tmp_path, {"crd.yaml": widget_crd(spec.format(rule=rule)), "widgets.yaml": INSTANCES})
    return check_repo(tmp_path)


@pytest.mark.parametrize("rule, what", [  # the API server's wording (cel-go's first error line)
    ("self.replica > 0", "undefined field 'replica'"),
    ("self.replicas > 'a'", "found no matching overload for '_>_' applied to '(int, string)'"),
    ("self.name.size() > self.replicas.size()", "found no matching overload for 'size' applied to 'int.()'"),
    ("self.ports.all(p, p.prot > 0)", "undefined field 'prot'"),
])
def test_a_rule_the_server_would_not_compile_is_reported_once_at_the_crd(tmp_path, rule, what):
    found = findings(tmp_path, rule)
    assert with_rule(found, "schema-cel-rule") == []
    [problem] = with_rule(found, "schema-crd-invalid")
    assert (problem.path, problem.line, problem.column) == ("crd.yaml", 20, 19)
    assert f"CEL rule `{rule}`: compilation failed: ERROR: <input>:" in problem.message and what in problem.message


@pytest.mark.parametrize("rule", [
    "self.replicas >= 0", "has(self.name) && self.name.size() > 0", "self.ports.all(p, p.port > 0)",
    "self.replicas < 2",  # false on w2 only: an ordinary per-instance finding
])
def test_rules_that_compile_are_evaluated_on_each_instance(tmp_path, rule):
    found = findings(tmp_path, rule)
    assert with_rule(found, "schema-crd-invalid") == []
    assert len(with_rule(found, "schema-cel-rule")) == (1 if rule == "self.replicas < 2" else 0)


def test_where_the_schema_leaves_types_open_instances_are_still_judged_one_by_one(tmp_path):
    # A map (additionalProperties) may lack a key on one instance and have it on another: the
    # API server compiles the rule and fails it at run time, instance by instance.
    spec = SPEC.replace("  replicas: {{type: integer}}", "  replicas: {{type: integer}}\n"
                                                          "  labels: {{type: object, additionalProperties: {{type: string}}}}")
    found = findings(tmp_path, "self.labels.team == 'web'", spec)
    assert with_rule(found, "schema-crd-invalid") == []
    assert len(with_rule(found, "schema-cel-rule")) == 3


def test_a_root_rule_may_read_metadata_name_and_kind(tmp_path):
    spec = "type: object\nproperties:\n  replicas: {type: integer}\n"
    crd = widget_crd(spec).replace(
        "          type: object\n          properties:\n            spec:",
        "          type: object\n          x-kubernetes-validations:\n"
        "            - rule: \"self.metadata.name.size() < 64 && self.kind == 'Widget'\"\n"
        "          properties:\n            spec:")
    write_repo(tmp_path, {"crd.yaml": crd, "widgets.yaml": INSTANCES})
    found = check_repo(tmp_path)
    assert with_rule(found, "schema-crd-invalid") == [] and with_rule(found, "schema-cel-rule") == []
