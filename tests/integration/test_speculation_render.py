"""Checks judged ahead while the repository renders (wavegate.speculation) beside what the real
kustomize renders: the objects a kustomization makes from a document (patched, or unchanged) are
judged as rendered, never by the document's speculated results."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from wavegate import pipeline, speculation
from wavegate.tools import find_tool

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import corpus

pytestmark = pytest.mark.integration
SHOP = REPO_ROOT / "tests" / "fixtures" / "render" / "kustomize-overlays"


def _findings(root: Path) -> list[tuple]:
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root, schemas=(str(corpus.rgd_path()),),
                                                            cache=False)))
    used = run.ctx.speculation is not None
    return used, sorted((f.rule, f.severity, f.path, f.line, f.column, f.message, f.hint, str(f.resource), f.field,
                         f.application) for f in pipeline.finish(run, pipeline.check(run)))


def test_kustomize_output_is_judged_as_rendered_beside_speculated_documents(tmp_path, monkeypatch):
    for name in ("kustomize", "kustomize-batch"):
        find_tool(name)  # (missing: the test fails, never skips)
    monkeypatch.setattr(speculation, "MIN_DOCUMENTS", 50)
    monkeypatch.setattr(speculation, "CHUNK_DOCUMENTS", 9)
    root = tmp_path / "repo"
    corpus.generate(root, 200, defects=0.2)
    for part in ("argocd", "base", "overlays", "components"):
        shutil.copytree(SHOP / part, root / "shop" / part)
    for app in (root / "shop/argocd").glob("*.yaml"):
        app.write_text(app.read_text().replace("https://gitlab.example.com/team/shop.git", corpus.REPO_URL)
                       .replace("path: overlays/", "path: shop/overlays/"))
    deployment = root / "shop/base/deployment.yaml"  # (kustomize patches it in prod, keeps it in dev)
    deployment.write_text(deployment.read_text().replace("  replicas: 1\n", "  replicas: 1\n  replica: 2\n")
                          .replace("          image:", "          securityContext: {privileged: true}\n          image:"))
    patch = root / "shop/overlays/prod/resources.yaml"
    patch.write_text(patch.read_text().replace("  replicas: 3", '  replicas: "three"'))
    # A Namespace whose labels kustomize sets (the pod-security level of what lands in it), and a
    # Deployment written as is into it: the document is speculated, its Namespace is rendered.
    files = {
        "shop/secure/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: secure}\n",
        "shop/secure/kustomization.yaml": "resources: [namespace.yaml]\nlabels:\n  - pairs:\n"
                                          "      pod-security.kubernetes.io/enforce: restricted\n",
        "shop/plain/deployment.yaml": (SHOP / "base/deployment.yaml").read_text().replace(
            "  name: shop\n", "  name: plain\n  namespace: secure\n", 1),
    }
    for name, path in (("secure", "shop/secure"), ("plain", "shop/plain")):
        files[f"shop/argocd/{name}.yaml"] = (root / "shop/argocd/dev.yaml").read_text().replace(
            "name: shop-dev", f"name: shop-{name}").replace("path: shop/overlays/dev", f"path: {path}")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setenv("WAVEGATE_CHECK_WORKERS", "1")
    used, without = _findings(root)
    assert not used
    rules = {f[0] for f in without if f[2].startswith("shop/")}
    assert {"schema-unknown-field", "schema-invalid-type", "policy-violation"} <= rules
    assert any("restricted" in f[5] for f in without if f[2] == "shop/plain/deployment.yaml")
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS")
    used, found = _findings(root)
    assert used and found == without
