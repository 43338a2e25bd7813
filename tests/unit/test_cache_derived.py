"""What a run derives from inputs that seldom change is kept between runs (wavegate.cache.derived):
the CRD kro generates from an RGD, a policy's combined expression, Kubernetes' definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import check_repo, write_repo
from wavegate import cache as cache_module
from wavegate.cache import Cache, derived, keep_derived
from wavegate.load import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kept(tmp_path):
    keep_derived(Cache(tmp_path / "cache"))
    yield tmp_path / "cache"
    keep_derived(None)


def test_worked_out_once_per_inputs_and_kept_between_processes(kept):
    calls = []

    def compute(value):
        calls.append(value)
        return {"value": value, "list": [1, 2.5, None]}

    assert derived("thing", ("a", 1), lambda: compute("a")) == {"value": "a", "list": [1, 2.5, None]}
    assert derived("thing", ("a", 1), lambda: compute("again")) == {"value": "a", "list": [1, 2.5, None]}
    assert derived("thing", ("a", 2), lambda: compute("b"))["value"] == "b"  # other inputs
    assert derived("other", ("a", 1), lambda: compute("c"))["value"] == "c"  # another kind
    assert derived("none", (), lambda: None) is None and derived("none", (), lambda: 1) is None  # None is kept
    assert calls == ["a", "b", "c"]
    assert any((kept / "derived").rglob("*.marshal"))


def test_without_a_kept_cache_or_plain_data_it_is_worked_out_each_time(kept):
    class Opaque:
        pass

    made = []
    derived("opaque", (), lambda: made.append(Opaque()) or made[-1])
    derived("opaque", (), lambda: made.append(Opaque()) or made[-1])
    assert len(made) == 2  # (not plain data: nothing is kept)
    keep_derived(None)
    assert derived("thing", ("x",), lambda: 1) == 1 and derived("thing", ("x",), lambda: 2) == 2
    keep_derived(Cache(None))  # (a cache turned off)
    assert derived("thing", ("x",), lambda: 3) == 3


def test_the_crd_of_an_rgd_is_the_same_from_the_cache(kept, monkeypatch):
    from wavegate.schemas import store

    rgd = load(ROOT / "templates" / "kro", exclude=()).by_kind("ResourceGraphDefinition")[0]
    fresh = store._generate_crd(rgd)
    assert store.generate_crd(rgd) == fresh
    monkeypatch.setattr(store, "_generate_crd", lambda manifest: pytest.fail("generated again"))
    assert store.generate_crd(rgd) == fresh and fresh[0] is not None


def test_findings_are_the_same_with_the_derived_data_kept(tmp_path, monkeypatch):
    root = write_repo(tmp_path / "repo", {
        "platform/rgd.yaml": (ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml").read_text(),
        "app/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
                               "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
                               "    metadata: {labels: {app: web}}\n"
                               "    spec: {containers: [{name: web, image: 'web:1', securityContext: {privileged: true}}]}\n"})
    monkeypatch.setenv("WAVEGATE_CACHE_DIR", str(tmp_path / "cache"))
    check_repo(root)
    assert any((tmp_path / "cache" / "derived").rglob("*.marshal"))  # (kept by the first run: the RGD's CRD)
    (root / "app" / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")
    with_kept = check_repo(root)  # (not the last run's inputs: worked through, with what was kept)
    monkeypatch.setenv("WAVEGATE_CACHE_DIR", str(tmp_path / "other-cache"))
    assert with_kept == check_repo(root) and any(f.rule.startswith("policy-") for f in with_kept)
    assert cache_module._derived_cache is None  # (the run let go of its cache)
