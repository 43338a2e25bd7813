"""YAML as Kubernetes reads it (sigs.k8s.io/yaml): the typing that validators see, and the
documents it refuses (yaml-not-json), each at its line. The named cases of issue 13; the
differential test against the real library is tests/integration/test_yaml_differential.py."""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import check_repo, write_repo
from wavegate.load import parse_documents

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

CONFIGMAP = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app, namespace: team}
    data:
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"


def _findings(tmp_path, data: str):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE, "cm.yaml": CONFIGMAP + textwrap.indent(textwrap.dedent(data), "      ")})
    return [(f.rule, f.line, f.message) for f in check_repo(tmp_path)]


def test_y_in_a_configmap_is_a_boolean_the_schema_refuses(tmp_path):
    [(rule, line, message)] = _findings(tmp_path, "verbose: y\n")
    assert (rule, line) == ("schema-invalid-type", 5)
    assert message == "data.verbose: Invalid value: true: must be of type string"


def test_quoted_y_is_text(tmp_path):
    assert _findings(tmp_path, "verbose: 'y'\nquiet: \"n\"\n") == []


def test_a_time_of_day_is_text_not_a_sexagesimal_number(tmp_path):
    # PyYAML read 12:30:00 as 45000 ("must be of type string"); Kubernetes reads text.
    assert _findings(tmp_path, "at: 12:30:00\nwhen: 2024-01-01\n") == []


def _data(text: str, lazy: bool = True):
    manifests, problems = parse_documents("f.yaml", text, require_object=False, lazy_positions=lazy)
    return (manifests[0].data if manifests else None), [(p.rule, p.line, p.column) for p in problems]


@pytest.mark.parametrize("lazy", [True, False])
def test_octal_and_exponent_numbers(lazy):
    data, problems = _data("a: 0o17\nb: 1e3\nc: 1E+3\nd: 017\ne: 1.0\nf: 0x1F\n", lazy)
    assert problems == []
    assert data == {"a": 15, "b": 1000, "c": 1000, "d": 15, "e": 1, "f": 31}
    assert all(type(v) is int for v in data.values())  # integral floats are JSON integers


def test_replicas_written_1e1_is_an_integer_for_the_schema(tmp_path):
    write_repo(tmp_path, {"ns.yaml": NAMESPACE, "deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: team}
        spec:
          replicas: 1e1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 0o120}]}]}
        """})
    assert [f for f in check_repo(tmp_path) if f.rule.startswith(("schema-", "yaml-"))] == []


@pytest.mark.parametrize(("text", "line", "column", "says"), [
    ("data:\n  ~: empty\n", 2, 3, "the key ~ is null"),
    ("data:\n  ? [a, b]\n  : pair\n", 2, 5, "a mapping key is a list"),
    ("data:\n  ? {a: 1}\n  : pair\n", 2, 5, "a mapping key is a mapping"),
    ("data:\n  18446744073709551615: big\n", 2, 3, "above 2^63-1"),
    ("data:\n  ratio: .inf\n", 2, 10, "infinite"),
    ("data:\n  ratio: [1, .NaN]\n", 2, 14, "not a number"),
    ("data:\n  n: !!int abc\n", 2, 6, "cannot decode !!str `abc` as a !!int"),
    ("data:\n  b: !!binary not-base64\n", 2, 6, "invalid base64"),
    ("data:\n  <<: 3\n", 2, 7, "merge key"),
    ("base: &b [1]\ndata:\n  <<: *b\n", 1, 7, "not an alias of a list"),
])
@pytest.mark.parametrize("lazy", [True, False])
def test_what_kubernetes_cannot_turn_into_json_is_refused_at_its_line(text, line, column, says, lazy):
    manifests, problems = parse_documents("f.yaml", text, require_object=False, lazy_positions=lazy)
    assert manifests == []
    [problem] = problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-not-json", line, column)
    assert says in problem.message and problem.hint


@pytest.mark.parametrize("text", [
    "data:\n  '~': empty\n", "data:\n  '': empty\n", "data:\n  'a,b': pair\n", "data:\n  '18446744073709551615': big\n",
    "data:\n  ratio: '.inf'\n", "data:\n  n: !!int '12'\n", "data:\n  b: !!binary aGVsbG8=\n",
    "base: &b {x: 1}\ndata:\n  <<: *b\n"])
def test_the_same_written_so_kubernetes_reads_it(text):
    data, problems = _data(text)
    assert problems == [] and data is not None


def test_every_refusal_in_a_document_is_reported_and_the_file_goes_on(tmp_path):
    write_repo(tmp_path, {"f.yaml": "a: .inf\nb:\n  ~: 1\n---\n" + NAMESPACE})
    findings = [(f.rule, f.line) for f in check_repo(tmp_path) if f.rule.startswith("yaml-")]
    assert findings == [("yaml-not-json", 1), ("yaml-not-json", 3)]


def test_a_value_replaced_by_a_later_key_is_never_converted():
    # YAMLToJSON converts the decoded document: an infinite value or a null key that a duplicate
    # key replaced is gone by then. The duplicate is still reported.
    data, problems = _data("a: .inf\na: 1\nb: {~: 1}\nb: 2\n")
    assert data == {"a": 1, "b": 2}
    assert [rule for rule, _, _ in problems] == ["yaml-duplicate-key", "yaml-duplicate-key"]


def test_a_merge_overrides_the_keys_before_it_and_not_those_after():
    data, _ = _data("base: &b {a: 2, b: 2, c: 2}\nm:\n  a: 1\n  <<: *b\n  c: 3\n")
    assert data["m"] == {"a": 2, "b": 2, "c": 3}
    data, _ = _data("m:\n  <<: [{a: 1}, {a: 2, b: 2}]\n")
    assert data["m"] == {"a": 1, "b": 2}  # the first mapping of a merged list wins


@pytest.mark.parametrize(("text", "expected"), [
    ("v: [a:]\n", {"v": ["a:"]}),  # libyaml: "found unexpected ':'"; go-yaml keeps the colon
    ("v: {a: b:}\n", {"v": {"a": "b:"}}),
    ('v: "it\\\'s"\n', {"v": "it's"}),  # go-yaml's escape for '
    ("v: ! 12\n", {"v": "12"}),  # the non-specific tag: text
    ("v: !t,x 1\n", {"v": "1"}),  # a tag with a comma
    ("a: &x 1\nb: &x 2\nc: *x\n", {"a": 1, "b": 2, "c": 2}),  # an anchor defined again
])
@pytest.mark.parametrize("lazy", [True, False])
def test_what_go_yaml_reads_where_libyaml_stops_or_differs(text, expected, lazy):
    assert _data(text, lazy) == (expected, [])


@pytest.mark.parametrize(("text", "line"), [
    ("args: [--url=http://x?y=1]\n", 1),  # go-yaml ends the scalar at ? and fails
    ('v: "http:\\/\\/x"\n', 1),  # \/ is no escape for go-yaml
    ("%YAML 1.2\n---\nv: 1\n", 1),
])
def test_what_go_yaml_refuses_and_libyaml_reads(text, line):
    data, problems = _data(text)
    assert data is None and [(rule, at) for rule, at, _ in problems] == [("yaml-syntax", line)]


def test_quoted_question_marks_are_fine():
    assert _data('args: ["--url=http://x?y=1"]\nurl: http://x?y=1\n') == (
        {"args": ["--url=http://x?y=1"], "url": "http://x?y=1"}, [])


def test_mostly_aliased_documents_are_refused_as_go_yaml_does():
    # More than 99 % of the decoded nodes coming through aliases (and over 1,000 nodes): go-yaml
    # refuses "document contains excessive aliasing", far below wavegate's own million-node limit.
    text = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "x"] * 10) + "]\n" for i in range(3))
    assert _data(text + "u0: *l2\nu1: *l2\n")[1] == []  # 3,762 of 3,804 decoded nodes (98.9 %) via aliases
    assert _data(text + "".join(f"u{i}: *l2\n" for i in range(5)))[1] == [("yaml-alias-bomb", 1, 1)]
