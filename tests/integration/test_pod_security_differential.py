"""Differential test: wavegate's Pod Security policies against the real PodSecurity admission.

One local control plane (etcd + kube-apiserver from install-tools) whose PodSecurity admission
enforces `baseline` in namespaces without a label (an AdmissionConfiguration; the same default
the shipped wavegate-pod-security parameter sets), and namespaces labelled with every level,
some with an enforce-version whose controls differ from the latest (PodSecurity refuses a
Namespace with an invalid label, so there is none). Every generated pod spec
(tests/pod_security_specs.py: every control of both levels, alone and combined) is applied as a
Pod with dryRun=All in every namespace. wavegate's policies are NOT installed on this server: it
is the real PodSecurity that judges, and wavegate evaluates its pod-security-baseline and
pod-security-restricted policies offline on the same Pod in the same namespace. They must agree
on every one: admitted by the server <=> no wavegate violation; refused => the same level and
version, and the same set of controls (PodSecurity's forbidden reasons) as wavegate's findings.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter

import pytest

from tests.pod_security_specs import specs
from wavegate.cluster import LocalCluster
from wavegate.dryrun.server import Server
from wavegate.load import Manifest
from wavegate.policy import Environment, PolicySet, evaluate, load_policies

pytestmark = pytest.mark.integration

LEVEL = "pod-security.kubernetes.io/enforce"
VERSION = "pod-security.kubernetes.io/enforce-version"
NAMESPACES: dict[str, dict[str, str]] = {
    "psa-privileged": {LEVEL: "privileged"},
    "psa-baseline": {LEVEL: "baseline"},
    "psa-restricted": {LEVEL: "restricted", VERSION: "latest"},
    "psa-default": {},  # no label: the admission configuration's default, wavegate's defaultLevel
    "psa-baseline-v1-30": {LEVEL: "baseline", VERSION: "v1.30"},  # before container_engine_t, tcp_rmem, probe hosts
    "psa-restricted-v1-18": {LEVEL: "restricted", VERSION: "v1.18"},  # seccomp annotations; no runAsUser, capabilities
    "psa-restricted-v1-24": {LEVEL: "restricted", VERSION: "v1.24"},  # before the Windows exemptions
    "psa-restricted-v1-34": {LEVEL: "restricted", VERSION: "v1.34"},  # before user namespaces relax root checks
}
ADMISSION_CONFIGURATION = """\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: PodSecurity
    configuration:
      apiVersion: pod-security.admission.config.k8s.io/v1
      kind: PodSecurityConfiguration
      defaults:
        enforce: baseline
        enforce-version: latest
        audit: privileged
        audit-version: latest
        warn: privileged
        warn-version: latest
      exemptions:
        usernames: []
        runtimeClasses: []
        namespaces: []
"""
# Every control PodSecurity has, by the reason it reports (k8s.io/pod-security-admission v0.37).
REASONS = {"privileged", "host namespaces", "hostPath volumes", "hostPort", "non-default capabilities",
           "forbidden AppArmor profile", "seLinuxOptions", "procMount", "seccompProfile", "forbidden sysctls",
           "hostProcess", "probe or lifecycle host", "restricted volume types", "allowPrivilegeEscalation != false",
           "runAsNonRoot != true", "runAsUser=0", "unrestricted capabilities"}
_VIOLATES = re.compile(r'violates PodSecurity "([^"]+)": (.*)$', re.S)


def reasons(detail: str) -> set[str]:
    """PodSecurity's forbidden reasons in `reason (detail), reason (detail)` (details hold commas)."""
    found, depth, current = set(), 0, ""
    for char in detail + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            found.add(_normal(current.split(" (")[0].strip()))
            current = ""
        else:
            current += char
    return {r for r in found if r}


def _normal(reason: str) -> str:
    return "forbidden AppArmor profile" if reason == "forbidden AppArmor profiles" else reason


def wavegate_verdict(policies: PolicySet, pod: dict, namespace: dict) -> tuple[str | None, set[str]]:
    """(level:version, forbidden reasons) of wavegate's Pod Security policies for `pod` in `namespace`."""
    manifest = Manifest(path="pod.yaml", doc_index=0, data=pod)
    env = Environment.of([manifest], plurals=policies.plurals)
    env.namespaces[namespace["metadata"]["name"]] = namespace
    found: set[str] = set()
    level = None
    for violation in evaluate(policies, [manifest], env):
        match = _VIOLATES.search(violation.message)
        assert match and violation.denied, violation.message
        level = match.group(1)
        found |= reasons(match.group(2))
    return level, found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    config = tmp_path_factory.mktemp("admission") / "admission.yaml"
    config.write_text(ADMISSION_CONFIGURATION)
    with LocalCluster(extra_apiserver_args=[f"--admission-control-config-file={config}"]) as running:
        server = Server(running)
        try:
            for name, labels in NAMESPACES.items():
                outcome = server.apply({"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": name, "labels": labels}}, None)
                assert outcome.applied, outcome.message
        finally:
            server.close()
        yield running


@pytest.fixture(scope="module")
def pod_security() -> PolicySet:
    every = load_policies(None)
    names = ("pod-security-baseline", "pod-security-restricted")
    return PolicySet(source=every.source, policies={n: every.policies[n] for n in names},
                     bindings=[b for b in every.bindings if b.policy_name in names], params=every.params,
                     plurals=every.plurals)


def test_wavegate_and_podsecurity_agree_on_every_generated_pod(cluster, pod_security):
    generated = specs()
    assert len(generated) >= 300
    probe = Server(cluster)
    probe.dry_run = True
    disagreements, invalid = [], []
    seen: Counter[str] = Counter()
    try:
        for spec in generated:
            for name, labels in NAMESPACES.items():
                namespace = {"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": name, "labels": {**labels, "kubernetes.io/metadata.name": name}}}
                pod = {**spec.pod, "metadata": {**spec.pod["metadata"], "namespace": name}}
                outcome = probe.apply(pod, name)
                match = None if outcome.applied else _VIOLATES.search(outcome.message)
                if not outcome.applied and match is None:
                    invalid.append(f"{spec.name}: {outcome.message}")
                    break
                server = (match.group(1), reasons(match.group(2))) if match else (None, set())
                seen.update(server[1])
                mine = wavegate_verdict(pod_security, pod, namespace)
                if mine != server:
                    disagreements.append(f"{spec.name} in {name}: PodSecurity {server}, wavegate {mine}")
    finally:
        probe.close()
    assert invalid == [], "generated pods the API server refuses before PodSecurity:\n" + "\n".join(invalid[:20])
    assert disagreements == [], f"{len(disagreements)} disagreements:\n" + "\n".join(disagreements[:40])
    assert set(seen) == REASONS, f"controls never refused by the server: {sorted(REASONS - set(seen))}"
    print(f"{len(generated)} pod specs x {len(NAMESPACES)} namespaces agree; refusals by control: {dict(seen)}")


def test_reasons_are_split_at_top_level_commas_only():
    detail = textwrap.dedent("""\
        host namespaces (hostNetwork=true, hostPID=true), forbidden AppArmor profiles (pod must not set AppArmor \
        profile type to "Unconfined", "x"), runAsUser=0 (pod must not set runAsUser=0)""")
    assert reasons(detail) == {"host namespaces", "forbidden AppArmor profile", "runAsUser=0"}
