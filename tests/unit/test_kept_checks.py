"""The repository checks' findings kept between runs (wavegate.validators.kept) are the findings
themselves: after each edit, a run with the cache finds exactly what a run without it finds. They
are reused only when no changed file changed what those checks read of it (its type, metadata,
pod template labels), and no kept finding points into a changed file or names it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import finding_rows, validate_corpus, write_repo
from wavegate import pipeline
from wavegate.validators import kept as kept_module

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import corpus  # noqa: E402

# A finding of each repository check, each about objects plain edits can reach.
DEFECTS = {
    # objects: the same ConfigMap twice in one Application's folder (the message names the first's line)
    "apps/app00001/manifests/configmap-copy.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app00001-config-0, namespace: team-app00001}
        data: {k: v}
        """,
    # argocd_application: a namespace nothing creates
    "apps/app00002/manifests/elsewhere.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: elsewhere, namespace: team-nowhere}
        data: {k: v}
        """,
    # argocd_waves: a ConfigMap in a wave before its Namespace's (the finding is the Namespace's);
    # argocd_sync_options: a misspelt option
    "apps/app00000/manifests/early.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: early
          namespace: team-app00000
          annotations:
            argocd.argoproj.io/sync-wave: "-1"
            argocd.argoproj.io/sync-options: Prune=flase
        data: {k: v}
        """,
    # catalog: an entity whose Kubernetes selector matches no object (until one gets the label)
    "catalog/orphan.yaml": """
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: orphan
          annotations:
            backstage.io/kubernetes-label-selector: app.kubernetes.io/name=orphan
        spec: {type: service, lifecycle: experimental, owner: group:default/platform}
        """,
}
RULES = {"object-duplicate", "namespace-not-created", "catalog-kubernetes-selector-matches-nothing",
         "sync-wave-namespace-after-resources", "sync-option-invalid-value"}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    corpus.generate(root, 30)
    write_repo(root, DEFECTS)
    moment = [int(time.time()) - 3600]

    def aged() -> None:
        moment[0] += 1
        for directory, _, names in os.walk(root):
            for name in names:
                os.utime(os.path.join(directory, name), ns=(moment[0] * 10**9, moment[0] * 10**9))

    aged()
    monkeypatch.setattr(pipeline, "_run_store", lambda options: None)  # (no whole-run answers: the checks run)
    reuses: list[bool] = []
    real = kept_module.KeptChecks.reused
    monkeypatch.setattr(kept_module.KeptChecks, "reused", lambda self: (found := real(self), reuses.append(bool(found)))[0])

    def edit(rel: str, old: str, new: str) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        aged()

    cache_dir = tmp_path / "cache"
    first = validate_corpus(root, cache_dir)
    assert RULES <= {f.rule for f in first.findings}
    assert reuses == [False]
    reuses.clear()
    return root, cache_dir, edit, reuses


def test_findings_are_reused_after_edits_the_repository_checks_do_not_read(repo):
    root, cache_dir, edit, reuses = repo
    for rel, old, new in [("apps/app00000/manifests/deployment-0.yaml", "replicas: ", "replicas: 1"),
                          ("apps/app00002/manifests/configmap-1.yaml", "\ndata:\n", "\ndata:\n  added: value\n"),
                          ("apps/app00000/manifests/deployment-1.yaml", "image: ", "image: registry.example.com/")]:
        edit(rel, old, new)
        cached = validate_corpus(root, cache_dir)
        assert reuses[-1] is True, rel
        assert finding_rows(cached) == finding_rows(validate_corpus(root, None)), rel


@pytest.mark.parametrize(("rel", "old", "new"), [
    # the label the orphan entity selects: its finding goes away
    ("apps/app00000/manifests/service.yaml", "app.kubernetes.io/name: app00000\n",
     "app.kubernetes.io/name: orphan\n"),
    # a pod template's labels: read by the catalog too
    ("apps/app00000/manifests/deployment-0.yaml", "      labels:\n        app.kubernetes.io/name: app00000-web\n",
     "      labels:\n        app.kubernetes.io/name: orphan\n"),
    # the namespace nothing created, now created by hand
    ("apps/app00002/manifests/namespace.yaml", "name: team-app00002", "name: team-nowhere"),
    # a duplicate's first definition, edited below its name only: the message names its line
    ("apps/app00001/manifests/configmap-0.yaml", "apiVersion: v1\n", "# moved down one line\napiVersion: v1\n"),
    # metadata no finding reads today: still metadata, which the checks read (names, hooks, tracking)
    ("apps/app00002/manifests/configmap-1.yaml", "metadata:\n", "metadata:\n  generateName: config-\n"),
    # the wave of the ConfigMap that came before its Namespace (named in the Namespace's finding)
    ("apps/app00000/manifests/early.yaml", 'sync-wave: "-1"', 'sync-wave: "-2"'),
    ("apps/app00000/manifests/early.yaml", "Prune=flase", "Prune=false"),
    # the kind changes: a StatefulSet is another object
    ("apps/app00001/manifests/deployment-1.yaml", "kind: Deployment", "kind: StatefulSet"),
    # an Application's destination (Argo CD documents must keep their content)
    ("apps/app00001/argocd/application.yaml", "namespace: team-app00001", "namespace: team-app00002"),
])
def test_findings_are_checked_again_after_edits_they_may_depend_on(repo, rel, old, new):
    root, cache_dir, edit, reuses = repo
    edit(rel, old, new)
    cached = validate_corpus(root, cache_dir)
    assert reuses == [False] or not reuses  # (none kept under a render that changed: nothing to reuse)
    assert finding_rows(cached) == finding_rows(validate_corpus(root, None))


def test_findings_kept_again_work_out_only_the_changed_files_projections(repo, monkeypatch):
    root, cache_dir, edit, reuses = repo
    projected = []
    real = kept_module.projection
    monkeypatch.setattr(kept_module, "projection", lambda rel, *a: projected.append(rel) or real(rel, *a))
    edit("apps/app00000/manifests/service.yaml", "app.kubernetes.io/name: app00000\n", "app.kubernetes.io/name: orphan\n")
    changed = validate_corpus(root, cache_dir)  # not reused: kept again
    assert reuses == [False] and projected == ["apps/app00000/manifests/service.yaml"] * 2  # (compared, then kept)
    projected.clear()
    edit("apps/app00001/manifests/deployment-0.yaml", "replicas: ", "replicas: 1")
    again = validate_corpus(root, cache_dir)
    assert reuses == [False, True] and projected == ["apps/app00001/manifests/deployment-0.yaml"]
    assert finding_rows(again) == finding_rows(validate_corpus(root, None))
    assert "catalog-kubernetes-selector-matches-nothing" not in {f[0] for f in finding_rows(changed)}  # (the label edit counted)
