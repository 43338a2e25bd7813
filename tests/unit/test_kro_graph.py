"""`${...}` extraction, references and the dependency graph of an RGD."""

from __future__ import annotations

import pytest

from wavegate.kro import graph as g


@pytest.mark.parametrize("text, expected", [
    ("${schema.spec.name}", ["schema.spec.name"]),
    ("${a}-${b}", ["a", "b"]),
    ("prefix-${schema.spec.name}-suffix", ["schema.spec.name"]),
    ('${ {"a": 1} }', [' {"a": 1} ']),
    ('${"}" + x}', ['"}" + x']),
    ('${x + "\\"}"}', ['x + "\\"}"']),
    ("no expressions here", []),
    ("${unterminated", []),
    ("$ {not one}", []),
    ('${outer("${inner}")}', ['outer("${inner}")']),
])
def test_extract_expressions_like_kro(text, expected):
    assert g.extract_expressions(text) == expected


def test_nested_expression_outside_a_string_literal_is_an_error():
    with pytest.raises(g.NestedExpressionError, match="nested expressions are not allowed unless inside string literals"):
        g.extract_expressions("${outer(${inner})}")


@pytest.mark.parametrize("text, standalone", [
    ("${a.b}", True), (" ${a.b}", False), ("${a}${b}", False), ("x-${a}", False), ("a.b", False),
])
def test_standalone(text, standalone):
    assert g.is_standalone(text) is standalone


def refs(expression):
    return [(r.root, r.fields) for r in g.references(expression)]


def test_references_find_roots_and_field_chains():
    assert refs("schema.spec.git.url") == [("schema", ("spec", "git", "url"))]
    assert refs("deployment.status.availableReplicas == schema.spec.replicas") == [
        ("deployment", ("status", "availableReplicas")), ("schema", ("spec", "replicas"))]


def test_references_stop_at_methods_indexes_and_optionals():
    assert refs("schema.spec.names.join(',')") == [("schema", ("spec", "names"))]
    assert refs("a.status.conditions[0].status") == [("a", ("status", "conditions"))]
    assert refs("schema.metadata.?annotations['x'].orValue('')") == [("schema", ("metadata", "annotations"))]
    assert refs("a.?b.?c") == [("a", ("b", "c"))]


def test_references_leave_out_local_variables_functions_and_literals():
    assert refs("x.exists(c, c.type == 'Ready' && c.status == 'True')") == [("x", ())]
    assert refs("m.transformMap(k, v, v + other)") == [("m", ()), ("other", ())]
    assert refs("cel.bind(n, schema.spec.n, n + 1)") == [("schema", ("spec", "n"))]
    assert refs("size(a) > 0 && has(b.c) && true && null == d") == [("a", ()), ("b", ("c",)), ("d", ())]
    assert refs("random.seededString(8, schema.metadata.uid)") == [("schema", ("metadata", "uid"))]
    assert refs("'schema.spec.x' + \"y.z\"") == []
    assert refs("c ? 'a' : b.d") == [("c", ()), ("b", ("d",))]


def test_cel_syntax_errors():
    assert g.cel_syntax_error("schema.spec.name + 'x'") is None
    assert g.cel_syntax_error("a.?b.orValue(1)") is None  # optional syntax, as in kro
    assert g.cel_syntax_error("cel.bind(x, 1, x + 1)") is None
    assert g.cel_syntax_error("m.all(k, v, k == v)") is None
    assert "Syntax error" in g.cel_syntax_error("schema.spec.size +")
    assert g.cel_syntax_error("") is not None


def rgd(resources, status=None):
    schema = {"apiVersion": "v1alpha1", "kind": "App", "spec": {"name": "string"}}
    if status is not None:
        schema["status"] = status
    return {"spec": {"schema": schema, "resources": resources}}


def resource(rid, **extra):
    body = {"id": rid, "template": {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "${schema.spec.name}"}, "data": extra.pop("data", {})}}
    body.update(extra)
    return body


def test_build_collects_expressions_with_paths_and_dependencies():
    graph = g.build(rgd([
        resource("config", data={"a": "${schema.spec.name}"}),
        resource("secret", data={"b": "${config.metadata.name}-x"}, includeWhen=["${service.spec.enabled}"],
                 readyWhen=["${secret.data != null}"]),
        resource("service"),
    ], status={"url": "${service.metadata.name}"}))
    assert graph.ids == ["config", "secret", "service"]
    assert graph.dependencies == {"config": set(), "secret": {"config", "service"}, "service": set()}
    data_b = [e for e in graph.expressions if e.path[-1] == "b"][0]
    assert data_b.path == ("spec", "resources", 1, "template", "data", "b")
    assert data_b.where == g.TEMPLATE and data_b.resource == "secret" and not data_b.standalone
    ready = [e for e in graph.expressions if e.where == g.READY_WHEN][0]
    assert ready.path == ("spec", "resources", 1, "readyWhen", 0) and ready.standalone
    status = [e for e in graph.expressions if e.where == g.STATUS][0]
    assert status.path == ("spec", "schema", "status", "url") and status.resource is None


def test_build_records_foreach_iterators_and_nested_expression_problems():
    graph = g.build(rgd([resource("buckets", forEach=[{"bucket": "${schema.spec.buckets}"}],
                                  data={"x": "${a(${b})}"})]))
    assert graph.resources[0].iterators == ("bucket",)
    assert graph.problems[0].path == ("spec", "resources", 0, "template", "data", "x")


def test_build_tolerates_malformed_input():
    assert g.build({}).resources == []
    assert g.build({"spec": {"resources": "nope"}}).resources == []
    graph = g.build({"spec": {"resources": [None, {"template": 5}]}})
    assert [r.id for r in graph.resources] == [None, None]


def test_cycles_and_self_references():
    deps = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert g.cycles(deps, ["a", "b", "c", "d", "e"]) == [["a", "b", "c", "a"], ["d", "d"]]
    assert g.cycles({"a": {"b"}, "b": {"a"}}, ["b", "a"]) == [["b", "a", "b"]]
    assert g.cycles({"a": set(), "b": {"a"}}, ["a", "b"]) == []


def test_topological_order_keeps_declaration_order_where_free():
    assert g.topological_order({"a": {"c"}, "b": set(), "c": set()}, ["a", "b", "c"]) == ["b", "c", "a"]
    assert g.topological_order({"a": {"b"}, "b": {"a"}}, ["a", "b"]) is None
