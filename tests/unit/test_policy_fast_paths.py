"""The fast paths of policy evaluation give exactly the slow paths' answers: CEL is given only the
top-level fields a policy's expressions can read (policy.cel.top_level_reads, Policy.reads), pairs
whose resourceRules cannot match a kind are skipped before evaluate_one (evaluate._rules_exclude),
pairs that select by neither labels nor names are matched once per kind (evaluate._decided_by_key),
and the combined program's answers are remembered per distinct input as it reads it
(policy.projection)."""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

import pytest

from wavegate import cel
from wavegate.load import Manifest, load
from wavegate.policy import cel as policy_cel
from wavegate.policy import load_policies
from wavegate.policy.evaluate import Environment, evaluate
from wavegate.policy.model import Policy, builtin_policy_dir

ROOT = Path(__file__).resolve().parents[2]
evaluation = importlib.import_module("wavegate.policy.evaluate")  # the package exports a function of that name


@pytest.mark.parametrize("expression, reads", [
    ("has(object.metadata) && has(object.metadata.name)", {"metadata"}),
    ("object.spec.?x.orValue(1) == 1 || object.?status.ready", {"spec", "status"}),
    ("object . spec . replicas > 1", {"spec"}),
    ("request.kind.kind == 'Pod'", set()),
    ("'object' + \"object.x\" + '''object''' + b'object'", set()),
    ("object.a // object\n + object.b", {"a", "b"}),
    ("'\\'' + object.c", {"c"}),
    ("object", None),
    ("size(object) > 0", None),
    ("object['spec']", None),
    ("object[?'spec']", None),
    ("object.exists(k, k == 'spec')", None),
    ("object.size() > 1", None),
    ("[1].map(object, object.x)", None),
    ("cel.bind(o, object, o.spec)", None),
    ("dyn(object).spec", None),
    ("object == object", None),
    ("object.`spec`", None),
    ("r'\\' + string(object.spec)", None),  # raw strings are not analysed
    ("'unterminated + object.spec", None),
])
def test_top_level_reads(expression, reads):
    found = policy_cel.top_level_reads(expression, "object")
    assert found == (None if reads is None else frozenset(reads))


def _random_expression(rnd: random.Random, depth: int = 0) -> str:
    fields = ["metadata", "spec", "kind", "missing", "data", "items"]
    leaves = [
        lambda: f"object.{rnd.choice(fields)}",
        lambda: f"object.?{rnd.choice(fields)}.orValue('none')",
        lambda: f"has(object.{rnd.choice(fields)})",
        lambda: f"object.{rnd.choice(fields)}.{rnd.choice(['name', 'replicas', 'labels', 'x'])}",
        lambda: f"has(object.{rnd.choice(fields)}.{rnd.choice(['name', 'replicas', 'x'])})",
        lambda: "object",
        lambda: "size(object)",
        lambda: f"object['{rnd.choice(fields)}']",
        lambda: "object.exists(k, k == 'spec')",
        lambda: "object.all(k, k != 'x')",
        lambda: "'object.spec'",
        lambda: f"object.{rnd.choice(fields)} == object.{rnd.choice(fields)}",
        lambda: "[1, 2].map(object, object + 1)",
        lambda: "string(object.kind)",
        lambda: f"object.?{rnd.choice(fields)}.?name.orValue('')",
        lambda: "1", lambda: "'a'", lambda: "true", lambda: "null",
    ]
    if depth > 2 or rnd.random() < 0.4:
        return rnd.choice(leaves)()
    a, b = _random_expression(rnd, depth + 1), _random_expression(rnd, depth + 1)
    return rnd.choice([f"({a}) == ({b})", f"({a}) != ({b})", f"[{a}, {b}]", f"{{'k': {a}}}.k",
                       f"size([{a}]) > 0 ? {b} : {a}", f"({a}) in [{b}]", f"type({a}) == type({b})"])


OBJECTS = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "b"}},
     "spec": {"replicas": 2, "x": None}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"name": "x"}},
    {"apiVersion": "v1", "kind": "List", "items": [{"name": 1}], "metadata": {}},
    {"kind": 3, "spec": [1, 2]},
]


def _outcome(env, expression, bindings):
    try:
        return ("value", repr(env.evaluate(expression, bindings)))
    except cel.CelError as error:
        return ("error", error.message)


def test_narrowed_objects_evaluate_like_whole_ones():
    env = cel.environment(("object", "request"))
    rnd = random.Random(1123)
    checked = narrowed = 0
    for _ in range(1500):
        expression = _random_expression(rnd)
        if env.check(expression) is not None:
            continue
        fields = policy_cel.top_level_reads(expression, "object")
        narrowed += fields is not None
        for obj in OBJECTS:
            whole = _outcome(env, expression, {"object": obj, "request": {}})
            part = _outcome(env, expression, {"object": policy_cel.narrowed(obj, fields), "request": {}})
            assert part == whole, (expression, obj)
            checked += 1
    assert checked > 2000 and narrowed > 200  # the generator exercises both answers


def _slow(monkeypatch):
    """Turn the fast paths off: whole values, every pair through evaluate_one, every validation
    evaluated on its own."""
    monkeypatch.setattr(Policy, "reads", property(lambda self: dict.fromkeys(
        ("object", "oldObject", "request", "params", "namespaceObject"))))
    monkeypatch.setattr(evaluation, "_rules_exclude", lambda policy, request: False)
    monkeypatch.setattr(evaluation, "_decided_by_key", lambda match: False)
    monkeypatch.setattr(Policy, "all_hold", property(lambda self: None))
    monkeypatch.setattr(evaluation, "REMEMBER", False)


def _violations(policies, manifests):
    env = Environment.of(manifests, plurals=policies.plurals, default_namespace=lambda m: "team")
    return [(v.policy, v.binding, v.message, v.manifest.path, v.manifest.doc_index, v.field, v.error, v.reason)
            for v in evaluate(policies, manifests, env)]


def test_shipped_policies_judge_their_fixtures_and_a_corpus_with_defects_the_same(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import corpus
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    corpus.generate(tmp_path / "corpus", 200, defects=0.5)
    manifests = load(tmp_path / "corpus").manifests + load(builtin_policy_dir() / "fixtures").manifests
    # Objects the default policies reject, in several ways.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: Web.App}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\n"
        "spec: {project: default}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin}\n"
        "roleRef: {kind: ClusterRole, name: cluster-admin}\n---\n"
        "apiVersion: kro.run/v1alpha1\nkind: CICDPipeline\nmetadata: {name: p, namespace: t}\nspec: {aws: {region: mars}}\n")
    manifests += load(bad).manifests
    policies = load_policies(None)
    monkeypatch.setattr(evaluation, "MEMO_AFTER", 1)  # (another policy's too, from its first answer on)
    fast = _violations(policies, manifests)
    assert len(fast) >= 8
    _slow(monkeypatch)
    assert _violations(policies, manifests) == fast


def test_policies_that_read_whole_values_and_malformed_constraints(tmp_path, monkeypatch):
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "p.yaml").write_text("""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: whole}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"]}]
  variables:
    - {name: keys, expression: "object.map(k, k)"}
  validations:
    - expression: "size(variables.keys) < 5 && namespaceObject.metadata.name != 'forbidden'"
      messageExpression: "string(size(object)) + ' keys in ' + request.namespace"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: whole}
spec: {policyName: whole, validationActions: [Warn]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: named}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"], resourceNames: ["b"]}
  validations:
    - expression: "false"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: named}
spec: {policyName: named, validationActions: [Deny]}
""")
    objects = tmp_path / "repo"
    objects.mkdir()
    (objects / "o.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: forbidden}\ndata: {x: y}\nextra: 1\n"
        "more: 2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: forbidden}\n")
    policies = load_policies(directory)
    assert policies.policies["whole"].reads["object"] is None
    manifests = load(objects).manifests
    fast = _violations(policies, manifests)
    assert {v[0] for v in fast} == {"whole", "named"}
    _slow(monkeypatch)
    assert _violations(policies, manifests) == fast


def test_bindings_that_select_by_labels_or_names_are_matched_object_by_object(tmp_path, monkeypatch):
    def policy(name, constraints, binding=""):
        return (f"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
                f"metadata: {{name: {name}}}\nspec:\n  matchConstraints: {constraints}\n"
                f"  validations: [{{expression: 'false', message: '{name}'}}]\n---\n"
                f"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
                f"metadata: {{name: {name}}}\nspec: {{policyName: {name}, validationActions: [Deny]{binding}}}\n---\n")

    rules = '[{apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"]}]'
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "p.yaml").write_text("".join([
        policy("plain", f"{{resourceRules: {rules}}}"),
        policy("empty-selectors", f"{{resourceRules: {rules}, objectSelector: {{}}, namespaceSelector: {{}}}}"),
        policy("object-label", f"{{resourceRules: {rules}, objectSelector: {{matchLabels: {{tier: web}}}}}}"),
        policy("namespace-label", f"{{resourceRules: {rules}}}",
               ", matchResources: {namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}}"),
        policy("by-name", "{resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], "
                          "resources: [configmaps], resourceNames: [b]}]}"),
        policy("excluded-name", f"{{resourceRules: {rules}, excludeResourceRules: [{{apiGroups: [''], "
                                "apiVersions: [v1], operations: [CREATE], resources: [configmaps], resourceNames: [a]}]}"),
        policy("bad-selector", f"{{resourceRules: {rules}, objectSelector: {{matchExpressions: [{{key: x, operator: Near}}]}}}}"),
    ]))
    objects = tmp_path / "repo"
    objects.mkdir()
    (objects / "o.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {env: prod}}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: prod, labels: {tier: web}}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: dev}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: prod, labels: {tier: db}}\n")
    policies = load_policies(directory)
    manifests = load(objects).manifests
    fast = _violations(policies, manifests)
    found = {(v[0], v[3], v[4]) for v in fast}
    assert {(name, doc) for name, _, doc in found} == {
        ("plain", 1), ("plain", 2), ("plain", 3), ("empty-selectors", 1), ("empty-selectors", 2),
        ("empty-selectors", 3), ("object-label", 1), ("namespace-label", 1), ("namespace-label", 3),
        ("by-name", 2), ("excluded-name", 2), ("excluded-name", 3)}
    _slow(monkeypatch)
    assert _violations(policies, manifests) == fast


def test_pod_security_policies_judge_every_generated_pod_the_same_in_one_evaluation(monkeypatch):
    """Policy.all_hold (every validation in one CEL evaluation) admits exactly what the
    per-validation path admits: the Pod Security policies on the differential test's pods, in
    namespaces of every level and several versions, and as pod templates of workloads."""
    from tests.pod_security_specs import specs

    policies = load_policies(None)
    assert all(policies.policies[name].all_hold for name in ("pod-security-baseline", "pod-security-restricted"))
    documents = []
    for level, version in (("baseline", "latest"), ("restricted", "latest"), ("restricted", "v1.24"),
                           ("baseline", "v1.18"), ("privileged", "latest")):
        namespace = f"ns-{level}-{version.replace('.', '-')}"
        documents.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {
            "pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": version}}})
        for i, spec in enumerate(specs(combinations=40)[::3]):
            pod = {**spec.pod, "metadata": {**spec.pod["metadata"], "namespace": namespace}}
            documents.append(pod)
            documents.append({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": f"d{i}", "namespace": namespace},
                              "spec": {"selector": {}, "template": {"metadata": pod["metadata"], "spec": pod["spec"]}}})
    manifests = [Manifest(path="pods.yaml", doc_index=i, data=d) for i, d in enumerate(documents)]
    fast = _violations(policies, manifests)
    assert 100 < len(fast) < len(manifests)  # both answers are common
    _slow(monkeypatch)
    assert _violations(policies, manifests) == fast
