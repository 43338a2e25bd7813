"""A render replayed from the cache (wavegate.render.replay) is the render itself: after each edit,
a run with the cache gives the same sync sets (names, Applications, parents, sources, problems,
and each object's document, data and Application) as a run without it. It is replayed only when
every changed file kept what Argo CD's directory reader decides from it, and kept only when the
render read plain directories alone."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import write_repo
from wavegate import pipeline
from wavegate.render import replay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import corpus  # noqa: E402

# An app-of-apps: the parent syncs a folder of Applications, each rendered in turn (its sync set's
# Application is the parent's copy of the document).
APP_OF_APPS = {
    "platform/parent.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: platform, namespace: argocd}
        spec:
          project: default
          source: {repoURL: https://gitlab.example.com/platform/corpus.git, targetRevision: main, path: platform/apps}
          destination: {server: https://kubernetes.default.svc, namespace: argocd}
        """,
    "platform/apps/child.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: child, namespace: argocd}
        spec:
          project: default
          source: {repoURL: https://gitlab.example.com/platform/corpus.git, targetRevision: main, path: platform/child}
          destination: {server: https://kubernetes.default.svc, namespace: child}
        """,
    "platform/child/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: child}\ndata: {k: v}\n",
    "platform/child/notes.yaml": "just: data\n",  # (no kind: Argo CD skips it)
    "loose/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loose}\ndata: {k: v}\n",  # a root
}


def _rendering(root: Path, cache_dir: Path | None):
    run = pipeline.Options(root=root, schemas=(str(corpus.rgd_path()),), cache_dir=cache_dir, cache=cache_dir is not None)
    return pipeline.render(pipeline.prepare(run)).rendering


def _described(rendering) -> tuple:
    sets = rendering.sync_sets
    where = {id(s): i for i, s in enumerate(sets)}

    def app(a):
        return None if a is None else (a.name, a.manifest.document_id)

    return ([(s.name, app(s.app), s.synced, s.sources, s.problems, where.get(id(s.parent)),
              [(m.document_id, m.data, app(m.app)) for m in s.objects],
              [(m.document_id, m.data, app(m.app)) for m in s.untyped]) for s in sets],
            rendering.inputs, rendering.problems)


def _aged(root: Path, moment: int) -> None:
    for directory, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(directory, name), ns=(moment * 10**9, moment * 10**9))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A corpus with an app-of-apps and a root, rendered once with the cache; `replays` notes what
    each later render did: True replayed, False rendered."""
    root = tmp_path / "repo"
    corpus.generate(root, 30)
    write_repo(root, APP_OF_APPS)
    moment = [int(time.time()) - 3600]
    _aged(root, moment[0])
    replays: list[bool] = []
    real = replay.replayed
    monkeypatch.setattr(replay, "replayed", lambda *a: replays.append((kept := real(*a)) is not None) or kept)

    def edit(rel: str, old: str, new: str) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        moment[0] += 1
        _aged(root, moment[0])

    cache_dir = tmp_path / "cache"
    _rendering(root, cache_dir)
    assert not any(replays)  # (nothing kept yet: no replay)
    replays.clear()
    return root, cache_dir, edit, replays


def test_a_render_after_plain_manifests_changed_is_replayed_and_is_the_render(repo):
    root, cache_dir, edit, replays = repo
    for rel, old, new, where, value in [
            ("apps/app00001/manifests/deployment-0.yaml", "replicas: ", "replicas: 1", ("spec", "replicas"), None),
            ("apps/app00002/manifests/service.yaml", "name: ", "name: renamed-", ("metadata", "name"), "renamed-app00002-web"),
            ("platform/child/config.yaml", "k: v", "k: changed", ("data", "k"), "changed"),
            ("loose/extra.yaml", "k: v", "k: w", ("data", "k"), "w")]:
        before = next(m for m in _rendering(root, None).objects() if m.path == rel).get(*where)
        edit(rel, old, new)
        replayed = _rendering(root, cache_dir)
        assert replays[-1] is True, rel
        fresh = _rendering(root, None)
        assert _described(replayed) == _described(fresh), rel
        assert [s.name for s in replayed.sync_sets if s.parent is not None] == ["child"]
        changed = next(m for m in replayed.objects() if m.path == rel).get(*where)
        assert changed != before and (value is None or changed == value), rel  # (this run's object, not the kept one's)


@pytest.mark.parametrize(("rel", "old", "new"), [
    ("apps/app00001/manifests/deployment-0.yaml", "kind: Deployment", "kind: StatefulSet"),  # another kind
    ("apps/app00001/manifests/configmap-0.yaml", "data:", "broken: [\ndata:"),  # does not parse
    ("apps/app00001/manifests/configmap-0.yaml", "apiVersion: v1\n", "apiVersion: v1\n---\n"),  # two documents
    ("apps/app00001/manifests/configmap-0.yaml", "apiVersion: v1\n", "# +argocd:skip-file-rendering\napiVersion: v1\n"),
    ("apps/app00001/manifests/configmap-0.yaml", "kind: ConfigMap", "kind: 5"),  # no kind Argo CD can decode
    ("apps/app00001/argocd/application.yaml", "path: apps/app00001/manifests", "path: apps/app00002/manifests"),
    ("platform/apps/child.yaml", "namespace: child", "namespace: other"),  # an Application in a sync
    ("platform/child/notes.yaml", "just: data", "kind: Note"),  # a skipped file, now a document with a kind
])
def test_a_render_is_not_replayed_when_a_changed_file_may_render_otherwise(repo, rel, old, new):
    root, cache_dir, edit, replays = repo
    edit(rel, old, new)
    rendered = _rendering(root, cache_dir)
    assert replays == [False]
    assert _described(rendered) == _described(_rendering(root, None))


def test_a_file_added_or_removed_changes_the_listing_and_the_render_is_not_replayed(repo):
    root, cache_dir, edit, replays = repo
    (root / "apps/app00001/manifests/extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: team-app00001}\n")
    added = _rendering(root, cache_dir)
    (root / "apps/app00002/manifests/service.yaml").unlink()
    removed = _rendering(root, cache_dir)
    assert not any(replays)  # (another listing: nothing kept under its key)
    assert any(m.path == "apps/app00001/manifests/extra.yaml" for m in added.objects())
    assert not any(m.path == "apps/app00002/manifests/service.yaml" for m in removed.objects())


def test_a_render_that_read_more_than_plain_directories_is_not_kept(tmp_path, monkeypatch):
    kept = []
    monkeypatch.setattr(replay, "keep", lambda *a: kept.append(a))
    plain = write_repo(tmp_path / "plain", {"a/cm.yaml": APP_OF_APPS["platform/child/config.yaml"]})
    _rendering(plain, tmp_path / "cache-plain")
    assert len(kept) == 1
    # A jsonnet file is evaluated: its text is no loaded document whose change the replay would see.
    jsonnet = write_repo(tmp_path / "jsonnet", {
        "a/cm.yaml": APP_OF_APPS["platform/child/config.yaml"],
        "b/main.jsonnet": '{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "j"}}\n',
    })
    assert any(m.path == "b/main.jsonnet" for m in _rendering(jsonnet, tmp_path / "cache-jsonnet").objects())
    assert len(kept) == 1
    _rendering(plain, None)  # (no cache: nothing to keep in)
    assert len(kept) == 1


def test_a_render_kept_again_works_out_only_the_changed_files_shapes(repo, monkeypatch):
    root, cache_dir, edit, replays = repo
    shaped = []
    real = replay.shape
    monkeypatch.setattr(replay, "shape", lambda rel, *a: shaped.append(rel) or real(rel, *a))
    edit("apps/app00001/manifests/deployment-0.yaml", "kind: Deployment", "kind: StatefulSet")
    _rendering(root, cache_dir)  # not replayed: rendered and kept again
    assert replays == [False] and shaped == ["apps/app00001/manifests/deployment-0.yaml"] * 2  # (compared, then kept)
    shaped.clear()
    edit("apps/app00001/manifests/deployment-1.yaml", "replicas: ", "replicas: 1")
    replayed = _rendering(root, cache_dir)
    assert replays == [False, True] and shaped == ["apps/app00001/manifests/deployment-1.yaml"]
    assert _described(replayed) == _described(_rendering(root, None))
