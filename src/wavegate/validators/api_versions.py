"""API versions the target Kubernetes release no longer serves, or will stop serving.

The table (data/api-lifecycle.json) is Kubernetes' own deprecation data: the release that introduced,
deprecated and removed each kind of each beta and alpha group version, and its replacement, as
k8s.io/api's generated prerelease-lifecycle files record them (scripts/generate-api-lifecycle). The
target release is --kubernetes-version (or `kubernetesVersion:` in .wavegate.yaml), by default the
newest one wavegate has schemas for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from wavegate import data, kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.record import record
from wavegate.rules import declare
from wavegate.validators import Context

_K = "kubernetes"
TABLE = data.FOLDER / "api-lifecycle.json"

REMOVED = declare(
    id="api-version-removed", family=_K, severity="error",
    title="The apiVersion is not served by the target Kubernetes release",
    rationale="""Kubernetes removes beta API versions a few releases after their replacement is stable; the API server
    of a release that removed one answers "no matches for kind" and Argo CD's sync fails. wavegate knows
    when each kind of each group version was introduced, deprecated and removed from Kubernetes' own
    deprecation data, and judges the version given with --kubernetes-version (or kubernetesVersion in
    .wavegate.yaml; by default the newest release it has schemas for). Fields can differ between
    versions: check the object against the replacement's schema after changing apiVersion.""")
DEPRECATED = declare(
    id="api-version-deprecated", family=_K, severity="warning",
    title="The apiVersion is deprecated and will be removed",
    rationale="""The target Kubernetes release still serves this version but has deprecated it (the API server sends
    a deprecation warning); a later release removes it, and the upgrade then breaks every sync. Moving
    to the replacement now is a one-line change.""")


NOT_ENABLED = declare(
    id="api-version-not-enabled", family=_K, severity="error",
    title="The apiVersion is a prerelease API the target release does not serve by default",
    rationale="""Alpha APIs are never served by default, and since Kubernetes 1.24 new beta APIs are not either
    (KEP-3136): a cluster serves them only when its API server runs with --runtime-config enabling
    them. On a default cluster the object is refused ("no matches for kind") and Argo CD's sync fails.
    If your clusters do enable the API, set this rule to off or warning in .wavegate.yaml.""")
BETA_OFF_BY_DEFAULT_SINCE = (1, 24)  # KEP-3136: beta APIs introduced from 1.24 on are disabled by default
# The exception KEP-3136 made: kube-apiserver's legacyBetaEnabledByDefaultResources serves these
# betas by default although they came after 1.24 (flowcontrol v1beta3, 1.26 to 1.31).
LEGACY_BETA_ENABLED_BY_DEFAULT = frozenset({("flowcontrol.apiserver.k8s.io", "v1beta3", "FlowSchema"),
                                            ("flowcontrol.apiserver.k8s.io", "v1beta3", "PriorityLevelConfiguration")})


@record(frozen=True)
class Lifecycle:
    group: str
    version: str
    kind: str
    introduced: tuple[int, int] | None
    deprecated: tuple[int, int] | None
    removed: tuple[int, int] | None
    replacement: tuple[str, str, str] | None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def enabled_by_default(self) -> bool:
        """Whether a release that serves this version serves it without --runtime-config."""
        if "alpha" in self.version:
            return False
        if "beta" in self.version:
            return ((self.introduced is not None and self.introduced < BETA_OFF_BY_DEFAULT_SINCE)
                    or (self.group, self.version, self.kind) in LEGACY_BETA_ENABLED_BY_DEFAULT)
        return True

    def replacement_text(self) -> str:
        if self.replacement is None:
            return ""
        group, version, kind = self.replacement
        return f"{group + '/' if group else ''}{version} {kind}"


def _minor(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    major, _, minor = str(text).partition(".")
    return int(major), int(minor)


@lru_cache(maxsize=1)
def table() -> dict[tuple[str, str, str], Lifecycle]:
    with open(TABLE, "rb") as handle:  # JSON written by scripts/generate-api-lifecycle
        rows = json.load(handle)["kinds"]
    out = {}
    for row in rows:
        replacement = row.get("replacement")
        out[(row["group"], row["version"], row["kind"])] = Lifecycle(
            row["group"], row["version"], row["kind"], _minor(row.get("introduced")), _minor(row.get("deprecated")),
            _minor(row.get("removed")),
            (replacement["group"], replacement["version"], replacement["kind"]) if replacement else None)
    return out


def target(version: str) -> tuple[int, int]:
    return _minor(version) or (1, 99)


def lifecycle_of(group: str, version: str, kind: str) -> Lifecycle | None:
    return table().get((group, version, kind))


def not_served(group: str, version: str, kind: str, kubernetes_version: str) -> Lifecycle | None:
    """The kind's lifecycle when the target release does not serve it (removed, or not yet there)."""
    found = lifecycle_of(group, version, kind)
    if found is None:
        return None
    at = target(kubernetes_version)
    if (found.removed is not None and at >= found.removed) or (found.introduced is not None and at < found.introduced):
        return found
    return None


def _current_replacement(found: Lifecycle, at: tuple[int, int]) -> tuple[str, str, str] | None:
    """Follow replacements (v1beta2 -> v1beta3 -> v1) to one the target release serves."""
    seen = set()
    current = found.replacement
    while current is not None and current not in seen:
        seen.add(current)
        following = table().get(current)
        if following is None or following.removed is None or at < following.removed:
            return current
        current = following.replacement
    return current


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    from wavegate.validators.apiserver_metadata import kubernetes_version

    version = kubernetes_version(ctx)
    at = target(version)
    # Whether there is anything to say depends on the apiVersion and kind alone (the object only
    # places the finding), and a repository holds few of them: each is worked out once.
    says: dict[tuple[str, str], Lifecycle | None] = {}
    for manifest in repo.manifests:
        key = (manifest.api_version, manifest.kind)
        if key in says:
            found = says[key]
            if found is not None:
                yield from _judge(manifest, found, at, version)
            continue
        found = lifecycle_of(manifest.group, manifest.version, manifest.kind) \
            if kube.is_kubernetes_object(manifest) else None
        findings = list(_judge(manifest, found, at, version)) if found is not None else []
        says[key] = found if findings else None
        yield from findings


def _judge(manifest: Manifest, found: Lifecycle, at: tuple[int, int], version: str) -> Iterable[Finding]:
    replacement = _current_replacement(found, at)
    use = f"{replacement[0] + '/' if replacement[0] else ''}{replacement[1]}" if replacement else ""
    what = f"{found.api_version} {found.kind}"
    if found.removed is not None and at >= found.removed:
        instead = f"; use {use}" + (f" {replacement[2]}" if replacement[2] != found.kind else "") \
            if replacement else ""
        yield REMOVED.at(manifest, ("apiVersion",),
                         f"{what} was removed in Kubernetes {_text(found.removed)} (the target is {version}){instead}",
                         hint=(f"Change apiVersion to {use} and check the fields against its schema."
                               if replacement else
                               "Remove the object, or replace it with what the release notes of "
                               f"Kubernetes {_text(found.removed)} recommend (PodSecurityPolicy: Pod Security "
                               "Admission labels on the namespace)."),
                         key=False)
    elif found.introduced is not None and at < found.introduced:
        yield REMOVED.at(manifest, ("apiVersion",),
                         f"{what} is served from Kubernetes {_text(found.introduced)} on; the target is {version}",
                         hint="Use an apiVersion the target release serves, or raise --kubernetes-version "
                              "(kubernetesVersion in .wavegate.yaml) if the cluster is newer.", key=False)
    elif not found.enabled_by_default:
        stage = "an alpha" if "alpha" in found.version else "a beta"
        stable = _stable(found, at)
        yield NOT_ENABLED.at(manifest, ("apiVersion",),
                             f"{what} is {stage} API that Kubernetes {version} serves only when the API server enables "
                             f"it (--runtime-config={found.api_version}=true)"
                             + (f"; {stable} is served by default" if stable else ""),
                             hint=(f"Change apiVersion to {stable}." if stable else
                                   "Use a stable API, or turn this rule off in .wavegate.yaml if your clusters enable it."),
                             key=False)
    elif found.deprecated is not None and at >= found.deprecated:
        removal = f" and is removed in {_text(found.removed)}" if found.removed else ""
        yield DEPRECATED.at(manifest, ("apiVersion",),
                            f"{what} is deprecated since Kubernetes {_text(found.deprecated)}{removal}"
                            + (f"; use {use}" if replacement else ""),
                            hint=f"Change apiVersion to {use}." if replacement else
                            "Plan the move before the upgrade that removes it.", key=False)


def _stable(found: Lifecycle, at: tuple[int, int]) -> str:
    """A stable version of the same kind the target release serves, as an apiVersion, or ''."""
    for (group, version, kind), life in sorted(table().items()):
        if (group, kind) == (found.group, found.kind) and "alpha" not in version and "beta" not in version \
                and (life.introduced is None or at >= life.introduced) and (life.removed is None or at < life.removed):
            return life.api_version
    return ""


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"
