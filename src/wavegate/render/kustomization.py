"""Kustomizations read as data: which files and directories one refers to, and its patches.

kustomize itself renders (wavegate.render.kustomize runs the real binary); this module only reads
the kustomization files to know which files are kustomize's inputs (never validated as manifests
themselves), which files a render depends on (the cache key) and where each patch is written
(provenance). Field names follow sigs.k8s.io/kustomize/api/types.Kustomization.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from wavegate.load import Manifest, read_yaml
from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.render.sourcetype import KUSTOMIZATION_NAMES

RESOURCE = "resource"  # a manifest file kustomize reads as resources (or crds)
PATCH = "patch"  # a strategic-merge or JSON 6902 patch file
OTHER = "other"  # generator sources, replacements, transformer configs, openapi, values


@record
class Patch:
    """One patch of a kustomization: in a file of its own or inline in the kustomization."""

    kustomization: str  # repository-relative kustomization file
    index_path: tuple  # where it is written in the kustomization (e.g. ("patches", 2))
    file: str | None  # repository-relative patch file, when not inline
    target: dict  # the selector (kind, name, group, ...), empty for a strategic merge by identity
    json6902: bool | None  # None: decided by the content (patches: may hold either)


@record
class Kustomization:
    """One kustomization file and what it refers to, with positions."""

    file: str  # repository-relative path of the kustomization file
    manifest: Manifest | None  # its parsed document (None when it cannot be read)
    files: dict[str, str] = field(default_factory=dict)  # repository-relative file -> RESOURCE/PATCH/OTHER
    directories: list[str] = field(default_factory=list)  # resources/components/bases that are directories
    remote: list[str] = field(default_factory=list)  # URLs among resources
    chart_repositories: list[str] = field(default_factory=list)  # where helmCharts pulls charts from
    charts: list[str] = field(default_factory=list)  # the folders of the local charts helmCharts inflates
    patches: list[Patch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # files a commented-out list entry names (`#- x.yaml`)

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.file)

    @property
    def data(self) -> dict:
        return self.manifest.data if self.manifest is not None else {}


def find_kustomization(root: Path, rel_dir: str) -> str | None:
    """The repository-relative kustomization file of `rel_dir`, the way kustomize looks for it."""
    for name in KUSTOMIZATION_NAMES:
        candidate = posixpath.join(rel_dir, name) if rel_dir else name
        if (root / candidate).is_file():
            return candidate
    return None


def read(root: Path, rel_file: str) -> Kustomization:
    documents, problems = read_yaml(root / rel_file, rel=rel_file)
    kustomization = Kustomization(file=rel_file, manifest=documents[0] if documents else None)
    if problems:
        kustomization.problems.append(problems[0].message)
    data = kustomization.data
    base = posixpath.dirname(rel_file)

    def join(value) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        return posixpath.normpath(posixpath.join(base, value.strip()))

    def refer(value, role: str) -> None:
        if isinstance(value, str) and _is_remote(value):
            kustomization.remote.append(value)
            return
        target = join(value)
        if target is None or target.startswith("../") or target == "..":
            return
        if (root / target).is_dir():
            kustomization.directories.append(target)
        else:
            kustomization.files.setdefault(target, role)

    for key in ("resources", "bases", "components"):
        for value in _list(data.get(key)):
            refer(value, RESOURCE)
    helm_globals = data.get("helmGlobals")
    chart_home = helm_globals.get("chartHome") if isinstance(helm_globals, dict) else None
    chart_home = chart_home if isinstance(chart_home, str) and chart_home else "charts"
    for chart in _list(data.get("helmCharts")):  # (inflated with --enable-helm; pulled from `repo` when given)
        repo = chart.get("repo") if isinstance(chart, dict) else None
        if isinstance(repo, str) and _is_remote(repo):
            kustomization.chart_repositories.append(repo)
        elif isinstance(chart, dict) and (folder := join(posixpath.join(chart_home, str(chart.get("name") or "")))):
            kustomization.charts.append(folder)
    for value in _list(data.get("crds")):
        refer(value, RESOURCE)
    for i, value in enumerate(_list(data.get("patchesStrategicMerge"))):
        if isinstance(value, str) and "\n" not in value and (joined := join(value)) and (root / joined).is_file():
            refer(value, PATCH)
            kustomization.patches.append(Patch(rel_file, ("patchesStrategicMerge", i), joined, {}, False))
        else:  # an inline patch
            kustomization.patches.append(Patch(rel_file, ("patchesStrategicMerge", i), None, {}, False))
    for i, entry in enumerate(_list(data.get("patchesJson6902"))):
        if isinstance(entry, dict):
            file = join(entry.get("path"))
            if file:
                refer(entry.get("path"), PATCH)
            kustomization.patches.append(Patch(rel_file, ("patchesJson6902", i), file,
                                               _dict(entry.get("target")), True))
    for i, entry in enumerate(_list(data.get("patches"))):
        if isinstance(entry, dict):
            file = join(entry.get("path"))
            if file:
                refer(entry.get("path"), PATCH)
            kustomization.patches.append(Patch(rel_file, ("patches", i), file, _dict(entry.get("target")), None))
    for key in ("configMapGenerator", "secretGenerator"):
        for entry in _list(data.get(key)):
            if not isinstance(entry, dict):
                continue
            for value in _list(entry.get("files")):
                if isinstance(value, str):
                    refer(value.split("=", 1)[-1], OTHER)
            for value in _list(entry.get("envs")) + _list(entry.get("env")):
                refer(value, OTHER)
    for entry in _list(data.get("replacements")):
        if isinstance(entry, dict):
            refer(entry.get("path"), OTHER)
    for key in ("transformers", "generators", "validators", "configurations"):
        for value in _list(data.get(key)):
            if isinstance(value, str) and "\n" not in value:
                refer(value, OTHER)
    openapi = data.get("openapi")
    if isinstance(openapi, dict):
        refer(openapi.get("path"), OTHER)
    for entry in _list(data.get("helmCharts")):
        if isinstance(entry, dict):
            refer(entry.get("valuesFile"), OTHER)
            for value in _list(entry.get("additionalValuesFiles")):
                refer(value, OTHER)
    kustomization.disabled = [rel for rel in _commented_out(root, rel_file) if rel not in kustomization.files]
    return kustomization


# A list entry turned into a comment: `#- argocd/app.yaml`, `# - ./app.yaml`, `#- path: patch.yaml`
# (kubebuilder's scaffolds switch their webhook and cert-manager patches off so).
_COMMENTED_ENTRY = lazy_compile(rb"^[ \t]*#+[ \t]*-[ \t]+(?:path:[ \t]*)?['\"]?([^\s#'\"]+)['\"]?[ \t]*$", re.MULTILINE)


def _commented_out(root: Path, rel_file: str) -> list[str]:
    """The manifest files (YAML or JSON, inside the repository) that a commented-out list entry of
    the kustomization names: a resource switched off on purpose, which no build reads."""
    try:
        text = (root / rel_file).read_bytes()
    except OSError:
        return []
    base = posixpath.dirname(rel_file)
    found = []
    for match in _COMMENTED_ENTRY.finditer(text):
        value = match.group(1).decode("utf-8", "replace")
        if not value.endswith((".yaml", ".yml", ".json")) or value.startswith("/") or _is_remote(value):
            continue
        target = posixpath.normpath(posixpath.join(base, value))
        if not target.startswith("../") and target != ".." and (root / target).is_file():
            found.append(target)
    return found


@record
class Closure:
    """Every kustomization a build reads, starting from one, and every file they refer to."""

    root: Kustomization
    kustomizations: dict[str, Kustomization] = field(default_factory=dict)  # by file
    files: dict[str, str] = field(default_factory=dict)  # file -> role
    remote: list[str] = field(default_factory=list)

    @property
    def patches(self) -> list[Patch]:
        return [p for k in self.kustomizations.values() for p in k.patches]

    @property
    def reached(self) -> list[str]:
        """What the build fetches over the network: remote resources, chart repositories."""
        return [*self.remote, *(repo for k in self.kustomizations.values() for repo in k.chart_repositories)]


def closure(root: Path, rel_file: str, cache: dict[str, Kustomization] | None = None) -> Closure:
    cache = {} if cache is None else cache
    first = read_cached(root, rel_file, cache)
    result = Closure(root=first)
    pending = [first]
    while pending:
        current = pending.pop()
        if current.file in result.kustomizations:
            continue
        result.kustomizations[current.file] = current
        for file, role in current.files.items():
            result.files.setdefault(file, role)
        result.remote.extend(current.remote)
        for directory in current.directories:
            found = find_kustomization(root, directory)
            if found and found not in result.kustomizations:
                pending.append(read_cached(root, found, cache))
    return result


def read_cached(root: Path, rel_file: str, cache: dict[str, Kustomization]) -> Kustomization:
    if rel_file not in cache:
        cache[rel_file] = read(root, rel_file)
    return cache[rel_file]


def _is_remote(value: str) -> bool:
    text = value.strip()
    return ("://" in text or text.startswith(("git@", "github.com/", "gitlab.com/", "bitbucket.org/"))
            or "?ref=" in text or "//" in text.split("?")[0].lstrip("/"))


def _list(value) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    return []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}
