"""The Argo CD installation's own settings that change how it renders and judges: the argocd-cm
ConfigMap that .wavegate.yaml names (`argocd.configMap`), read through the one loader."""

from __future__ import annotations

from pathlib import Path

from wavegate.load import read_yaml


def argocd_cm_path(config, root: Path) -> Path | None:
    setting = config.argocd_config_map
    if not setting:
        return None
    base = config.path.parent if config.path else root
    return Path(setting) if Path(setting).is_absolute() else base / setting


def argocd_cm(config, root: Path) -> dict | None:
    """The `data` of the configured argocd-cm, or None when none is configured or readable."""
    path = argocd_cm_path(config, root)
    if path is None or not path.is_file():
        return None
    documents, problems = read_yaml(path, rel=config.argocd_config_map)
    if problems:
        return None
    for document in documents:
        data = document.data.get("data")
        if document.data.get("kind") == "ConfigMap" and isinstance(data, dict):
            return data
    return None
