"""Checks judged ahead while the repository renders (wavegate.speculation) give exactly the
findings of a run without: objects the render made or changed, objects whose namespace the render
decides, a store the render adds to, a speculating process that dies, and random edits."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

from tests.helpers import widget_crd
from wavegate import pipeline, speculation

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import corpus

PRIVILEGED = "allowPrivilegeEscalation: false"
# An object the render makes (not a document as written): a jsonnet file of a directory source.
JSONNET = """{
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'made', namespace: 'team-app00002' },
  spec: { selector: { matchLabels: { app: 'made' } }, replicas: 'two',
          template: { metadata: { labels: { app: 'made' } },
                      spec: { containers: [{ name: 'main', image: 'x:1', securityContext: { privileged: true } }] } } },
}
"""
# A namespace the render decides (the Application's destination), and a cluster-scoped object.
NO_NAMESPACE = """apiVersion: v1
kind: ConfigMap
metadata: {name: loose}
data: {a: b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}]
"""


@pytest.fixture(autouse=True)
def small_speculation(monkeypatch):
    """Speculation on small repositories, in many chunks (shared by both processes)."""
    monkeypatch.setattr(speculation, "MIN_DOCUMENTS", 50)
    monkeypatch.setattr(speculation, "CHUNK_DOCUMENTS", 7)
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS", raising=False)


def _repository(root: Path, apps: int = 12, seed: int = 1) -> Path:
    corpus.generate(root, apps * corpus.PER_APP, defects=0.3, seed=seed)
    for app in (1, 5):
        path = root / f"apps/app{app:05d}/manifests/deployment-0.yaml"
        path.write_text(path.read_text().replace(PRIVILEGED, "privileged: true"))
    (root / "apps/app00002/manifests/made.jsonnet").write_text(JSONNET)
    (root / "apps/app00003/manifests/loose.yaml").write_text(NO_NAMESPACE)
    # An instance of the CRD given with --schemas (_findings), whose schema is invalid: its problems
    # are reported once an object of its kind is judged, or its results taken from elsewhere.
    (root / "apps/app00004/manifests/widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: team-app00004}\n"
        "spec: {size: small, colour: red}\n")
    (root.parent / "widget-crd.yaml").write_text(
        widget_crd("type: object\nproperties:\n  size: {type: string, pattern: '([a-z'}\n"))
    return root


def _findings(root: Path, spied: list | None = None) -> list[tuple]:
    run = pipeline.render(pipeline.prepare(pipeline.Options(
        root=root, schemas=(str(corpus.rgd_path()), str(root.parent / "widget-crd.yaml")), cache=False)))
    if spied is not None:
        spied.append(run.ctx.speculation)
    return sorted((f.rule, f.severity, f.path, f.line, f.column, f.message, f.hint, str(f.resource), f.field,
                   f.application) for f in pipeline.finish(run, pipeline.check(run)))


def _without(root: Path, monkeypatch) -> list[tuple]:
    monkeypatch.setenv("WAVEGATE_CHECK_WORKERS", "1")
    try:
        return _findings(root)
    finally:
        monkeypatch.delenv("WAVEGATE_CHECK_WORKERS")


def test_findings_with_speculation_are_those_without(tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo")
    without = _without(root, monkeypatch)
    rules = {f[0] for f in without}
    assert {"policy-violation", "schema-invalid-type", "schema-unknown-field", "schema-crd-invalid"} <= rules
    spied: list = []
    assert _findings(root, spied) == without
    used = spied[0]
    assert used is not None and used.judged == len(used.chunks)  # (every chunk judged, here or there)
    assert set(used.checks) == set(speculation.CHECKS) and all(key for key, _ in used.checks.values())


def test_a_store_the_render_adds_to_stops_the_speculation(tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo")
    # A CRD only the render makes: the store of the loaded files lacks it, its fingerprint differs.
    (root / "apps/app00004/manifests/crd.jsonnet").write_text(json.dumps(
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "gadgets.example.com"},
         "spec": {"group": "example.com", "names": {"kind": "Gadget", "plural": "gadgets"}, "scope": "Namespaced",
                  "versions": [{"name": "v1", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": {"type": "object"}}}]}}))
    without = _without(root, monkeypatch)
    stopped = []
    real = speculation.Speculation.agrees
    monkeypatch.setattr(speculation.Speculation, "agrees",
                        lambda self, *args: stopped.append(not (agreed := real(self, *args))) or agreed)
    spied: list = []
    assert _findings(root, spied) == without
    assert stopped == [True] and spied == [None]


def test_what_the_speculating_process_did_not_judge_is_judged_here(tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo")
    without = _without(root, monkeypatch)
    real = speculation._judged
    parent = os.getpid()

    def fails_from_its_third_chunk(loaded, ctx, chunk):
        if os.getpid() != parent and loaded.manifests.index(chunk[0]) >= 2 * speculation.CHUNK_DOCUMENTS:
            raise RuntimeError("a bug")
        return real(loaded, ctx, chunk)

    monkeypatch.setattr(speculation, "_judged", fails_from_its_third_chunk)
    spied: list = []
    assert _findings(root, spied) == without
    assert spied[0] is not None and spied[0].judged < len(spied[0].chunks)


def test_findings_with_speculation_over_random_edits(tmp_path, monkeypatch):
    root = _repository(tmp_path / "repo", apps=8, seed=3)
    rnd = random.Random(7)
    files = sorted(p for p in root.rglob("*.yaml") if p.name != ".wavegate.yaml")
    for _ in range(4):
        path = rnd.choice(files)
        text = path.read_text()
        edit = rnd.randrange(4)
        if edit == 0:
            text = text.replace("namespace: ", "namespace: x", 1)
        elif edit == 1:
            text = text.replace("spec:\n", "spec:\n  unknownField: 1\n", 1)
        elif edit == 2:
            text = text.replace(PRIVILEGED, "privileged: true")
        else:
            text = text.replace("kind: Namespace", "kind: Namespace\n# renamed", 1).replace(
                "name: team-", "name: other-", 1)
        path.write_text(text)
        assert _findings(root) == _without(root, monkeypatch)
