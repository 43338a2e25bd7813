"""Argo CD health of Kro instances: later sync waves wait only for what Argo CD can call Healthy."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from wavegate.argocd import model
from wavegate.argocd.settings import read_argocd_cm
from wavegate.findings import Finding
from wavegate.kube import KRO_GROUP, is_kubernetes_object
from wavegate.load import Manifest, Repo, parse_documents
from wavegate.rules import declare
from wavegate.validators import Context

_F = "argocd"
HEALTH_KEY = "resource.customizations.health."
LEGACY_KEY = "resource.customizations"
SHIPPED = "templates/argocd/argocd-cm-kro-health.yaml"

KRO_HEALTH_MISSING = declare(
    id="kro-instance-health-unknown-to-argocd", family=_F, severity="warning",
    title="A sync wave after a Kro instance relies on a health check Argo CD does not have",
    rationale="""Argo CD has no built-in health assessment for kro.run kinds: a Kro instance counts as
    Healthy as soon as it exists, so the next sync wave starts before kro has created anything
    the later resources may need (a ServiceAccount, a ConfigMap, an ECR repository). Ordering by
    waves after a Kro instance works only when argocd-cm holds a health customization for the
    instance's kind that follows kro's status.state and Ready condition. wavegate reads the
    argocd-cm named by `argocd.configMap` in .wavegate.yaml to find out.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    kro_kinds = _kro_group_kinds(repo)
    covered = problem = None
    for sync_set in ctx.sync_sets:  # a later wave waits only for the instances of its own sync
        instances = [m for m in sync_set.objects
                     if ((m.group, m.kind) in kro_kinds or (m.group == KRO_GROUP and m.kind != "ResourceGraphDefinition"))
                     and not model.is_argocd_hook(m)]
        if not instances:
            continue
        if covered is None:
            covered, problem = _covered_patterns(repo, ctx)
        unhealthy = [(i, model.wave_of(i)) for i in instances if not _has_health(i, covered)]
        if not unhealthy:
            continue
        first_wave = min(wave for _, wave in unhealthy)
        for later in sync_set.objects:
            if not is_kubernetes_object(later) or model.is_argocd_hook(later):
                continue
            later_wave = model.wave_of(later)
            if later_wave <= first_wave:
                continue
            before = [i for i, wave in unhealthy if i is not later and wave < later_wave]
            if not before:
                continue
            yield _finding(later, later_wave, before, problem, ctx)


def _finding(later: Manifest, later_wave: int, before: list[Manifest], problem: str | None, ctx) -> Finding:
    kinds = sorted({f"{i.group}/{i.kind}" for i in before})
    names = ", ".join(f"{i.kind}/{i.name} (wave {model.wave_of(i)})" for i in before[:3])
    if problem:
        why = problem
        hint = (f"Fix argocd.configMap in .wavegate.yaml, or add the keys of {SHIPPED} "
                "(shipped with wavegate) to that argocd-cm.")
    else:
        why = f"{ctx.config.argocd_config_map} has no health check for {', '.join(kinds)}"
        hint = (f"Add resource.customizations.health.{kinds[0].replace('/', '_')} (or kro.run/* under "
                f"resource.customizations) to argocd-cm; {SHIPPED} holds both.")
    return KRO_HEALTH_MISSING.at(
        later, ("metadata", "annotations", model.SYNC_WAVE),
        f"{later.kind}/{later.name} is in wave {later_wave}, after {names}, but {why}: Argo CD calls "
        f"the instance Healthy as soon as it exists, so wave {later_wave} starts before kro has created anything",
        hint=hint, key=False)


def _kro_group_kinds(repo: Repo) -> set[tuple[str, str]]:
    """Kinds that ResourceGraphDefinitions in the repository define (kro's group unless they set one)."""
    kinds = set()
    for rgd in repo.by_kind("ResourceGraphDefinition", KRO_GROUP):
        schema = rgd.get("spec", "schema", default={})
        if isinstance(schema, dict) and isinstance(schema.get("kind"), str):
            group = group if isinstance(group := schema.get("group"), str) else KRO_GROUP
            kinds.add((group, schema["kind"]))
    return kinds


def _has_health(instance: Manifest, covered: list[str]) -> bool:
    key = f"{instance.group}/{instance.kind}"
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in covered)


def _covered_patterns(repo: Repo, ctx) -> tuple[list[str], str | None]:
    """`group/kind` patterns argocd-cm has a health check for, or the reason it could not be read."""
    data, problem = read_argocd_cm(ctx.config, repo.root)
    if data is None:
        if not ctx.config.argocd_config_map:
            problem = f"{problem}, and Argo CD has no built-in health check for kro.run kinds"
        return [], problem
    patterns: list[str] = []
    for key, value in data.items():
        if isinstance(key, str) and key.startswith(HEALTH_KEY) and isinstance(value, str) and value.strip():
            group, _, kind = key[len(HEALTH_KEY):].rpartition("_")
            patterns.append(f"{group}/{kind}")
    legacy = data.get(LEGACY_KEY)
    if isinstance(legacy, str):
        blocks, _ = parse_documents(ctx.config.argocd_config_map, legacy, require_object=False)
        for block in blocks:
            for key, value in block.data.items():
                if isinstance(key, str) and isinstance(value, dict) and isinstance(value.get("health.lua"), str):
                    patterns.append(key)
    if not patterns:
        return [], f"the configured argocd-cm {ctx.config.argocd_config_map} has no resource health customization at all"
    return patterns, None
