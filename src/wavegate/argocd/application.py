"""Argo CD Applications as wavegate reads them: sources, destination, sync policy, and which of
the repository's manifests each one syncs (a plain directory source, rendered as Argo CD does)."""

from __future__ import annotations

import bisect
import fnmatch
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from wavegate.argocd.model import ARGOCD_GROUP, option_set, split_options
from wavegate.load import Manifest, Repo


@dataclass(frozen=True)
class Source:
    index: int | None  # None for `spec.source`, i for `spec.sources[i]`
    repo_url: str
    path: str | None
    target_revision: str | None
    recurse: bool
    include: str | None
    exclude: str | None
    is_directory: bool  # not Helm, Kustomize or a plugin

    @property
    def yaml_path(self) -> tuple:
        return ("spec", "source") if self.index is None else ("spec", "sources", self.index)


@dataclass(frozen=True)
class Application:
    manifest: Manifest

    @classmethod
    def all_in(cls, repo: Repo) -> list["Application"]:
        return [cls(m) for m in repo.manifests if is_application(m)]

    @property
    def name(self) -> str:
        return self.manifest.name or ""

    @property
    def sources(self) -> list[Source]:
        spec = self.manifest.get("spec", default={}) or {}
        found: list[Source] = []
        if isinstance(spec.get("source"), dict):
            found.append(_source(None, spec["source"]))
        for i, source in enumerate(spec.get("sources") or []):
            if isinstance(source, dict):
                found.append(_source(i, source))
        return found

    @property
    def destination_namespace(self) -> str | None:
        value = self.manifest.get("spec", "destination", "namespace")
        return value if isinstance(value, str) and value else None

    @property
    def destination_cluster(self) -> str | None:
        """The destination cluster as written (`server`, else `name`): two Applications with
        different values may deploy the same object to different clusters."""
        destination = self.manifest.get("spec", "destination")
        if not isinstance(destination, dict):
            return None
        for key in ("server", "name"):
            value = destination.get(key)
            if isinstance(value, str) and value:
                return value.rstrip("/")
        return None

    @property
    def sync_options(self) -> dict[str, str]:
        return option_set(split_options(self.manifest.get("spec", "syncPolicy", "syncOptions", default=[])))

    @property
    def automated(self) -> dict | None:
        policy = self.manifest.get("spec", "syncPolicy")
        if not isinstance(policy, dict) or "automated" not in policy:
            return None
        automated = policy.get("automated")
        return automated if isinstance(automated, dict) else {}

    @property
    def self_heal(self) -> bool:
        automated = self.automated
        return bool(automated and automated.get("selfHeal") is True)

    @property
    def creates_namespace(self) -> bool:
        return self.sync_options.get("CreateNamespace") == "true"

    def resources(self, repo: Repo, this_repo_url: str | None,
                  documents: list[Manifest] | None = None, index: "DirectoryIndex | None" = None) -> list[Manifest]:
        """The manifests of `repo` (or the given `documents` of it) this Application syncs, from its
        directory sources in this repository. `index` (a DirectoryIndex of those same manifests)
        gives the same answer without scanning every manifest, for callers that ask for many
        Applications."""
        selected: list[Manifest] = []
        for source in self.sources:
            if not source.is_directory or source.path is None:
                continue
            if this_repo_url and not same_repository(source.repo_url, this_repo_url):
                continue
            candidates = (index.under(source.path, source.recurse) if index is not None
                          else repo.manifests if documents is None else documents)
            selected.extend(m for m in candidates if in_source(m.path, source))
        return selected


class DirectoryIndex:
    """Manifests grouped by the directory of their file, in their original order: the manifests
    a directory source can read are those of its directory (and, with recurse, of the ones below),
    so selecting them need not look at every manifest of the repository."""

    def __init__(self, manifests: list[Manifest]):
        self._by_dir: dict[str, list[tuple[int, Manifest]]] = {}
        for position, manifest in enumerate(manifests):
            self._by_dir.setdefault(manifest.path.rpartition("/")[0], []).append((position, manifest))
        self._dirs = sorted(self._by_dir)

    def under(self, base: str, recurse: bool) -> list[Manifest]:
        """A superset of what in_source() accepts for a source at `base`, in the original order."""
        if not recurse:
            return [m for _, m in self._by_dir.get(base, ())]
        if not base:
            dirs = self._dirs
        else:
            prefix = base + "/"
            start = bisect.bisect_left(self._dirs, prefix)
            end = bisect.bisect_left(self._dirs, base + "0")  # "0" is the character after "/"
            dirs = ([base] if base in self._by_dir else []) + self._dirs[start:end]
        found = [entry for d in dirs for entry in self._by_dir[d]]
        found.sort(key=lambda entry: entry[0])
        return [m for _, m in found]


def is_application(manifest: Manifest) -> bool:
    return manifest.kind == "Application" and manifest.group == ARGOCD_GROUP


def _source(index: int | None, raw: dict) -> Source:
    directory = raw.get("directory") if isinstance(raw.get("directory"), dict) else {}
    path = raw.get("path")
    return Source(
        index=index,
        repo_url=raw.get("repoURL") if isinstance(raw.get("repoURL"), str) else "",
        path=normalize_dir(path) if isinstance(path, str) else None,
        target_revision=raw.get("targetRevision") if isinstance(raw.get("targetRevision"), str) else None,
        recurse=directory.get("recurse") is True,
        include=directory.get("include") if isinstance(directory.get("include"), str) else None,
        exclude=directory.get("exclude") if isinstance(directory.get("exclude"), str) else None,
        is_directory=not any(k in raw for k in ("helm", "kustomize", "plugin", "chart")),
    )


def normalize_dir(path: str) -> str:
    """A source path as a repository-relative directory: '' for the root, no './' or trailing '/'."""
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


def in_source(file: str, source: Source) -> bool:
    """Whether Argo CD's directory rendering of `source` reads `file` (repository-relative)."""
    base = source.path or ""
    if base:
        if not file.startswith(base + "/"):
            return False
        rel = file[len(base) + 1:]
    else:
        rel = file
    if "/" in rel and not source.recurse:
        return False
    if not rel.endswith((".yaml", ".yml", ".json")):
        return False
    if source.include and not glob_match(rel, source.include):
        return False
    if source.exclude and glob_match(rel, source.exclude):
        return False
    return True


def glob_match(rel: str, pattern: str) -> bool:
    """Argo CD's include/exclude: a glob, or `{a,b}` with several globs, matched against the
    path relative to the source directory (and against the file name, as Argo CD also does)."""
    pattern = pattern.strip()
    if pattern.startswith("{") and pattern.endswith("}"):
        candidates = [p.strip() for p in pattern[1:-1].split(",")]
    else:
        candidates = [pattern]
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in candidates)


_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>(?!//).+)$")


def canonical_repo_url(url: str) -> str:
    """`host/group/project`, lowercase host, no scheme, user, port, `.git` or trailing slash:
    the same for every way of writing one GitLab repository's URL."""
    url = url.strip()
    match = _SCP_LIKE.match(url) if "://" not in url else None
    if match:
        host, path = match["host"], match["path"]
    else:
        parts = urlsplit(url)
        host, path = (parts.hostname or ""), parts.path
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{host.lower()}/{path}"


def same_repository(a: str, b: str) -> bool:
    return canonical_repo_url(a) == canonical_repo_url(b)


# Which revisions move. Argo CD resolves a git source's targetRevision as HEAD (also when empty),
# a branch, a tag, a commit SHA, or a semver constraint (the newest matching tag); a Helm chart's
# as a chart version or a constraint (the newest matching version); an OCI artifact's as a tag, a
# digest or a constraint. A constraint is what Masterminds/semver v3 parses as a constraint but not
# as a version (argo-cd util/versions: IsConstraint).
_VERSION = re.compile(r"v?\d+(\.\d+)?(\.\d+)?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
_WILD = r"(?:\*|x|X|\d+)"
_PART = re.compile(rf"(?:=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?{_WILD}(?:\.{_WILD})?(?:\.{_WILD})?"
                   r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def is_version(revision: str) -> bool:
    return bool(_VERSION.fullmatch(revision))


def is_constraint(revision: str) -> bool:
    if is_version(revision):
        return False
    for alternative in revision.split("||"):
        alternative = alternative.strip()
        if not alternative:
            return False
        bounds = [b.strip() for b in alternative.split(" - ")]
        if len(bounds) == 2 and all(_PART.fullmatch(b) for b in bounds):
            continue
        parts = [p for p in re.split(r"[,\s]+", re.sub(r"([=<>~^!]+)\s+", r"\1", alternative)) if p]
        if not parts or not all(_PART.fullmatch(p) for p in parts):
            return False
    return True


def floating_revision(source: dict) -> str | None:
    """How a source's targetRevision moves without a commit to this repository (a sentence naming
    it), or None when it is fixed: a version, a commit SHA, a digest, or an ApplicationSet template."""
    revision = source.get("targetRevision")
    revision = revision.strip() if isinstance(revision, str) else ""
    if "{{" in revision:
        return None
    chart = isinstance(source.get("chart"), str)
    if not revision or revision == "HEAD":
        written = "no targetRevision" if not revision else "targetRevision HEAD"
        return (f"{written} follows the newest chart version" if chart
                else f"{written} follows the newest commit of the default branch")
    if is_version(revision) or _COMMIT.fullmatch(revision) or _DIGEST.fullmatch(revision):
        return None
    if is_constraint(revision):
        return (f"targetRevision {revision!r} is a range: it follows the newest matching "
                + ("chart version" if chart else "tag"))
    if chart:
        return f"targetRevision {revision!r} is not a chart version"
    return f"targetRevision {revision!r} names a branch (or a tag that is not a version), which moves"
