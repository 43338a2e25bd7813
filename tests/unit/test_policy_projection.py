"""A policy's program answers the same for its inputs cut to what it reads (policy.projection), so
evaluate_one may remember its answer per distinct cut input: proven here against the CEL runtime
on generated expressions and data, on the shipped policies' fixtures and on generated pod specs."""

from __future__ import annotations

import importlib
import random
import runpy
import time
from pathlib import Path

import pytest

from wavegate import cel
from wavegate.load import Manifest, load
from wavegate.policy import load_policies
from wavegate.policy.evaluate import Environment, evaluate
from wavegate.policy.model import VARIABLES, builtin_policy_dir
from wavegate.policy.projection import cut, needs

evaluation = importlib.import_module("wavegate.policy.evaluate")  # the package exports a function of that name
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_policies(monkeypatch):
    """Each test its own policy sets (load_policies keeps one per process, remembered answers too)."""
    monkeypatch.setattr(importlib.import_module("wavegate.policy.model"), "_CACHE", {})


def _needs(expression: str, variables=("object",)) -> dict:
    env = cel.environment(tuple(variables))
    return needs(cel.syntax_tree(env.compile(expression)), variables)


PRESENT = ({}, None, False)  # (a key kept, nothing read inside it)


@pytest.mark.parametrize("expression, need", [
    ("object.spec.replicas > 1", ({"spec": ({"replicas": True}, None, False)}, None, False)),
    ("has(object.spec.x)", ({"spec": ({"x": PRESENT}, None, False)}, None, False)),
    ("object.?spec.?x.orValue(0) == 1", ({"spec": ({"x": True}, None, False)}, None, False)),
    ("object['spec'][?'x'].orValue(0) == 1", ({"spec": ({"x": True}, None, False)}, None, False)),
    ("object.spec.containers.all(c, c.image.startsWith('r/'))",
     ({"spec": ({"containers": ({}, ({"image": True}, None, False), False)}, None, False)}, None, False)),
    ("size(object.items) > 2", ({"items": ({}, PRESENT, False)}, None, False)),
    ("'team' in object.metadata.labels",
     ({"metadata": ({"labels": ({"team": PRESENT}, None, True)}, None, False)}, None, False)),
    ("['a', 'b'].exists(k, object.m[?k].orValue(false) == true)",
     ({"m": ({"a": True, "b": True}, None, False)}, None, False)),
    ("object.m[object.k] == 1", ({"k": True, "m": ({}, True, False)}, None, False)),
    ("cel.bind(v, object.spec, v.a == v.b)", ({"spec": ({"a": True, "b": True}, None, False)}, None, False)),
    ("dyn(object).spec.x == 1", ({"spec": ({"x": True}, None, False)}, None, False)),
    ("(object.a + object.b).exists(x, x.n == 1)",
     ({"a": ({}, ({"n": True}, None, False), False), "b": ({}, ({"n": True}, None, False), False)}, None, False)),
    ("object.kind + 'x' == 'Podx'", ({"kind": True}, None, False)),
    ("object == {}", True),
    ("object.spec.map(k, k).size() > 0", ({"spec": ({}, PRESENT, False)}, None, False)),
    ("{'a': object.x}.a == 1", ({"x": True}, None, False)),
    ("[object.x, object.y][0] == 1", ({"x": True, "y": True}, None, False)),
])
def test_what_a_program_reads(expression, need):
    assert _needs(expression)["object"] == need


@pytest.mark.parametrize("value, need, kept", [
    ({"a": 1, "b": {"c": 2, "d": 3}}, ({"b": ({"c": True}, None, False)}, None, False), {"b": {"c": 2}}),
    ({"a": [{"x": 1, "y": 2}, {"y": 3}]}, ({"a": ({}, ({"x": True}, None, False), False)}, None, False),
     {"a": [{"x": 1}, {}]}),
    ({"a": [1, 2]}, ({"a": ({}, None, False)}, None, False), {"a": []}),
    ({"a": [1, 2]}, ({"a": ({}, None, True)}, None, False), {"a": [1, 2]}),
    ({"m": {"k": {"deep": 1}, "j": 2}}, ({"m": ({"k": PRESENT}, None, True)}, None, False), {"m": {"k": {}}}),
    ({"m": {"k": 1, "j": 2}}, ({"m": ({}, PRESENT, False)}, None, False), {"m": {"k": 1, "j": 2}}),
    ("text", ({"a": True}, None, False), "text"),
    ({"a": 1}, True, {"a": 1}),
])
def test_cut(value, need, kept):
    assert cut(value, need) == kept


# -- generated expressions and data, against the runtime -------------------------------------

KEYS = ["a", "b", "k", "l", "m", "n", "s"]


def _data(rnd: random.Random, depth: int = 0):
    roll = rnd.random()
    if depth >= 3 or roll < 0.35:
        return rnd.choice([0, 1, 2, -1, "a", "b", "x", "", True, False, None, 1.5])
    if roll < 0.6:
        return [_data(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {key: _data(rnd, depth + 1) for key in rnd.sample(KEYS, rnd.randrange(len(KEYS) + 1))}


def _path(rnd: random.Random, base: str = "object") -> str:
    text = base
    for _ in range(rnd.randrange(1, 3)):
        text += rnd.choice([f".{rnd.choice(KEYS)}", f".?{rnd.choice(KEYS)}", f"['{rnd.choice(KEYS)}']",
                            f"[?'{rnd.choice(KEYS)}']", "[0]"])
    return text


def _expression(rnd: random.Random, depth: int = 0, var: str = "object") -> str:
    p = lambda: _path(rnd, rnd.choice([var, "object"]))  # noqa: E731
    leaves = [
        lambda: f"{p()} == {rnd.choice(['1', repr('a'), 'true', 'null', '[]', '{}'])}",
        lambda: f"has({var}.{rnd.choice(KEYS)})",
        lambda: f"has({var}.{rnd.choice(KEYS)}.{rnd.choice(KEYS)})",
        lambda: f"size({p()}) > 0",
        lambda: f"{p()}.size() == 1",
        lambda: f"'{rnd.choice(KEYS)}' in {p()}",
        lambda: f"{p()} in {p()}",
        lambda: f"{p()}.orValue(0) == 1",
        lambda: f"{p()}.hasValue()",
        lambda: f"['a', 'k'].exists(key, {var}[?key].orValue(0) == 1)",
        lambda: f"{var}[{p()}] == 1",
        lambda: f"string({p()}).startsWith('a')",
        lambda: f"{p()} + 'x' == 'ax'",
        lambda: f"size({p()} + {p()}) == 2",
        lambda: f"dyn({p()}).{rnd.choice(KEYS)} == 1",
        lambda: f"({{'v': {p()}}}.v) == 1",
        lambda: f"[{p()}, {p()}][1] == 2",
        lambda: f"type({p()}) == list",
        lambda: f"{p()}.map(e, e).size() > 1",
    ]
    if depth >= 2 or rnd.random() < 0.35:
        return rnd.choice(leaves)()
    inner = f"x{depth}"
    a, b = _expression(rnd, depth + 1, var), _expression(rnd, depth + 1, var)
    return rnd.choice([
        f"({a}) && ({b})", f"({a}) || !({b})", f"({a}) ? ({b}) : ({a})",
        f"{p()}.all({inner}, {_expression(rnd, depth + 1, inner)})",
        f"{p()}.exists({inner}, {_expression(rnd, depth + 1, inner)})",
        f"{p()}.exists_one({inner}, {_expression(rnd, depth + 1, inner)})",
        f"size({p()}.filter({inner}, {_expression(rnd, depth + 1, inner)})) > 0",
        f"{p()}.map({inner}, {_path(rnd, inner)}).exists(y, y == 1)",
        f"cel.bind({inner}, {p()}, {_expression(rnd, depth + 1, inner)})",
        f"[{a}, {b}].all(ok, ok)",
    ])


def _outcome(env: cel.Environment, program: cel.Program, bindings: dict):
    try:
        return ("value", repr(env.evaluate(program, bindings)))
    except cel.CelError:
        return ("error",)


def test_generated_programs_answer_alike_on_cut_data():
    env = cel.environment(("object",))
    rnd = random.Random(20261207)
    data = [_data(rnd) for _ in range(40)] + [{key: _data(rnd, 1) for key in KEYS} for _ in range(40)]
    compared = cut_smaller = programs = 0
    for _ in range(1200):
        try:
            program = env.compile(_expression(rnd))
        except cel.CelError:
            continue
        programs += 1
        need = needs(cel.syntax_tree(program), ("object",))["object"]
        for value in data:
            kept = cut(value, need)
            assert _outcome(env, program, {"object": kept}) == _outcome(env, program, {"object": value}), \
                (program.expression, value, kept)
            compared += 1
            cut_smaller += kept != value
    # The generator exercises the analysis: many programs, and cuts that leave things out.
    assert programs > 700 and compared > 55_000 and cut_smaller > compared // 3


# -- the shipped policies ---------------------------------------------------------------------

def _pod_spec(rnd: random.Random) -> dict:
    def security_context(container: bool) -> dict:
        context: dict = {}
        for key, values in [("runAsNonRoot", [True, False]), ("runAsUser", [0, 1000]),
                            ("seccompProfile", [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
                                                {"type": "Localhost", "localhostProfile": "p"}]),
                            ("seLinuxOptions", [{"type": "container_t"}, {"type": "spc_t"}, {"user": "u"}]),
                            *([("privileged", [True, False]), ("allowPrivilegeEscalation", [True, False]),
                               ("capabilities", [{"drop": ["ALL"]}, {"add": ["NET_ADMIN"]},
                                                 {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}]),
                               ("procMount", ["Default", "Unmasked"]),
                               ("readOnlyRootFilesystem", [True])] if container else
                              [("sysctls", [[{"name": "kernel.shm_rmid_forced", "value": "1"}],
                                            [{"name": "net.core.somaxconn", "value": "1"}]])])]:
            if rnd.random() < 0.4:
                context[key] = rnd.choice(values)
        return context

    def container(i: int) -> dict:
        made: dict = {"name": f"c{i}", "image": rnd.choice(["nginx", "redis:7"])}
        if rnd.random() < 0.7:
            made["securityContext"] = security_context(True)
        if rnd.random() < 0.3:
            made["ports"] = [{"containerPort": 80, **({"hostPort": 8080} if rnd.random() < 0.3 else {})}]
        return made

    spec: dict = {"containers": [container(i) for i in range(rnd.randrange(1, 3))]}
    if rnd.random() < 0.3:
        spec["initContainers"] = [container(9)]
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
        if rnd.random() < 0.1:
            spec[key] = rnd.choice([True, False])
    if rnd.random() < 0.5:
        spec["securityContext"] = security_context(False)
    if rnd.random() < 0.3:
        spec["volumes"] = [rnd.choice([{"name": "v", "emptyDir": {}}, {"name": "v", "hostPath": {"path": "/"}},
                                       {"name": "v", "configMap": {"name": "c"}}])]
    if rnd.random() < 0.1:
        spec["os"] = {"name": rnd.choice(["linux", "windows"])}
    return spec


def _pod_objects(rnd: random.Random, count: int) -> list[dict]:
    objects = []
    for i in range(count):
        spec = _pod_spec(rnd)
        annotations = rnd.choice([{}, {"container.apparmor.security.beta.kubernetes.io/c0": "unconfined"},
                                  {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}])
        kind = rnd.choice(["Pod", "Deployment", "CronJob", "Job"])
        template = {"metadata": {"annotations": annotations}, "spec": spec}
        body = {"Pod": {"metadata": {"name": f"p{i}", "annotations": annotations}, "spec": spec},
                "Deployment": {"metadata": {"name": f"d{i}"}, "spec": {"replicas": i, "template": template}},
                "CronJob": {"metadata": {"name": f"c{i}"},
                            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}},
                "Job": {"metadata": {"name": f"j{i}"}, "spec": {"template": template}}}[kind]
        api = {"Pod": "v1", "Deployment": "apps/v1", "CronJob": "batch/v1", "Job": "batch/v1"}[kind]
        objects.append({"apiVersion": api, "kind": kind, **body})
    return objects


NAMESPACES = [None, {"metadata": {"name": "n", "labels": {"team": "a"}}},
              {"metadata": {"name": "n", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
              {"metadata": {"name": "n", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
              {"metadata": {"name": "n", "labels": {"pod-security.kubernetes.io/enforce": "baseline",
                                                    "pod-security.kubernetes.io/enforce-version": "v1.24"}}},
              {"metadata": {"name": "n", "labels": {"pod-security.kubernetes.io/enforce": "nonsense"}}}]


def test_shipped_policies_answer_alike_on_cut_inputs():
    policies = load_policies(None)
    env = policies.environment
    rnd = random.Random(7)
    objects = [m.data for m in load(builtin_policy_dir() / "fixtures").manifests] + _pod_objects(rnd, 150)
    params = [None, {"data": {"defaultLevel": "restricted"}}, {"data": {"defaultLevel": "baseline"}},
              {"data": {"regions": "us-east-1"}}]
    held = failed = 0
    for policy in policies.policies.values():
        assert policy.all_hold is not None, policy.name  # (every shipped policy combines)
        program = env.compile(policy.all_hold)
        need = dict(needs(cel.syntax_tree(program), VARIABLES))
        for obj in objects:
            for namespace in NAMESPACES:
                for param in params:
                    bindings = {"object": obj, "oldObject": None, "request": {}, "params": param,
                                "namespaceObject": namespace, "variables": {}}
                    whole = env.holds(program, bindings)
                    kept = {name: cut(value, need[name]) for name, value in bindings.items()}
                    assert env.holds(program, kept) == whole, (policy.name, obj, namespace, param)
                    held += whole
                    failed += not whole
    assert held > 1000 and failed > 1000  # (both answers are exercised)


def _manifests(objects: list[dict], namespace: str = "team") -> list[Manifest]:
    return [Manifest(path=f"m{i}.yaml", doc_index=0, data={**obj, "metadata": {**obj["metadata"], "namespace": namespace}})
            for i, obj in enumerate(objects)]


def _violations(policies, manifests):
    env = Environment.of(manifests, plurals=policies.plurals, default_namespace=lambda m: "team")
    return [(v.policy, v.message, v.manifest.path, v.field, v.error) for v in evaluate(policies, manifests, env)]


def test_remembered_answers_find_every_violation(monkeypatch):
    rnd = random.Random(11)
    objects = _pod_objects(rnd, 300)
    alike = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx",
                                                             "securityContext": {"allowPrivilegeEscalation": False}}]}}}}
    # Many alike objects, then one that differs from them only in a field the policy reads.
    many = [{**alike, "metadata": {"name": f"web{i}"}} for i in range(60)]
    privileged = {**alike, "metadata": {"name": "bad"}, "spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx", "securityContext": {"privileged": True}}]}}}}
    manifests = _manifests(many + [privileged] + objects + many)
    calls = []
    holds = cel.Environment.holds
    monkeypatch.setattr(cel.Environment, "holds", lambda self, *a: calls.append(1) or holds(self, *a))

    monkeypatch.setattr(evaluation, "REMEMBER", False)
    once = _violations(load_policies(None), manifests)
    evaluated_each = len(calls)
    calls.clear()
    monkeypatch.setattr(evaluation, "REMEMBER", True)
    monkeypatch.setattr(evaluation, "MEMO_TRIAL", 10**9)
    remembered = _violations(load_policies(None), manifests)
    assert remembered == once
    assert any(path == "m60.yaml" and "privileged" in message for _, message, path, _, _ in remembered)
    # The 120 alike Deployments were answered from memory, by both Pod Security policies.
    assert len(calls) <= evaluated_each - 2 * 115


def test_remembering_goes_on_while_what_it_spares_costs_more_than_cutting(monkeypatch):
    holds = cel.Environment.holds

    def slow_holds(self, program, data):  # (an evaluation that costs much more than a cut)
        time.sleep(0.002)
        return holds(self, program, data)
    monkeypatch.setattr(cel.Environment, "holds", slow_holds)
    policies = load_policies(None)
    # 3 in 10 repeat an earlier input: fewer than half, and still worth remembering.
    objects = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}"},
                "spec": {"template": {"spec": {"containers": [
                    {"name": f"c{i if i % 10 >= 3 else 0}", "image": "nginx"}]}}}}
               for i in range(evaluation.MEMO_TRIAL + 20)]
    _violations(policies, _manifests(objects))
    answers = [plan.answers for plan in policies.plans.values() if plan.answers is not None]
    assert answers and all(a.needs and a.asked == evaluation.MEMO_TRIAL and 15 <= a.found < 32 for a in answers)


def test_remembering_stops_when_inputs_are_mostly_distinct():
    policies = load_policies(None)
    distinct = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}"},
                 "spec": {"template": {"spec": {"containers": [{"name": f"c{i}", "image": "nginx"}]}}}}
                for i in range(evaluation.MEMO_TRIAL + 10)]
    _violations(policies, _manifests(distinct))
    answers = [plan.answers for plan in policies.plans.values() if plan.answers is not None]
    assert answers and all(a.needs == () and not a.known for a in answers)


def test_the_shipped_table_of_reads_is_current():
    script = runpy.run_path(str(ROOT / "scripts" / "generate-policy-data"))
    shipped = ROOT / "src" / "wavegate" / "data" / "policy-needs.json"
    assert shipped.read_text() == script["text"](script["table"]()), \
        "a shipped policy changed: run scripts/generate-policy-data"


def test_the_shipped_compiled_programs_are_current_and_used():
    """data/cel-programs.marshal holds each long shipped program, compiled by this runtime and this
    wavegate.cel: the same tree as compiling it now, and what a run without a cache uses."""
    import marshal

    script = runpy.run_path(str(ROOT / "scripts" / "generate-policy-data"))
    table = marshal.loads((ROOT / "src" / "wavegate" / "data" / cel.SHIPPED_PROGRAMS).read_bytes())
    assert table["origin"] == cel.shipped_origin(), \
        "the CEL runtime or wavegate/cel.py changed: run scripts/generate-policy-data"
    wanted = script["long_programs"]()
    assert set(table["programs"]) == set(wanted) and len(wanted) >= 2, \
        "a shipped policy changed: run scripts/generate-policy-data"
    policies = load_policies(None)
    environment = policies.environment
    for key, expression in wanted.items():
        shipped = cel.Program(expression, environment._env.deserialize(table["programs"][key]))
        compiled = cel.Program(expression, environment._env.compile(expression))
        assert cel.syntax_tree(shipped) == cel.syntax_tree(compiled)
        assert cel.shipped_program(environment.identity, expression) == table["programs"][key]


def test_shipped_programs_of_another_runtime_are_compiled_again(monkeypatch):
    policies = load_policies(None)
    expression = max((p.all_hold for p in policies.policies.values() if p.all_hold), key=len)
    monkeypatch.setattr(cel, "_shipped", None)
    monkeypatch.setattr(cel, "shipped_origin", lambda: "cel-expr-python 9.9; wavegate.cel other")
    assert cel.shipped_program(policies.environment.identity, expression) is None
    fresh = cel.Environment(policies.environment.variables)
    assert fresh.compile(expression).expression == expression  # (compiled, not read)


def test_other_policies_are_analysed_after_many_evaluations(tmp_path, monkeypatch):
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "p.yaml").write_text("""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicas}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["deployments"]}]
  validations:
    - expression: "object.spec.replicas < 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replicas}
spec: {policyName: replicas, validationActions: [Deny]}
""")
    monkeypatch.setattr(evaluation, "MEMO_AFTER", 10)
    objects = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}"},
                "spec": {"replicas": 7 if i == 25 else 1}} for i in range(40)]
    policies = load_policies(directory)
    found = _violations(policies, _manifests(objects))
    assert [path for _, _, path, _, _ in found] == ["m25.yaml"]
    (answers,) = [plan.answers for plan in policies.plans.values()]
    assert answers.needs == (("object", ({"spec": ({"replicas": True}, None, False)}, None, False)),) + tuple(
        (name, ({}, None, False)) for name in ("oldObject", "request", "params", "namespaceObject", "variables"))
    assert answers.asked == 31 and len(answers.known) == 2  # (from the 10th object on)


def test_shipped_policies_are_remembered_without_analysing_them(monkeypatch):
    def analysed(program):
        raise AssertionError("a shipped policy's program was analysed at run time")
    monkeypatch.setattr(evaluation, "analysed_needs", analysed)
    alike = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx"}]}}}}
    policies = load_policies(None)
    _violations(policies, _manifests([{**alike, "metadata": {"name": f"web{i}"}} for i in range(30)]))
    answers = [plan.answers for plan in policies.plans.values() if plan.answers is not None]
    assert len(answers) == 2 and all(a.asked == 30 and a.found == 29 for a in answers)
