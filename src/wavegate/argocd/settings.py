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
    return read_argocd_cm(config, root)[0]


def read_argocd_cm(config, root: Path) -> tuple[dict | None, str | None]:
    """(the `data` of the configured argocd-cm, None), or (None, why there is none to read).

    The file may hold the Argo CD operator's `ArgoCD` resource instead (OpenShift GitOps configures
    Argo CD that way): what the operator writes into argocd-cm is read from it, spec.extraConfig as
    it is, spec.kustomizeBuildOptions as kustomize.buildOptions and each of
    spec.resourceHealthChecks as a resource.customizations.health.<group>_<kind> key."""
    setting = config.argocd_config_map
    path = argocd_cm_path(config, root)
    if path is None:
        return None, "no argocd-cm is configured (argocd.configMap in .wavegate.yaml)"
    if not path.is_file():
        return None, f"the configured argocd-cm {setting} does not exist"
    documents, problems = read_yaml(path, rel=setting)
    if problems:
        return None, f"the configured argocd-cm {setting} cannot be read ({problems[0].message})"
    for document in documents:
        data = document.data.get("data")
        if document.data.get("kind") == "ConfigMap" and isinstance(data, dict):
            return data, None
        if document.data.get("kind") == "ArgoCD" and str(document.data.get("apiVersion", "")).startswith("argoproj.io/"):
            return _operator_settings(document.data.get("spec")), None
    return None, f"the configured argocd-cm {setting} holds neither a ConfigMap with data nor an ArgoCD resource"


def _operator_settings(spec) -> dict:
    spec = spec if isinstance(spec, dict) else {}
    extra = spec.get("extraConfig")
    data = {key: value for key, value in extra.items() if isinstance(value, str)} if isinstance(extra, dict) else {}
    if isinstance(spec.get("kustomizeBuildOptions"), str):
        data["kustomize.buildOptions"] = spec["kustomizeBuildOptions"]
    checks = spec.get("resourceHealthChecks")
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and isinstance(check.get("kind"), str) and isinstance(check.get("check"), str):
            group = f"{check['group']}_" if isinstance(check.get("group"), str) and check["group"] else ""
            data[f"resource.customizations.health.{group}{check['kind']}"] = check["check"]
    return data
