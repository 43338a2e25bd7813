"""The Argo CD installation's settings wavegate reads: the argocd-cm ConfigMap, or the Argo CD
operator's ArgoCD resource that writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavegate.argocd.settings import argocd_cm
from wavegate.config import Config


def _settings(tmp_path: Path, text: str) -> dict | None:
    (tmp_path / "argocd.yaml").write_text(text)
    return argocd_cm(Config(argocd_config_map="argocd.yaml"), tmp_path)


def test_an_argocd_cm_gives_its_data(tmp_path):
    assert _settings(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\n"
                               "data:\n  kustomize.buildOptions: --enable-helm\n") == {"kustomize.buildOptions": "--enable-helm"}


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_the_operators_argocd_resource_gives_what_the_operator_writes_into_argocd_cm(tmp_path, version):
    found = _settings(tmp_path, f"apiVersion: argoproj.io/{version}\nkind: ArgoCD\nmetadata: {{name: openshift-gitops}}\n"
                                "spec:\n  kustomizeBuildOptions: --enable-helm --load-restrictor LoadRestrictionsNone\n"
                                "  extraConfig:\n    resource.compareoptions: 'ignoreAggregatedRoles: true'\n"
                                "    not.a.string: 3\n")
    assert found == {"kustomize.buildOptions": "--enable-helm --load-restrictor LoadRestrictionsNone",
                     "resource.compareoptions": "ignoreAggregatedRoles: true"}


def test_an_argocd_resource_of_another_group_is_not_read(tmp_path):
    assert _settings(tmp_path, "apiVersion: example.com/v1\nkind: ArgoCD\nmetadata: {name: x}\n"
                               "spec: {kustomizeBuildOptions: --enable-helm}\n") is None
