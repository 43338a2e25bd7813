"""Kustomizations read as data: the resources a commented-out entry switches off."""

from __future__ import annotations

from pathlib import Path

from wavegate.render import kustomization as kustomizations


def test_a_commented_out_entry_names_a_switched_off_file_and_nothing_else_does(tmp_path: Path):
    (tmp_path / "apps/argocd").mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text("kind: ConfigMap\n")
    for name in ("on.yaml", "off.yaml", "quoted.yml", "also-listed.yaml", "webhook_patch.yaml"):
        (tmp_path / "apps/argocd" / name).write_text("kind: ConfigMap\n")
    (tmp_path / "apps/kustomization.yaml").write_text(
        "resources:\n"
        "- argocd/on.yaml\n"
        "- argocd/also-listed.yaml\n"
        "#- argocd/off.yaml\n"
        "  #  - 'argocd/quoted.yml'\n"
        "#- argocd/also-listed.yaml\n"
        "#- argocd/missing.yaml\n"
        "#- ../../outside.yaml\n"
        "#- /etc/passwd.yaml\n"
        "#- https://example.com/remote.yaml\n"
        "# - argocd\n"
        "patches:\n"
        "#- path: argocd/webhook_patch.yaml\n"
        "- patch: |-\n"
        "    # - op: add\n"
        "    - op: add\n"
        "      path: /spec/x\n"
        "      value: 1\n")
    found = kustomizations.read(tmp_path, "apps/kustomization.yaml")
    assert found.disabled == ["apps/argocd/off.yaml", "apps/argocd/quoted.yml", "apps/argocd/webhook_patch.yaml"]
    assert set(found.files) == {"apps/argocd/on.yaml", "apps/argocd/also-listed.yaml"}
