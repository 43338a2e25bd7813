"""Differential fuzz: `wavegate validate` against the real kube-apiserver, object by object.

tests/server_fuzz.py generates, from a fixed seed, thousands of mutated objects of many kinds
(built-in kinds, a CRD's custom resources, CRDs themselves, kro CICDPipeline instances, Argo CD
Applications and AppProjects). Each is judged twice:

* by wavegate: written as a file of one repository and checked by every validator (no policies);
  refused when a rule that mirrors the API server (SERVER_RULES) reports an error;
* by the local API server: POSTed with dryRun=All and fieldValidation=Strict (kubectl's default),
  after the CRDs the kinds need were installed for real (the Widget test CRD, Argo CD's real CRDs
  from ../shared/reference, the CRD wavegate generates from the platform's CICDPipeline RGD).

The verdicts (refused or accepted) must agree, and for a refusal the field must agree: one of
wavegate's findings and one of the server's causes name the same field or one contains the other
(the server names a map, `metadata.labels`, where wavegate names the entry). Every disagreement
must be listed in DISAGREEMENTS, by case name, with the reason; an entry that no longer disagrees
fails the test too, so the list stays true. WAVEGATE_FUZZ_REPORT=FILE writes every disagreement
(both sides' words) to FILE as JSON.

test_defaults_are_the_servers compares what wavegate's policies see (wavegate.schemas.defaults) with
the object the server answered with, on every object both accept.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import server_fuzz
from tests.helpers import REPO_ROOT, shared
from wavegate import pipeline
from wavegate.cluster import LocalCluster
from wavegate.kro import crd_for_rgd
from wavegate.load import read_yaml

pytestmark = pytest.mark.integration

SEED = 13
PER_OPERATOR = 8
WORKERS = 8

# The rules whose errors mean "the API server refuses this object".
SERVER_RULES = frozenset({
    "schema-unknown-field", "schema-invalid-type", "schema-invalid-value", "schema-required",
    "schema-duplicate-item", "schema-cel-rule", "schema-unknown-kind", "schema-unknown-version", "schema-crd-invalid",
    "schema-undecodable", "object-name-invalid", "label-invalid", "annotation-invalid", "data-key-invalid",
    "data-not-base64", "secret-type-data-missing", "port-invalid", "container-name-invalid", "volume-mount-invalid",
    "field-value-unsupported", "field-invalid", "quantity-invalid", "selector-template-mismatch",
    "api-version-removed", "api-version-not-enabled", "crd-invalid",
    "yaml-not-a-resource",
})

# case name -> why wavegate and the API server disagree on it: what only a cluster knows.
_PRIORITY = "no PriorityClass high-priority exists on the cluster (the Priority admission plugin); wavegate " \
            "cannot know the cluster's priority classes"
_SERVICE_CIDR = "10.96.0.10 is outside the cluster's service IP range (10.0.0.0/24 here); the range is a flag " \
                "of the API server, not in the repository"
_NAMESPACE = "namespace other does not exist on the cluster; whether a repository creates it is " \
             "namespace-not-created's question, which the fuzz repository (one object per file) cannot answer"
DISAGREEMENTS: dict[str, str] = {
    "pod-cluster-state-0": _PRIORITY, "pod-cluster-state-1": _PRIORITY,
    "service-cluster-state-0": _SERVICE_CIDR, "service-cluster-state-1": _SERVICE_CIDR,
    "configmap-cluster-state-0": _NAMESPACE, "configmap-cluster-state-1": _NAMESPACE,
}


@dataclass
class Verdict:
    refused: bool
    fields: set[str] = field(default_factory=set)
    detail: str = ""
    stored: dict | None = None  # the object the server answered with, when it accepted it


# How the server names a field that wavegate names otherwise (wavegate points at the line a person
# edits): a Secret's stringData is merged into data before validation; a CRD with one version is
# validated as the internal spec.validation; a Job's name is validated as the job-name label it
# generates; generateName as the name generated from it; a claim's storage request as
# spec.resources[storage].
FIELD_ALIASES = (("stringData", "data"), ("spec.versions.schema", "spec.validation"),
                 ("metadata.name", "spec.template.labels"), ("metadata.generateName", "metadata.name"),
                 ("spec.resources.requests", "spec.resources"))


def _normal(path: str) -> list[str]:
    path = re.sub(r"\[(\d+)\]", "", path)
    path = re.sub(r"\[([^\]]*)\]", r".\1", path).strip(".")
    return path.split(".") if path else []


def _names_of(ours: str) -> list[list[str]]:
    """wavegate's field, and what the server may call it (FIELD_ALIASES)."""
    found = [_normal(ours)]
    plain = ".".join(found[0])
    for mine, theirs in FIELD_ALIASES:
        if plain == mine or plain.startswith(mine + "."):
            found.append(_normal(theirs + plain[len(mine):]))
    return found


def _related(ours: str, theirs: str) -> bool:
    """The same field, or one inside the other; a field from a Go decoding error (marked `~`) names
    only struct fields (no map keys, embedded structs in CamelCase): it must be a subsequence."""
    for a in _names_of(ours):
        if theirs.startswith("~"):
            b = [part for part in _normal(theirs[1:]) if not part[:1].isupper()]
            remaining = iter(a)
            if b and all(part in remaining for part in b):
                return True
            continue
        b = _normal(theirs)
        shorter = min(len(a), len(b))
        if a[:shorter] == b[:shorter]:
            return True
    return False


_UNMARSHAL = re.compile(r"Go struct field (\w+)\.([\w.]+) of type")
_UNKNOWN = re.compile(r'unknown field "([^"]+)"')
_DUPLICATE = re.compile(r'duplicate field "([^"]+)"')


def server_fields(status: dict) -> set[str]:
    causes = (status.get("details") or {}).get("causes") or []
    fields = {c["field"] for c in causes if c.get("field")}
    message = status.get("message") or ""
    for struct, path in _UNMARSHAL.findall(message):
        meta = struct == "ObjectMeta" and "metadata" not in path.split(".")  # custom resources: relative
        fields.add("~" + ("metadata." if meta else "") + path)
    fields |= set(_UNKNOWN.findall(message)) | set(_DUPLICATE.findall(message))
    return fields


@dataclass
class Server:
    cluster: LocalCluster
    api: object = None
    dynamic: object = None
    resources: dict = field(default_factory=dict)

    def __post_init__(self):
        from kubernetes.dynamic import DynamicClient

        self.api = self.cluster.api_client()
        self.dynamic = DynamicClient(self.api)

    def resource(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self.resources:
            self.resources[key] = self.dynamic.resources.get(api_version=api_version, kind=kind)
        return self.resources[key]

    def create(self, body: dict, dry_run: bool = True) -> tuple[int, dict]:
        from kubernetes.client.exceptions import ApiException

        resource = self.resource(body["apiVersion"], body["kind"])
        namespace = (body.get("metadata", {}).get("namespace") or server_fuzz.NAMESPACE) if resource.namespaced else None
        params = {"query_params": [("fieldValidation", "Strict")]}
        if dry_run:
            params["dry_run"] = "All"
        try:
            response = self.dynamic.request("post", resource.path(namespace=namespace), body=body, serialize=False,
                                            **params)
            return response.status, json.loads(response.data)
        except ApiException as error:
            try:
                return error.status, json.loads(error.body or "{}")
            except ValueError:
                return error.status, {"message": str(error.body)}


def _judge_on_server(server: Server, case: server_fuzz.Case) -> Verdict:
    status, answer = server.create(case.body)
    if status < 300:
        return Verdict(False, stored=answer)
    return Verdict(True, server_fields(answer), f"{status} {answer.get('reason', '')}: {answer.get('message', '')}")


@pytest.fixture(scope="module")
def cases() -> list[server_fuzz.Case]:
    return server_fuzz.generate(SEED, PER_OPERATOR)


def _prerequisites() -> list[dict]:
    crds = [server_fuzz.widget_crd()]
    for name in ("application-crd.yaml", "appproject-crd.yaml"):
        [crd], problems = read_yaml(shared("reference", "schemas", "argocd", name))
        assert not problems
        crds.append(crd.data)
    [rgd], problems = read_yaml(REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml")
    assert not problems
    crds.append(crd_for_rgd(rgd.data))
    return crds


@pytest.fixture(scope="module")
def server_verdicts(cases) -> dict[str, Verdict]:
    with LocalCluster() as cluster:
        server = Server(cluster)
        try:
            crds = _prerequisites()
            for body in crds + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": server_fuzz.NAMESPACE}}]:
                status, answer = server.create(body, dry_run=False)
                assert status < 300, answer
            _wait_served(server, crds)
            for api_version, kind in sorted({(c.body["apiVersion"], c.body["kind"]) for c in cases}):
                server.resource(api_version, kind)  # discovery once, before the requests run in threads
            with ThreadPoolExecutor(WORKERS) as pool:
                verdicts = list(pool.map(lambda case: _judge_on_server(server, case), cases))
        finally:
            server.api.close()
    return {case.name: verdict for case, verdict in zip(cases, verdicts, strict=True)}


def _wait_served(server: Server, crds: list[dict], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for crd in crds:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
        while True:
            server.dynamic.resources.invalidate_cache()
            try:
                server.resource(f"{group}/{version}", kind)
                break
            except Exception:  # noqa: BLE001 - not served yet
                assert time.monotonic() < deadline, f"{kind} never became served"
                time.sleep(0.1)


@pytest.fixture(scope="module")
def wavegate_verdicts(cases, tmp_path_factory) -> dict[str, Verdict]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "crds").mkdir()
    (root / "crds" / "widget.yaml").write_text(server_fuzz.to_yaml(server_fuzz.widget_crd()))
    (root / "cases").mkdir()
    for case in cases:
        (root / "cases" / f"{case.name}.yaml").write_text(server_fuzz.to_yaml(case.body))
    (root / "no-policies").mkdir()
    run = pipeline.validate(pipeline.Options(root=root, policies=root / "no-policies"))
    by_path = {m.path: m for m in run.loaded.manifests}
    for case in cases:  # the YAML means what the generator meant (else the comparison is void)
        manifest = by_path.get(f"cases/{case.name}.yaml")
        assert manifest is None or manifest.data == case.body, case.name
    verdicts = {case.name: Verdict(False) for case in cases}
    widget_problems = []
    for finding in run.findings:
        if finding.severity.name != "ERROR" or finding.rule not in SERVER_RULES:
            continue
        if finding.path.startswith("crds/"):
            widget_problems.append(finding)
            continue
        name = Path(finding.path).stem
        verdict = verdicts[name]
        verdict.refused = True
        verdict.fields.add(finding.field)
        verdict.detail += f"{finding.rule}: {finding.message}\n"
    assert widget_problems == []
    admitted = {}
    from wavegate.schemas.defaults import admitted as admitted_object

    for case in cases:
        manifest = by_path.get(f"cases/{case.name}.yaml")
        if manifest is not None and not verdicts[case.name].refused:
            admitted[case.name] = admitted_object(run.ctx.schemas, manifest)
    WAVEGATE_ADMITTED.clear()
    WAVEGATE_ADMITTED.update(admitted)
    return verdicts


WAVEGATE_ADMITTED: dict[str, dict] = {}


@pytest.fixture(scope="module")
def wavegate_admitted(wavegate_verdicts) -> dict[str, dict]:
    return WAVEGATE_ADMITTED


def test_the_corpus_is_large_and_varied(cases):
    assert len(cases) >= 2000
    assert len({c.kind for c in cases}) >= 15
    assert {"Widget", "CICDPipeline", "Application", "CustomResourceDefinition"} <= {c.kind for c in cases}


def test_every_base_object_is_accepted_by_both(cases, server_verdicts, wavegate_verdicts):
    for case in cases:
        if case.operator == "base":
            assert not server_verdicts[case.name].refused, server_verdicts[case.name].detail
            assert not wavegate_verdicts[case.name].refused, wavegate_verdicts[case.name].detail


# Fields the server fills in that wavegate's defaults (wavegate.schemas.defaults) leave out, by
# kind and path (list indexes dropped), with why: none of them is a default of the API version.
SERVER_ONLY = {
    ("*", "metadata.uid"): "assigned on create",
    ("*", "metadata.creationTimestamp"): "assigned on create",
    ("*", "metadata.managedFields"): "field ownership, recorded on create",
    ("*", "metadata.generation"): "assigned on create",
    ("*", "metadata.resourceVersion"): "assigned on create",
    ("*", "metadata.name"): "generated from metadata.generateName",
    ("*", "status"): "written by controllers, initialised by the registry",
    ("Service", "spec.clusterIP"): "allocated by the registry",
    ("Service", "spec.clusterIPs"): "allocated by the registry",
    ("Service", "spec.ipFamilies"): "chosen by the registry from the cluster's service CIDRs",
    ("Service", "spec.ipFamilyPolicy"): "chosen by the registry",
    ("Service", "spec.ports.nodePort"): "allocated by the registry",
    ("Job", "spec.selector"): "generated by the registry (controller-uid)",
    ("Job", "spec.template.metadata.labels"): "job-name and controller-uid labels, generated by the registry",
    ("CronJob", "spec.jobTemplate.metadata"): "an empty struct in the stored object",
    ("Deployment", "spec.template.metadata.creationTimestamp"): "a null timestamp in the stored template",
    ("DaemonSet", "metadata.annotations.deprecated.daemonset.template.generation"): "set by the registry",
    ("Namespace", "metadata.labels.kubernetes.io/metadata.name"): "set from the name, which the server generates "
                                                                  "from generateName",
    ("Namespace", "spec.finalizers"): "set by the registry",
    ("PersistentVolumeClaim", "metadata.finalizers"): "added by the StorageObjectInUseProtection admission plugin",
    ("Pod", "spec.priority"): "set by the Priority admission plugin from the priority class",
    ("Pod", "spec.preemptionPolicy"): "set by the Priority admission plugin",
    ("Pod", "spec.tolerations"): "added by the DefaultTolerationSeconds admission plugin",
}


def _leaves(data, path=()):
    if isinstance(data, dict):
        if not data:
            yield path, {}
        for key, value in data.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(data, list):
        if not data:
            yield path, []
        for i, value in enumerate(data):
            yield from _leaves(value, path + (i,))
    else:
        yield path, data


def _at(data, path):
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return _MISSING
        elif not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


_MISSING = object()


def _same(ours, theirs) -> bool:
    from wavegate.apimachinery import parse_quantity

    if ours == theirs:
        return True
    if isinstance(ours, (str, int, float)) and isinstance(theirs, str):  # quantities are stored canonical
        a, b = parse_quantity(ours), parse_quantity(theirs)
        return a is not None and a == b
    return False


def test_defaults_are_the_servers(cases, server_verdicts, wavegate_admitted):
    """What policies see offline (wavegate.schemas.defaults.admitted) is what the server stored, on
    every field wavegate sets; the fields only the server sets are listed in SERVER_ONLY."""
    wrong, only_server = {}, set()
    compared = 0
    for case in cases:
        verdict = server_verdicts[case.name]
        ours = wavegate_admitted.get(case.name)
        if verdict.refused or ours is None:
            continue
        compared += 1
        for path, value in _leaves(ours):
            if value in ({}, [], None):
                continue  # Go's zero values and omitempty: stored as nothing, "" or 0
            theirs = _at(verdict.stored, path)
            if theirs is _MISSING and value in (0, "", False) and type(value) in (int, str, bool):
                continue  # a zero value the server omits
            if path[:1] != ("metadata",) and not _same(value, theirs):
                wrong[case.name] = f"{'.'.join(map(str, path))}: wavegate {value!r}, server " \
                                   f"{'(absent)' if theirs is _MISSING else repr(theirs)}"
                break
        for path, value in _leaves(verdict.stored):
            if _at(ours, path) is _MISSING and value not in ("", 0, False, {}, []):  # zero values: not omitempty
                plain = ".".join(str(p) for p in path if not isinstance(p, int))
                known = [key for key in SERVER_ONLY if key[0] in ("*", case.kind)
                         and (plain == key[1] or plain.startswith(key[1] + "."))]
                if not known:
                    only_server.add((case.kind, plain))
    assert compared > 500
    assert not wrong, f"{len(wrong)} objects: " + "; ".join(f"{n}: {w}" for n, w in sorted(wrong.items())[:30])
    assert not only_server, "\n".join(map(str, sorted(only_server)))


def test_wavegate_and_the_api_server_agree_on_every_object(cases, server_verdicts, wavegate_verdicts):
    disagreements: dict[str, str] = {}
    for case in cases:
        ours, theirs = wavegate_verdicts[case.name], server_verdicts[case.name]
        if ours.refused != theirs.refused:
            what = "wavegate refuses, the server accepts" if ours.refused else "the server refuses, wavegate accepts"
            disagreements[case.name] = f"{what}\n  wavegate: {ours.detail.strip()}\n  server: {theirs.detail}"
        elif ours.refused and theirs.fields and not any(_related(a, b) for a in ours.fields for b in theirs.fields):
            disagreements[case.name] = (f"both refuse, on different fields: wavegate {sorted(ours.fields)}, server "
                                        f"{sorted(theirs.fields)}\n  wavegate: {ours.detail.strip()}\n"
                                        f"  server: {theirs.detail}")
    report = os.environ.get("WAVEGATE_FUZZ_REPORT")
    if report:  # every disagreement in full, for whoever updates DISAGREEMENTS
        Path(report).write_text(json.dumps(disagreements, indent=1, sort_keys=True))
    unexplained = {name: why for name, why in disagreements.items() if name not in DISAGREEMENTS}
    stale = sorted(set(DISAGREEMENTS) - set(disagreements))
    refused = sum(v.refused for v in server_verdicts.values())
    summary = (f"{len(cases)} objects, {refused} refused by the server, {len(disagreements)} disagreements "
               f"({len(unexplained)} unexplained, {len(stale)} listed but agreeing)")
    print(summary)
    assert not unexplained, summary + "\n\n" + "\n\n".join(f"{n}: {w}" for n, w in sorted(unexplained.items())[:60])
    assert not stale, f"listed in DISAGREEMENTS but agreeing now: {stale}"
