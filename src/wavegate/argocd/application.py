"""Argo CD Applications as wavegate reads them: sources, destination and sync policy. What each
source renders to is the render stage's business (wavegate.render)."""

from __future__ import annotations

import re
from functools import cached_property
from urllib.parse import urlsplit

from wavegate.argocd.model import ARGOCD_GROUP, option_set, split_options
from wavegate.load import Manifest, Repo
from wavegate.record import field, record
from wavegate.regex import lazy_compile


@record(frozen=True)
class Source:
    """One source of an Application, as written (`spec.source` or `spec.sources[i]`).

    Which tool renders it is decided by the render stage (wavegate.render.sourcetype), as Argo
    CD's repo-server decides: the explicit `helm`/`kustomize`/`directory`/`plugin` field, else what
    the directory holds."""

    index: int | None  # None for `spec.source`, i for `spec.sources[i]`
    repo_url: str
    path: str | None
    target_revision: str | None
    raw: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def yaml_path(self) -> tuple:
        return ("spec", "source") if self.index is None else ("spec", "sources", self.index)

    def option(self, kind: str) -> dict | None:
        """The `helm`, `kustomize`, `directory` or `plugin` block, when written (even empty)."""
        value = self.raw.get(kind)
        return value if isinstance(value, dict) else ({} if kind in self.raw and value is not None else None)

    @property
    def chart(self) -> str | None:
        value = self.raw.get("chart")
        return value if isinstance(value, str) and value else None

    @property
    def ref(self) -> str | None:
        value = self.raw.get("ref")
        return value if isinstance(value, str) and value else None

    @property
    def directory(self) -> dict:
        return self.option("directory") or {}

    @property
    def recurse(self) -> bool:
        return self.directory.get("recurse") is True

    @property
    def include(self) -> str | None:
        value = self.directory.get("include")
        return value if isinstance(value, str) and value else None

    @property
    def exclude(self) -> str | None:
        value = self.directory.get("exclude")
        return value if isinstance(value, str) and value else None


@record(frozen=True)
class Application:
    """An Argo CD Application. What it says is worked out once per object: the render and the
    checks ask each Application for its sources and destination thousands of times, and neither
    its manifest's data nor the values given out are changed."""

    manifest: Manifest

    @classmethod
    def all_in(cls, repo: Repo) -> list[Application]:
        return [cls(m) for m in repo.by_kind("Application", ARGOCD_GROUP)]

    @cached_property
    def name(self) -> str:
        return self.manifest.name or ""

    @cached_property
    def sources(self) -> list[Source]:
        spec = self.manifest.get("spec", default={}) or {}
        found: list[Source] = []
        if isinstance(spec.get("source"), dict):
            found.append(_source(None, spec["source"]))
        for i, source in enumerate(spec.get("sources") or []):
            if isinstance(source, dict):
                found.append(_source(i, source))
        return found

    @cached_property
    def destination_namespace(self) -> str | None:
        value = self.manifest.get("spec", "destination", "namespace")
        return value if isinstance(value, str) and value else None

    @cached_property
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

    @cached_property
    def sync_options(self) -> dict[str, str]:
        return option_set(split_options(self.manifest.get("spec", "syncPolicy", "syncOptions", default=[])))

    @cached_property
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


def is_application(manifest: Manifest) -> bool:
    return manifest.kind == "Application" and manifest.group == ARGOCD_GROUP


def _source(index: int | None, raw: dict) -> Source:
    path = raw.get("path")
    repo_url = raw.get("repoURL")
    return Source(
        index=index,
        repo_url=repo_url if isinstance(repo_url, str) else "",
        path=normalize_dir(path) if isinstance(path, str) else None,
        target_revision=raw.get("targetRevision") if isinstance(raw.get("targetRevision"), str) else None,
        raw=raw,
    )


def normalize_dir(path: str) -> str:
    """A source path as a repository-relative directory: '' for the root, no './' or trailing '/'."""
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


_SCP_LIKE = lazy_compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>(?!//).+)$")
# `git@host/group/project`: no scp-like colon, yet an SSH URL to Argo CD (util/git IsSSHURL), which
# normalizes it as it does `git@host:group/project`, so it finds the repository (and credentials)
# configured for either (seen on alphagov/govuk-helm-charts).
_SSH_WITHOUT_COLON = lazy_compile(r"^[^/:@]*@(?P<host>[^@/:]+)/(?P<path>[^@]+)$")


def canonical_repo_url(url: str) -> str:
    """`host/group/project`, lowercase host, no scheme, user, port, `.git` or trailing slash:
    the same for every way of writing one GitLab repository's URL."""
    url = url.strip()
    match = (_SCP_LIKE.match(url) or _SSH_WITHOUT_COLON.match(url)) if "://" not in url else None
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
_VERSION = lazy_compile(r"v?\d+(\.\d+)?(\.\d+)?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
_WILD = r"(?:\*|x|X|\d+)"
_PART = lazy_compile(rf"(?:=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?{_WILD}(?:\.{_WILD})?(?:\.{_WILD})?"
                   r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
_COMMIT = lazy_compile(r"[0-9a-f]{7,40}")
_DIGEST = lazy_compile(r"sha256:[0-9a-f]{64}")


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
