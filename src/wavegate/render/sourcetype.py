"""Which tool renders a source, decided as Argo CD's repo-server decides it.

Argo CD (reposerver/repository.go GetAppSourceType, util/app/discovery):
1. `.argocd-source.yaml` and `.argocd-source-<app>.yaml` in the source directory are merged into
   the source (a JSON merge patch; path, repoURL, chart and targetRevision stay as written);
2. an explicit `kustomize`, `helm`, `directory` or `plugin` block decides (two of them are the
   error "multiple application sources defined");
3. otherwise the files directly in the directory decide: a kustomization file (kustomization.yaml,
   kustomization.yml or Kustomization) means Kustomize, a file whose name ends in Chart.yaml means
   Helm (Kustomize wins when both are there), anything else is a plain directory.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from wavegate.render.model import DIRECTORY, HELM, KUSTOMIZE, PLUGIN

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
REPO_SOURCE_FILE = ".argocd-source.yaml"
APP_SOURCE_FILE = ".argocd-source-{}.yaml"
_EXPLICIT = (("kustomize", KUSTOMIZE), ("helm", HELM), ("directory", DIRECTORY), ("plugin", PLUGIN))
_KEPT = ("chart", "path", "repoURL", "targetRevision")


class SourceTypeError(ValueError):
    """The source names more than one tool, as Argo CD refuses."""


def explicit_type(raw: dict) -> str | None:
    """The type a source names itself, or None. A block written as `null` names nothing."""
    found = [kind for key, kind in _EXPLICIT if raw.get(key) is not None]
    if len(found) > 1:
        raise SourceTypeError(f"multiple application sources defined: {','.join(found)}")
    return found[0] if found else None


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def discovered_type(directory: Path, files: list[str] | None = None) -> str:
    """Argo CD's discovery of a directory with no explicit type (files directly in it only)."""
    if files is not None:
        names = files
    else:
        try:
            names = [entry.name for entry in directory.iterdir() if entry.is_file()]
        except OSError:
            return DIRECTORY
    if any(name in KUSTOMIZATION_NAMES for name in names):
        return KUSTOMIZE
    if any(name.endswith("Chart.yaml") for name in names):
        return HELM
    return DIRECTORY


def source_type(raw: dict, directory: Path, files: list[str] | None = None) -> str:
    """`files`: the names of the files directly in `directory`, when already known."""
    return explicit_type(raw) or discovered_type(directory, files)


def with_overrides(raw: dict, directory: Path, app_name: str, read_yaml,
                   files: list[str] | None = None) -> tuple[dict, list[str]]:
    """The source after Argo CD merges the override files of its directory into it, and the
    repository-relative names of the files that were merged. `read_yaml(path)` returns the
    file's one document as data (wavegate.load does the reading). `files`: the names of the files
    directly in `directory`, when already known."""
    names = [name for name in (REPO_SOURCE_FILE, APP_SOURCE_FILE.format(app_name))
             if (name in files if files is not None else (directory / name).is_file())]
    if not names:  # (most sources: nothing to copy)
        return raw, []
    merged = copy.deepcopy(raw)
    used = []
    for name in names:
        patch = read_yaml(directory / name)
        if patch is None:
            continue
        merged = merge_patch(merged, patch)
        used.append(name)
    if not used:
        return raw, []
    for key in _KEPT:  # only the tools' options may be overridden
        if key in raw:
            merged[key] = raw[key]
        else:
            merged.pop(key, None)
    return merged, used


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (what Argo CD applies with jsonpatch.MergePatch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def envsubst(text: str, env: dict[str, str]) -> str:
    """Go's os.Expand with Argo CD's mapping (util Env.Envsubst): `$NAME` and `${NAME}` become the
    variable's value or nothing, `$$` is a dollar sign; invalid syntax is eaten, as Go does."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    j = 0
    while j < len(text):
        if text[j] == "$" and j + 1 < len(text):
            out.append(text[i:j])
            name, width = _shell_name(text[j + 1:])
            if name == "" and width > 0:
                pass  # invalid syntax: eaten
            elif name == "":
                out.append("$")
            else:
                out.append("$" if name == "$" else env.get(name, ""))
            j += width
            i = j + 1
        j += 1
    return "".join(out) + text[i:]


def _special(char: str) -> bool:
    return char in "*#$@!?-" or char.isdigit() and char.isascii()


def _shell_name(rest: str) -> tuple[str, int]:
    if rest[0] == "{":
        if len(rest) > 2 and _special(rest[1]) and rest[2] == "}":
            return rest[1], 3
        for k in range(1, len(rest)):
            if rest[k] == "}":
                return ("", 2) if k == 1 else (rest[1:k], k + 1)
        return "", 1
    if _special(rest[0]):
        return rest[0], 1
    k = 0
    while k < len(rest) and (rest[k] == "_" or rest[k].isascii() and rest[k].isalnum()):
        k += 1
    return rest[:k], k


def build_env(app_name: str, namespace: str, project: str, repo_url: str, path: str, target_revision: str,
              revision: str) -> dict[str, str]:
    """The build environment Argo CD gives tools and substitutions (reposerver newEnv)."""
    return {
        "ARGOCD_APP_NAME": app_name,
        "ARGOCD_APP_NAMESPACE": namespace,
        "ARGOCD_APP_PROJECT_NAME": project,
        "ARGOCD_APP_REVISION": revision,
        "ARGOCD_APP_REVISION_SHORT": revision[:7],
        "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": repo_url,
        "ARGOCD_APP_SOURCE_PATH": path,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": target_revision,
    }


def dumps_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
