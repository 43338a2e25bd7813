"""Differential test: wavegate's offline ValidatingAdmissionPolicy verdicts against a real API server.

One local control plane (etcd + kube-apiserver) for the module gets every default policy and
binding, the policies' parameter objects, the CRDs the fixtures need (the real Argo CD
Application/AppProject CRDs, the CRD generated from the reference CICDPipeline RGD) and the
namespaces the fixtures live in. Every fixture document (pass and fail, every policy) is then
applied with dryRun=All (admission policies run on dry-run requests) and the server's answer is
compared with the offline evaluation of ALL default policies on the same document:

* admitted by the server  <=>  no offline Deny violation;
* denied by the server    =>   the offline violation's `server_message` is exactly what the server
  says (after the `<resource> "<name>" is forbidden: ` prefix of admission errors), and the
  status reason is the validation's `reason`;
* Warn bindings: the server's policy warnings are exactly the offline Warn violations' messages.

The server reports only the first denying policy, so every fixture document may violate at most
one policy offline (otherwise the comparison would not be per policy); this is asserted.

Some fixtures are refused by the server BEFORE admission policies run (object-meta name
validation, schema validation). The verdict (denied) agrees, the message cannot: those fixtures
are listed in PRE_POLICY with the exact non-policy refusal expected and why. Nothing else is
loosened.

Every document is a CREATE, as offline. Namespaces a fixture's objects live in must exist, so they
are created in the module setup: from the fixture's Namespace document when a fixture defines one
(a real CREATE through admission, after the policies are in force; its outcome is that document's
server verdict), else as a bare namespace. The offline evaluation sees the same namespace objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from tests.helpers import REPO_ROOT, shared
from wavegate.cluster import LocalCluster
from wavegate.dryrun.server import Outcome, Server
from wavegate.kro import crd_for_rgd
from wavegate.load import Manifest, read_yaml
from wavegate.policy import Environment, Violation, builtin_policy_dir, evaluate, load_policies
from wavegate.schemas import SchemaStore
from wavegate.schemas.defaults import admitted

pytestmark = pytest.mark.integration

POLICY_DIR = builtin_policy_dir()
FIXTURES = POLICY_DIR / "fixtures"
SETTLE_TIMEOUT = 30.0
VAP_PREFIX = "ValidatingAdmissionPolicy '"
WARN_PREFIX = "Validation failed for ValidatingAdmissionPolicy '"


@dataclass(frozen=True)
class PrePolicy:
    """A refusal by the API server before admission policies run."""

    reason: str  # the Status reason
    message: str  # a substring of the Status message naming the non-policy check
    why: str


# fixture (relative to fixtures/) -> the non-policy refusal the server answers with, and why.
PRE_POLICY: dict[str, PrePolicy] = {
    "cicdpipeline-allowed-region/fail/unknown-region.yaml": PrePolicy(
        "Invalid", 'spec.aws.region: Unsupported value: "ap-south-2"',
        "the RGD's enum on spec.aws.region is the params' region list, so the CRD schema refuses it first"),
}
# Policies none of whose fail fixtures reach them on the server (all are in PRE_POLICY). Their
# denial path is compared by test_parameterised_denial_with_a_narrower_params_object instead.
UNREACHABLE = {"cicdpipeline-allowed-region"}


def fixture_files() -> list[str]:
    return sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*/*.y*ml"))


def documents(rel: str) -> list[Manifest]:
    manifests, problems = read_yaml(FIXTURES / rel, rel=rel)
    assert not problems, f"{rel}: {problems[0].message}"
    return manifests


def is_namespace(manifest: Manifest) -> bool:
    return manifest.group == "" and manifest.kind == "Namespace"


@dataclass
class World:
    server: Server  # writes for real (setup)
    probe: Server  # writes with dryRun=All (the fixtures)
    policies: object
    namespaces: dict[str, dict] = field(default_factory=dict)  # name -> the object created on the server
    created_by: dict[tuple[str, int], Outcome] = field(default_factory=dict)  # (fixture, doc) -> real CREATE


def install(server: Server, body: dict, namespace: str | None = None) -> None:
    outcome = server.apply(body, namespace)
    assert outcome.applied, f"{body['kind']} {body['metadata']['name']}: {outcome.message}"


def prerequisite_crds() -> list[dict]:
    crds = []
    for name in ("application-crd.yaml", "appproject-crd.yaml"):
        path = shared("reference", "schemas", "argocd", name)
        [crd], problems = read_yaml(path)
        assert not problems
        crds.append(crd.data)
    [rgd], problems = read_yaml(REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml")
    assert not problems
    crds.append(crd_for_rgd(rgd.data))
    return crds


def offline(world: World, docs: list[Manifest], store=None) -> list[Violation]:
    """All default policies on the fixture's documents, in the namespaces the server has, each
    document as admission sees it (defaulted, with the kinds `store` knows: by default the
    shipped schemas and the platform's RGDs, as `wavegate validate` has them)."""
    store = store or SchemaStore.build(None)
    env = Environment.of(docs, plurals=world.policies.plurals, admitted=lambda m: admitted(store, m))
    for name, namespace in world.namespaces.items():
        env.namespaces.setdefault(name, namespace)
    return evaluate(world.policies, docs, env)


def canary(policy: str, namespaces=None) -> str | None:
    """A fail fixture of the policy the server does not refuse before admission (chosen without
    the offline evaluator, so that a wrong offline verdict fails that fixture's test, not the setup),
    whose objects live in `namespaces` (any, when None)."""
    return next((rel for rel in fixture_files() if rel.startswith(f"{policy}/fail/") and rel not in PRE_POLICY
                 and (namespaces is None or all(d.namespace in namespaces for d in documents(rel)
                                                if not is_namespace(d) and d.namespace))), None)


def wait_for_policies(world: World, names) -> list[str]:
    """Until each named policy denies one of its fail fixtures: its informer and type checker have
    it. The policies whose fail fixtures all live in namespaces not created yet are returned."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    later = []
    for name in names:
        assert (canary(name) is None) == (name in UNREACHABLE), (
            f"policy {name}: fail fixture reaching it on the server: {canary(name)}; keep UNREACHABLE up to date")
        if name in UNREACHABLE:
            continue
        rel = canary(name, world.namespaces)
        if rel is None:
            later.append(name)
            continue
        expected = f"{VAP_PREFIX}{name}' with binding "
        docs = [d for d in documents(rel) if not is_namespace(d)]
        while True:
            outcomes = [world.probe.apply(doc.data, doc.namespace) for doc in docs]
            if any(not o.applied and expected in o.message for o in outcomes):
                break
            assert time.monotonic() < deadline, f"policy {name} not in force after {SETTLE_TIMEOUT}s: {outcomes}"
            time.sleep(0.1)
    return later


def wait_for_params(world: World) -> None:
    """Until the pass fixtures of parameterised policies are admitted: their params are visible
    (until then a paramRef with parameterNotFoundAction Deny denies everything)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    for name, policy in world.policies.policies.items():
        if not policy.param_kind:
            continue
        for rel in fixture_files():
            if not rel.startswith(f"{name}/pass/"):
                continue
            for index, doc in enumerate(documents(rel)):
                if (rel, index) in world.created_by:
                    continue
                while not (outcome := world.probe.apply(doc.data, doc.namespace)).applied:
                    assert time.monotonic() < deadline, f"params of {name} not visible: {outcome.message}"
                    time.sleep(0.1)


def create_namespaces(world: World, after_policies: bool) -> None:
    """The namespaces fixture objects live in. Bare ones first (policies need them for their
    canaries); after the policies are in force, those a fixture defines, from that document."""
    defined: dict[str, tuple[str, int, Manifest]] = {}
    needed: set[str] = set()
    for rel in fixture_files():
        for index, doc in enumerate(documents(rel)):
            if is_namespace(doc) and doc.name:
                other = defined.get(doc.name)
                assert other is None or other[2].data == doc.data, (
                    f"Namespace {doc.name} is defined differently in {other[0]} and {rel}")
                defined.setdefault(doc.name, (rel, index, doc))
            elif doc.namespace:
                needed.add(doc.namespace)
    for name in sorted(needed):
        if name in world.namespaces:
            continue
        if name not in defined and not after_policies:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            install(world.server, body)
            world.namespaces[name] = body
        elif name in defined and after_policies:
            rel, index, doc = defined[name]
            outcome = world.server.apply(doc.data, None)
            world.created_by[(rel, index)] = outcome
            assert outcome.applied, f"Namespace {name} (from {rel}) is needed by other fixtures: {outcome.message}"
            world.namespaces[name] = doc.data


@pytest.fixture(scope="module")
def world():
    policies = load_policies(None)
    assert not [p for p in policies.problems if p.severity.name == "ERROR"], policies.problems
    with LocalCluster() as cluster:
        server = Server(cluster)
        probe = Server(cluster)
        probe.dry_run = True  # every fixture is a dry-run CREATE; nothing of it persists
        try:
            world = World(server, probe, policies)
            crds = prerequisite_crds()
            for crd in crds:
                install(server, crd)
            assert server.wait_established([c["metadata"]["name"] for c in crds]) == []
            for param in policies.params:
                if param.namespace and param.namespace not in world.namespaces:
                    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": param.namespace}}
                    install(server, body)
                    world.namespaces[param.namespace] = body
                install(server, param.data, param.namespace)
            for policy in policies.policies.values():
                install(server, policy.manifest.data)
            for binding in policies.bindings:
                install(server, binding.manifest.data)
            create_namespaces(world, after_policies=False)
            later = wait_for_policies(world, policies.policies)
            create_namespaces(world, after_policies=True)
            assert wait_for_policies(world, later) == []
            wait_for_params(world)
            yield world
        finally:
            server.close()
            probe.close()


def _forbidden_prefix(world: World, doc: Manifest) -> str:
    resource = world.probe.resource(doc.api_version, doc.kind)
    group = doc.group
    return f'{resource.name}{"." + group if group else ""} "{doc.name}" is forbidden: '


def test_every_policy_has_fixtures_and_the_table_names_only_fixtures():
    files = fixture_files()
    for name in load_policies(None).policies:
        assert any(f.startswith(f"{name}/pass/") for f in files), name
        assert any(f.startswith(f"{name}/fail/") for f in files), name
    assert set(PRE_POLICY) <= set(files)


@pytest.mark.parametrize("rel", fixture_files())
def test_offline_verdict_and_message_equal_the_api_servers(world, rel):
    docs = documents(rel)
    violations = offline(world, docs)
    expected_fail = "/fail/" in rel
    pre = PRE_POLICY.get(rel)
    for index, doc in enumerate(docs):
        where = f"{rel} document {index} ({doc.kind} {doc.name})"
        mine = [v for v in violations if v.manifest is doc]
        denials = [v for v in mine if v.denied]
        warnings = sorted(v.server_message for v in mine if not v.denied and "Warn" in v.actions)
        assert len(denials) <= 1, (
            f"{where}: offline, {len(denials)} policies deny it ({[v.policy for v in denials]}); the server "
            "reports only the first, so split the fixture")
        outcome = world.created_by.get((rel, index)) or world.probe.apply(doc.data, doc.namespace)
        # (Outcome.status of an admitted object is the object's .status, not the HTTP code: test refusals only.)
        assert outcome.applied or outcome.status != 404, f"{where}: {outcome.message}"
        if pre is not None:
            assert denials, f"{where}: offline admits what the server refuses before admission"
            assert not outcome.applied and outcome.reason == pre.reason and pre.message in outcome.message, (
                f"{where}: expected the server's non-policy refusal {pre.message!r} ({pre.why}), got "
                f"{outcome.reason}: {outcome.message}")
            continue
        if not denials:
            assert outcome.applied, f"{where}: wavegate admits it, the server says: {outcome.message}"
        else:
            [violation] = denials
            assert not outcome.applied, f"{where}: wavegate denies ({violation.server_message}), the server admits it"
            assert outcome.message == _forbidden_prefix(world, doc) + violation.server_message, where
            assert outcome.reason == violation.reason, where
        server_warnings = sorted(w for w in outcome.warnings if w.startswith(WARN_PREFIX))
        assert server_warnings == warnings, where
    # Both agree; and the fixture means what its directory says (what `wavegate policy test` checks).
    own = [v for v in violations if v.policy == rel.split("/")[0]]
    assert bool(own) == expected_fail, f"{rel}: offline and server agree, but the fixture expects {expected_fail=}"


PROBE_REGIONS = "eu-west-1, us-east-1"  # narrower than the shipped list; excludes the pass fixture's us-west-2


def test_parameterised_denial_with_a_narrower_params_object(world, tmp_path):
    """cicdpipeline-allowed-region cannot deny anything on the server with the shipped params: the
    RGD's enum is the same region list and the CRD schema refuses first (PRE_POLICY). So bind the
    same policy a second time, to a narrower params object, as a platform team narrowing the list
    would: a region the CRD accepts is then denied by the policy itself, and that denial (params,
    variables, messageExpression) is compared. The probe binding is removed again afterwards."""
    import yaml

    policy = world.policies.policies["cicdpipeline-allowed-region"]
    [binding] = world.policies.bindings_of(policy)
    [param] = [m for m in world.policies.params if m.name == binding.param_ref["name"]]
    probe_param = {**param.data, "metadata": {"name": f"{param.name}-probe", "namespace": param.namespace},
                   "data": {"regions": PROBE_REGIONS}}
    probe_binding = {**binding.manifest.data, "metadata": {"name": f"{binding.name}-probe"},
                     "spec": {**binding.spec, "paramRef": {**binding.param_ref, "name": f"{param.name}-probe"}}}
    (tmp_path / "probe.yaml").write_text(yaml.safe_dump_all([policy.manifest.data, probe_binding, probe_param]))
    probe_policies = load_policies(tmp_path)
    assert not probe_policies.problems, probe_policies.problems
    [doc] = documents("cicdpipeline-allowed-region/pass/us-west-2.yaml")
    [violation] = offline(World(world.server, world.probe, probe_policies, world.namespaces), [doc])
    assert violation.binding == f"{binding.name}-probe" and violation.denied

    server = world.server
    install(server, probe_param, param.namespace)
    install(server, probe_binding)
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while (outcome := world.probe.apply(doc.data, doc.namespace)).applied:
            assert time.monotonic() < deadline, "the probe binding never came into force"
            time.sleep(0.1)
        assert outcome.message == _forbidden_prefix(world, doc) + violation.server_message
        assert outcome.reason == violation.reason
    finally:
        for api_version, kind, name, namespace in (
                ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", probe_binding["metadata"]["name"], None),
                ("v1", "ConfigMap", probe_param["metadata"]["name"], param.namespace)):
            server.dynamic.delete(server.resource(api_version, kind), name=name, namespace=namespace)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not (outcome := world.probe.apply(doc.data, doc.namespace)).applied:
        assert time.monotonic() < deadline, f"still denied after removing the probe binding: {outcome.message}"
        time.sleep(0.1)


# -- defaulted fields ------------------------------------------------------------------------------

REGION_FIELD = ('region: string | required=true enum="us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,'
                'eu-central-1,ap-southeast-1,ap-southeast-2,ap-northeast-1"')
DEFAULTED_PIPELINE = """\
apiVersion: kro.run/v1alpha1
kind: RegionalPipeline
metadata: {{name: {name}, namespace: team-web}}
spec:
  name: web-cicd
  namespace: team-web
  aws: {{accountId: "123456789012", clusterName: peeks-hub-cluster{region}}}
  application: {{name: web}}
  gitlab: {{hostname: gitlab.example.com, username: platform}}
"""
REPLICAS_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: wavegate-probe-two-replicas}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: ["*"], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas >= 2 && object.spec.template.spec.containers.all(c, c.imagePullPolicy == 'IfNotPresent')"
      messageExpression: "'replicas ' + string(object.spec.replicas) + ', pull policies ' + object.spec.template.spec.containers.map(c, c.imagePullPolicy).join(',')"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: wavegate-probe-two-replicas}
spec: {policyName: wavegate-probe-two-replicas, validationActions: [Deny]}
"""
DEPLOYMENTS = {
    # name -> (what the file says, what the server decides from its defaults)
    "defaults-one-replica": ("{}", "replicas 1 (default), pull policy Always (default for a :latest image)"),
    "two-replicas-pinned": ("{replicas: 2, image: 'nginx:1.27'}", "both as written or defaulted satisfy the policy"),
    "two-replicas-latest": ("{replicas: 2}", "imagePullPolicy defaults to Always for an untagged image"),
}


def _deployment(name: str, fields: dict) -> dict:
    image = fields.get("image", "nginx")
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "web", "image": image}]}}}
    if "replicas" in fields:
        spec["replicas"] = fields["replicas"]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "team-web"},
            "spec": spec}


def test_policies_see_defaulted_fields_as_the_api_server_does(world, tmp_path):
    """Admission policies run on the object after defaulting. An RGD that defaults spec.aws.region
    (here to a region outside the allowed list, and to an allowed one), and a Deployment whose
    replicas and imagePullPolicy are defaulted, are judged offline and by the server alike, with the
    same messages. The same policies as the shipped ones, bound to a probe kind, so nothing else
    changes for the other tests."""
    import yaml

    from wavegate.load import parse_documents

    rgd_text = (REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml").read_text()
    assert REGION_FIELD in rgd_text
    policy = world.policies.policies["cicdpipeline-allowed-region"]
    [binding] = world.policies.bindings_of(policy)
    [param] = [m for m in world.policies.params if m.name == binding.param_ref["name"]]
    probes = {}
    for default in ("mars-1", "us-west-2"):
        kind = f"Regional{'Bad' if default == 'mars-1' else 'Good'}Pipeline"
        text = (rgd_text.replace(REGION_FIELD, f'region: string | default="{default}"')
                .replace("kind: CICDPipeline", f"kind: {kind}").replace("name: cicdpipeline.kro.run",
                                                                        f"name: {kind.lower()}.kro.run"))
        [rgd], problems = parse_documents(f"{kind}.yaml", text)
        assert not problems
        probes[kind] = rgd
    plurals = [f"{kind.lower()}s" for kind in probes]
    probe_policy = {**policy.manifest.data, "metadata": {"name": "wavegate-probe-allowed-region"},
                    "spec": {**policy.spec, "matchConstraints": {"resourceRules": [
                        {"apiGroups": ["kro.run"], "apiVersions": ["*"], "operations": ["CREATE"],
                         "resources": plurals}]}}}
    probe_binding = {**binding.manifest.data, "metadata": {"name": "wavegate-probe-allowed-region"},
                     "spec": {**binding.spec, "policyName": "wavegate-probe-allowed-region"}}
    (tmp_path / "probe.yaml").write_text(yaml.safe_dump_all([probe_policy, probe_binding, param.data]) + "---\n"
                                         + REPLICAS_POLICY)
    probe_policies = load_policies(tmp_path)
    assert not probe_policies.problems, probe_policies.problems

    store = SchemaStore.build(None)
    for rgd in probes.values():
        store.add_rgd(rgd, origin="rgd")
    server = world.server
    crds = [crd_for_rgd(rgd.data) for rgd in probes.values()]
    for crd in crds:
        install(server, crd)
    assert server.wait_established([c["metadata"]["name"] for c in crds]) == []
    installed = [("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "wavegate-probe-allowed-region"),
                 ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "wavegate-probe-allowed-region"),
                 ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "wavegate-probe-two-replicas"),
                 ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "wavegate-probe-two-replicas")]
    install(server, probe_policy)
    install(server, probe_binding)
    for document in yaml.safe_load_all(REPLICAS_POLICY):
        install(server, document)
    probe_world = World(world.server, world.probe, probe_policies, world.namespaces)
    cases: list[tuple[str, dict]] = []
    for kind in probes:
        for region in ("", ", region: eu-west-1"):
            name = f"{kind.lower()}{'-explicit' if region else '-defaulted'}"
            cases.append((name, yaml.safe_load(DEFAULTED_PIPELINE.format(name=name, region=region).replace(
                "RegionalPipeline", kind))))
    for name, (fields, _) in DEPLOYMENTS.items():
        cases.append((name, _deployment(name, yaml.safe_load(fields))))
    try:
        _wait_for_probe_policies(world, cases)
        compared = 0
        for name, body in cases:
            [doc], problems = parse_documents(f"{name}.yaml", yaml.safe_dump(body))
            assert not problems
            violations = [v for v in offline(probe_world, [doc], store) if v.denied]
            outcome = world.probe.apply(body, "team-web")
            if not violations:
                assert outcome.applied, f"{name}: wavegate admits it, the server says: {outcome.message}"
            else:
                [violation] = violations
                assert not outcome.applied, f"{name}: wavegate denies ({violation.server_message}), the server admits"
                assert outcome.message == _forbidden_prefix(world, doc) + violation.server_message, name
            compared += 1
        denied = {name for name, body in cases
                  if [v for v in offline(probe_world, [parse_documents("x.yaml", yaml.safe_dump(body))[0][0]], store)
                      if v.denied]}
        # The defaulted mars-1 is denied, every explicit eu-west-1 and the defaulted us-west-2 admitted.
        assert denied == {"regionalbadpipeline-defaulted", "defaults-one-replica", "two-replicas-latest"}
        assert compared == len(cases) == 7
    finally:
        for api_version, kind, name in installed:
            server.dynamic.delete(server.resource(api_version, kind), name=name)


def _wait_for_probe_policies(world: World, cases) -> None:
    """Until both probe policies deny one of their cases (the informers have them)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    for canary in ("regionalbadpipeline-defaulted", "defaults-one-replica"):
        body = dict(cases)[canary]
        while world.probe.apply(body, "team-web").applied:
            assert time.monotonic() < deadline, f"the probe policy for {canary} never came into force"
            time.sleep(0.1)
