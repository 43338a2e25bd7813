"""The items of one `kind: List` document share the document's index; everything that tells
written objects apart (the dry-run's plan of Argo CD objects, the cache of per-object results,
the search for an Application's sync set) tells them apart by Manifest.document_id."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_repo
from wavegate import pipeline
from wavegate.dryrun.plan import argocd_plan
from wavegate.load import load

pytestmark = pytest.mark.usefixtures("both_loaders")

REPO_URL = "https://gitlab.example.com/team/app.git"
APPS = f"""\
apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: AppProject
  metadata: {{name: team, namespace: argocd}}
  spec:
    sourceRepos: ['*']
    destinations: [{{server: https://kubernetes.default.svc, namespace: '*'}}]
- apiVersion: argoproj.io/v1alpha1
  kind: Application
  metadata: {{name: web, namespace: argocd}}
  spec:
    project: team
    source: {{repoURL: {REPO_URL}, path: manifests, targetRevision: main}}
    destination: {{server: https://kubernetes.default.svc, namespace: web}}
"""
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\ndata: {a: b}\n"


def test_each_item_of_a_list_is_a_document_of_its_own(tmp_path):
    root = write_repo(tmp_path, {"apps.yaml": APPS})
    project, app = load(root).manifests
    assert (project.doc_index, app.doc_index) == (0, 0)
    assert (project.document_id, app.document_id) == (("apps.yaml", 0, 0), ("apps.yaml", 0, 1))
    assert not app.is_copy_of(project)


def test_the_dry_run_applies_every_argo_cd_object_of_a_list(tmp_path):
    root = write_repo(tmp_path, {"apps.yaml": APPS, "manifests/cm.yaml": CONFIG_MAP})
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root, repo_url=REPO_URL, cache=False)))
    plan = argocd_plan(run.ctx)
    assert plan is not None
    assert [(t.manifest.kind, t.manifest.name) for s in plan.steps for t in s.tasks] == \
        [("AppProject", "team"), ("Application", "web")]
    [app] = run.ctx.applications
    assert [m.name for m in run.ctx.objects_of(app)] == ["c"]


def test_the_items_of_a_list_are_cached_each_under_its_own_key(tmp_path: Path):
    root = write_repo(tmp_path / "repo", {"apps.yaml": APPS, "manifests/cm.yaml": CONFIG_MAP})
    options = pipeline.Options(root=root, repo_url=REPO_URL, cache_dir=tmp_path / "cache")
    pipeline.validate(options)  # (fills the parse cache: the second run loads the list from it)
    run = pipeline.render(pipeline.prepare(options))
    keys = [run.ctx.results.key(m) for m in run.repo.manifests if m.path == "apps.yaml"]
    assert len(keys) == 2 and None not in keys and len(set(keys)) == 2
