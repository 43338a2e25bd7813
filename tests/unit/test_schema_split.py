"""The schema check and schema_kubernetes share the objects between them: each object is judged by
exactly one, the way the schema check alone judged every one, so their findings together are
what it found (each runs in either process of the checks: validators._run_checks)."""

from __future__ import annotations

from collections import Counter

from tests.helpers import widget_crd, write_repo
from wavegate import pipeline
from wavegate.findings import Finding
from wavegate.schemas.store import store_for
from wavegate.validators import schema, schema_kubernetes

FILES = {
    "crd.yaml": widget_crd("type: object\nproperties: {size: {type: integer}}"),
    "widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big, colour: red}\n",
    "deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: two
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: nginx, imagePullPolcy: Always}]}
        """,
    "config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n",
    "app.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a, namespace: argocd}
        spec:
          project: default
          source: {repoURL: https://gitlab.example.com/team/app.git, path: ., targetRevision: main}
          destination: {server: https://kubernetes.default.svc, namespace: team}
          syncPolicy: {automated: {prune: yes}}
        """,
    "unknown.yaml": "apiVersion: example.com/v2\nkind: Gadget\nmetadata: {name: g}\n",
    "old.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\n",
}


def _run(root):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root, cache=False)))
    assert run.repo is not None and run.ctx is not None
    return run.repo, run.ctx


def _key(finding: Finding) -> tuple:
    return (finding.rule, finding.path, finding.line, finding.column, finding.message)


def test_every_object_is_judged_by_exactly_one_of_them(tmp_path, monkeypatch):
    repo, ctx = _run(write_repo(tmp_path, FILES))
    judged: Counter = Counter()
    real = schema.check_manifest
    monkeypatch.setattr(schema, "check_manifest", lambda store, m, *a: judged.update([id(m)]) or real(store, m, *a))
    together = [*schema.check(repo, ctx), *schema_kubernetes.check(repo, ctx)]
    assert sorted(judged.values()) == [1] * len(repo.manifests)

    store = store_for(ctx)
    alone = [f for m in repo.manifests for f in real(store, m)] + list(schema.schema_findings(store))
    assert sorted(map(_key, together)) == sorted(map(_key, alone))
    rules = {f.rule for f in together}
    assert {"schema-invalid-type", "schema-unknown-field", "schema-unknown-kind"} <= rules
    kubernetes_own = schema.kubernetes_own(store)
    assert {m.kind for m in repo.manifests if kubernetes_own(m)} == {"Deployment", "ConfigMap", "CustomResourceDefinition"}


def test_with_kubeconform_the_schema_check_judges_every_object(tmp_path):
    repo, ctx = _run(write_repo(tmp_path, FILES))
    ctx.engine = "kubeconform"
    assert list(schema_kubernetes.check(repo, ctx)) == []
