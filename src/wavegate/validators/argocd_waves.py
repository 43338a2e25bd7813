"""Sync waves: annotations Argo CD cannot parse, and waves that contradict dependencies."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.argocd import model
from wavegate.findings import Finding
from wavegate.kube import KRO_GROUP, is_crd, is_rgd
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context

_F = "argocd"
_ANNOTATION = ("metadata", "annotations", model.SYNC_WAVE)

WAVE_NOT_INTEGER = declare(
    id="sync-wave-not-integer", family=_F, severity="error",
    title="The sync-wave annotation is not a base-10 integer",
    rationale="""Argo CD parses argocd.argoproj.io/sync-wave with Go's strconv.Atoi. A value it cannot parse
    ("1.5", "one", "", " 1") raises no error: the resource silently lands in wave 0 (or its Helm
    hook weight), so it may be created before what it depends on.""")
NAMESPACE_AFTER_RESOURCES = declare(
    id="sync-wave-namespace-after-resources", family=_F, severity="warning",
    title="A Namespace is in a later wave than resources in it",
    rationale="""Argo CD moves a Namespace just before the first resource that lives in it, so the wave
    written on the Namespace is not the wave it gets. The file says one order and the cluster sees
    another; anything that relied on the written wave (hooks, health gating) is wrong.""")
CRD_AFTER_RESOURCES = declare(
    id="sync-wave-crd-after-resources", family=_F, severity="warning",
    title="A CustomResourceDefinition is in a later wave than its custom resources",
    rationale="""Argo CD moves a CRD just before the first custom resource of its kind and gives it that
    resource's wave, so the wave written on the CRD is ignored. Put the CRD in the earlier wave so
    the file says what happens.""")
KRO_INSTANCE_BEFORE_RGD = declare(
    id="sync-wave-kro-instance-before-rgd", family=_F, severity="error",
    title="A Kro instance is not in a later wave than the ResourceGraphDefinition that defines its kind",
    rationale="""Kro creates the CRD for an instance only after it has accepted the ResourceGraphDefinition.
    That CRD is not part of the sync, so Argo CD cannot order it: an instance in the same or an
    earlier wave is applied before its kind exists, and Argo CD's dry-run fails the whole sync
    unless the instance carries SkipDryRunOnMissingResource=true.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    yield from _unparsable_waves(repo)
    # Waves order one sync: objects of two Applications (or of a root no Application syncs) are
    # never compared.
    for sync_set in ctx.sync_sets:
        yield from _namespaces_after_resources(sync_set.objects)
        yield from _crds_after_resources(sync_set.objects)
        yield from _kro_instances_before_rgds(sync_set.objects, ctx)


def _unparsable_waves(repo: Repo) -> Iterable[Finding]:
    for manifest in repo.having(annotations=(model.SYNC_WAVE,)):
        annotations = manifest.annotations
        value = annotations[model.SYNC_WAVE]
        if value is None:
            # The API server decodes a null annotation value as "" (Go's zero string), which Argo CD
            # cannot parse either.
            yield WAVE_NOT_INTEGER.at(manifest, _ANNOTATION,
                                      "sync-wave is null; Kubernetes stores it as the empty string \"\", and Argo CD "
                                      f"silently uses wave {model.wave_of(manifest)}",
                                      hint='Write the wave as a quoted whole number, such as "0" or "1".', key=False)
        elif not isinstance(value, str):
            # A YAML number (sync-wave: 1) is rejected by the API server: annotations are strings.
            yield WAVE_NOT_INTEGER.at(manifest, _ANNOTATION,
                                      f"sync-wave is written as a YAML {type(value).__name__}, not a string; "
                                      "Kubernetes rejects non-string annotation values",
                                      hint=f'Quote it: {model.SYNC_WAVE}: "{value}"', key=False)
        elif model.parse_wave(value) is None:
            fallback = model.wave_of(manifest)
            shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value):,} characters)"
            yield WAVE_NOT_INTEGER.at(manifest, _ANNOTATION,
                                      f"sync-wave {shown} is not a base-10 integer Argo CD can read; it silently "
                                      f"uses wave {fallback}",
                                      hint='Write a whole number such as "0", "1" or "-1".', key=False)


def _namespaces_after_resources(objects: list[Manifest]) -> Iterable[Finding]:
    namespaces = {m.name: m for m in objects if m.kind == "Namespace" and m.group == "" and m.name}
    earliest: dict[str, Manifest] = {}
    for manifest in objects:
        ns = manifest.namespace
        if ns in namespaces and manifest.kind != "Namespace":
            if ns not in earliest or model.wave_of(manifest) < model.wave_of(earliest[ns]):
                earliest[ns] = manifest
    for name, dependent in sorted(earliest.items()):
        namespace = namespaces[name]
        ns_wave, dep_wave = model.wave_of(namespace), model.wave_of(dependent)
        if ns_wave > dep_wave:
            yield NAMESPACE_AFTER_RESOURCES.at(
                namespace, _ANNOTATION,
                f"Namespace {name} is in wave {ns_wave} but {dependent.kind} {dependent.name} "
                f"({dependent.path}) in it is in wave {dep_wave}; Argo CD will create the Namespace in wave {dep_wave}",
                hint=f'Set {model.SYNC_WAVE}: "{dep_wave}" or lower on the Namespace.', key=False)


def _crds_after_resources(objects: list[Manifest]) -> Iterable[Finding]:
    crds = {}
    for manifest in objects:
        if is_crd(manifest):
            group_kind = model.crd_group_kind(manifest)
            if group_kind:
                crds[group_kind] = manifest
    for (group, kind), crd in sorted(crds.items()):
        users = [m for m in objects if m.group == group and m.kind == kind]
        if not users:
            continue
        first = min(users, key=model.wave_of)
        if model.wave_of(crd) > model.wave_of(first):
            yield CRD_AFTER_RESOURCES.at(
                crd, _ANNOTATION,
                f"CRD for {kind}.{group} is in wave {model.wave_of(crd)} but {kind} {first.name} ({first.path}) "
                f"is in wave {model.wave_of(first)}; Argo CD will apply the CRD in wave {model.wave_of(first)}",
                hint=f'Set {model.SYNC_WAVE}: "{model.wave_of(first)}" or lower on the CRD.', key=False)


def rgd_kinds(objects: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    """(group, kind) of every custom resource kind a ResourceGraphDefinition among `objects` defines."""
    found = {}
    for manifest in objects:
        if not is_rgd(manifest):
            continue
        kind = manifest.get("spec", "schema", "kind")
        group = manifest.get("spec", "schema", "group") or KRO_GROUP
        if isinstance(kind, str) and isinstance(group, str):
            found[(group, kind)] = manifest
    return found


def _kro_instances_before_rgds(objects: list[Manifest], ctx) -> Iterable[Finding]:
    kinds = rgd_kinds(objects)
    if not kinds:
        return
    for manifest in objects:
        rgd = kinds.get((manifest.group, manifest.kind))
        if rgd is None:
            continue
        instance_wave, rgd_wave = model.wave_of(manifest), model.wave_of(rgd)
        skip_dry_run = _skips_dry_run(manifest, ctx)
        if instance_wave <= rgd_wave:
            yield KRO_INSTANCE_BEFORE_RGD.at(
                manifest, ("metadata", "annotations", model.SYNC_WAVE) if model.SYNC_WAVE in manifest.annotations else ("kind",),
                f"{manifest.kind} {manifest.name} is in wave {instance_wave}, not after the ResourceGraphDefinition "
                f"{rgd.name} ({rgd.path}, wave {rgd_wave}) that defines its kind",
                hint=f'Set {model.SYNC_WAVE}: "{rgd_wave + 1}" on the instance'
                     + ("" if skip_dry_run else " and add the sync option SkipDryRunOnMissingResource=true") + ".")
        elif not skip_dry_run:
            yield KRO_INSTANCE_BEFORE_RGD.at(
                manifest, ("kind",),
                f"{manifest.kind} {manifest.name} depends on the ResourceGraphDefinition {rgd.name} in the same sync, "
                "but Argo CD dry-runs every resource before wave 0 and its kind does not exist yet",
                hint=f"Add the annotation {model.SYNC_OPTIONS}: SkipDryRunOnMissingResource=true.")


def _skips_dry_run(manifest: Manifest, ctx) -> bool:
    own = model.option_set(model.split_options(manifest.annotations.get(model.SYNC_OPTIONS)))
    if "SkipDryRunOnMissingResource" in own:
        return own["SkipDryRunOnMissingResource"] == "true"
    apps = ctx.apps_of(manifest)
    return bool(apps) and all(a.sync_options.get("SkipDryRunOnMissingResource") == "true" for a in apps)
