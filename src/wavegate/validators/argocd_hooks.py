"""Resource hooks: hook types and delete policies Argo CD does not know, policies that do nothing,
and Kro instances that a hook's delete policy would delete (and with them everything kro made)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from wavegate.argocd import model
from wavegate.findings import Finding
from wavegate.kube import KRO_GROUP
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context
from wavegate.validators.argocd_waves import rgd_kinds

_F = "argocd"
_HOOK = ("metadata", "annotations", model.HOOK)
_POLICY = ("metadata", "annotations", model.HOOK_DELETE_POLICY)

UNKNOWN_HOOK_TYPE = declare(
    id="hook-type-unknown", family=_F, severity="error",
    title="The hook annotation names a hook type Argo CD does not know",
    rationale="""Argo CD matches each comma-separated value of argocd.argoproj.io/hook exactly (case matters)
    against PreSync, Sync, PostSync, SyncFail, Skip, PostDelete and PreDelete, and silently drops
    the rest. A hook whose only type is misspelt ("Presync") is still treated as a hook, but of no
    phase: Argo CD never applies it, and nothing says why.""")
NEEDS_NEWER_ARGOCD = declare(
    id="hook-value-needs-newer-argocd", family=_F, severity="warning",
    title="A hook type or delete policy is not known to the configured Argo CD version",
    rationale="""Some hook values exist only in newer Argo CD: PreDelete hooks arrived in 3.3, the Never
    delete policy only in builds with argoproj/argo-cd#28516. An older Argo CD ignores them
    silently: the PreDelete hook never runs when the app is deleted, and a Never hook falls back to
    BeforeHookCreation and is deleted and recreated at every sync. Set argocd.version in
    .wavegate.yaml to the Argo CD that syncs this repository.""")
SKIP_COMBINED = declare(
    id="hook-skip-combined", family=_F, severity="warning",
    title="Skip is combined with other hook types",
    rationale="""Argo CD skips a resource only when Skip is its only hook type. Next to another type Skip is
    ignored and the resource runs as that hook, which is the opposite of what "Skip" says.""")
UNKNOWN_DELETE_POLICY = declare(
    id="hook-delete-policy-unknown", family=_F, severity="error",
    title="The hook-delete-policy names a policy Argo CD does not know",
    rationale="""Argo CD knows the delete policies HookSucceeded, HookFailed and BeforeHookCreation and drops
    any other value without a word. A hook left with no known policy gets BeforeHookCreation:
    it is not deleted after it succeeds, as the misspelt value meant, but kept until the next sync.""")
DELETE_POLICY_WITHOUT_HOOK = declare(
    id="hook-delete-policy-without-hook", family=_F, severity="warning",
    title="A hook-delete-policy is set on a resource that is not a hook",
    rationale="""Argo CD reads argocd.argoproj.io/hook-delete-policy only on hooks. On an ordinary resource (or
    one whose only hook type is Skip) it does nothing, so whatever cleanup it promises never happens.""")
KRO_INSTANCE_AS_HOOK = declare(
    id="kro-instance-as-hook", family=_F, severity="error",
    title="A Kro instance is a sync hook, so Argo CD deletes it and kro deletes what it made",
    rationale="""Argo CD deletes hooks according to their delete policy: BeforeHookCreation (the default for a
    hook without a known policy) deletes and recreates the hook at every sync, HookSucceeded deletes
    it once it is healthy, HookFailed when it fails. A Kro instance owns every resource kro created
    from it, so deleting it deletes all of them: a CICDPipeline marked as a hook tears down and
    rebuilds its whole pipeline at every sync. Order instances with sync waves instead.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    instance_kinds = set(rgd_kinds(repo.having(kinds=("ResourceGraphDefinition",))))  # a kind is defined wherever its RGD is
    for manifest in repo.having(annotations=(model.HOOK, model.HOOK_DELETE_POLICY)):
        annotations = manifest.annotations
        if model.HOOK in annotations:
            yield from _hook_types(manifest, annotations[model.HOOK], ctx.argocd_version)
        if model.HOOK_DELETE_POLICY in annotations:
            yield from _delete_policies(manifest, annotations[model.HOOK_DELETE_POLICY])
        if model.HOOK in annotations and _is_kro_instance(manifest, instance_kinds):
            yield from _kro_instance_as_hook(manifest)


def _hook_types(manifest: Manifest, value, major: int) -> Iterable[Finding]:
    if not isinstance(value, str):
        yield UNKNOWN_HOOK_TYPE.at(manifest, _HOOK, f"the hook annotation is a YAML {type(value).__name__}, not a string; "
                                   "Kubernetes rejects non-string annotation values",
                                   hint=f'Quote it, for example {model.HOOK}: "PreSync".', key=False)
        return
    written = model.hook_types(manifest)
    if not written:
        yield UNKNOWN_HOOK_TYPE.at(manifest, _HOOK, "the hook annotation is empty; Argo CD still treats the resource as "
                                   "a hook, of no phase, and never applies it",
                                   hint=f"Write a hook type ({', '.join(model.HOOK_TYPES)}) or remove {model.HOOK}.", key=False)
        return
    known = [t for t in written if t in model.HOOK_TYPES]
    for item in written:
        if item in model.HOOK_TYPES:
            since = model.HOOK_TYPE_SINCE.get(item)
            if since and major < since[0]:
                yield NEEDS_NEWER_ARGOCD.at(
                    manifest, _HOOK,
                    f"hook type {item} needs Argo CD {since[0]}.{since[1]} or later, but this repository is synced by "
                    f"Argo CD {major} (argocd.version); Argo CD {major} ignores it",
                    hint=f"Upgrade Argo CD to {since[0]}.{since[1]}+ and set argocd.version: {since[0]} in .wavegate.yaml, "
                         f"or remove {item}.", key=False)
            continue
        others = list(dict.fromkeys(t for t in known if t != "Skip"))
        if others:
            effect = f"the resource still runs as a {', '.join(others)} hook"
        elif known:
            effect = "only Skip is left, so Argo CD skips this resource"
        else:
            effect = "no known type is left, so Argo CD never applies this resource"
        yield UNKNOWN_HOOK_TYPE.at(
            manifest, _HOOK, f"hook type {item!r} is not one Argo CD knows; it is silently dropped and {effect}",
            hint=suggest(item, model.HOOK_TYPES, "hook type"), key=False)
    if "Skip" in known and len(set(known)) > 1:
        others = sorted(set(known) - {"Skip"}, key=model.HOOK_TYPES.index)
        yield SKIP_COMBINED.at(
            manifest, _HOOK,
            f"Skip is combined with {', '.join(others)}; Argo CD skips a resource only when Skip is its only type, "
            f"so this one runs as a {', '.join(others)} hook",
            hint=f"Write {model.HOOK}: Skip to leave it out of the sync, or drop Skip to run it as a hook.", key=False)


def _delete_policies(manifest: Manifest, value) -> Iterable[Finding]:
    if not isinstance(value, str):
        yield UNKNOWN_DELETE_POLICY.at(manifest, _POLICY,
                                       f"the hook-delete-policy is a YAML {type(value).__name__}, not a string",
                                       hint=f'Quote it, for example {model.HOOK_DELETE_POLICY}: "HookSucceeded".', key=False)
        return
    for item in model.split_options(value):
        if item in model.HOOK_DELETE_POLICIES:
            continue
        if item in model.HOOK_DELETE_POLICY_SINCE:
            yield NEEDS_NEWER_ARGOCD.at(
                manifest, _POLICY,
                f"hook-delete-policy {item} is known only to Argo CD builds with {model.HOOK_DELETE_POLICY_SINCE[item]}; "
                f"any other Argo CD drops it and uses {model.DEFAULT_HOOK_DELETE_POLICY}, deleting and recreating the "
                "hook at every sync",
                hint=f"Keep {item} only if the Argo CD that syncs this repository supports it; otherwise make the "
                     "resource an ordinary one (no hook annotation) ordered by sync-wave.", key=False)
            continue
        yield UNKNOWN_DELETE_POLICY.at(
            manifest, _POLICY,
            f"hook-delete-policy {item!r} is not one Argo CD knows ({', '.join(model.HOOK_DELETE_POLICIES)}); it is "
            f"silently dropped" + ("" if _known_policies(manifest) else f" and the hook gets {model.DEFAULT_HOOK_DELETE_POLICY}"),
            hint=suggest(item, model.HOOK_DELETE_POLICIES, "delete policy"), key=False)
    if not model.is_argocd_hook(manifest):
        why = ("its only hook type is Skip, so Argo CD does not apply it at all" if model.HOOK in manifest.annotations
               else "it has no argocd.argoproj.io/hook annotation")
        yield DELETE_POLICY_WITHOUT_HOOK.at(
            manifest, _POLICY,
            f"{manifest.kind} {manifest.name} has hook-delete-policy {value.strip()!r} but is not a hook ({why}); "
            "the policy does nothing",
            hint=f"Add {model.HOOK}: <PreSync|Sync|PostSync|SyncFail> if it should be a hook, "
                 f"or remove {model.HOOK_DELETE_POLICY}.",
            key=True)


def _is_kro_instance(manifest: Manifest, instance_kinds: set[tuple[str, str]]) -> bool:
    if (manifest.group, manifest.kind) in instance_kinds:
        return True
    return manifest.group == KRO_GROUP and manifest.kind != "ResourceGraphDefinition"


def _known_policies(manifest: Manifest) -> list[str]:
    value = manifest.annotations.get(model.HOOK_DELETE_POLICY)
    return [p for p in model.split_options(value) if p in model.HOOK_DELETE_POLICIES or p in model.HOOK_DELETE_POLICY_SINCE]


def _kro_instance_as_hook(manifest: Manifest) -> Iterable[Finding]:
    phases = [t for t in dict.fromkeys(model.hook_types(manifest)) if t in model.PHASE_ORDER]
    if not phases or not model.is_argocd_hook(manifest):
        return  # Skip only, delete hooks only, or nothing Argo CD would run at sync
    policies = _known_policies(manifest)
    defaulted = not policies
    if defaulted:
        policies = [model.DEFAULT_HOOK_DELETE_POLICY]
    deleting = [p for p in policies if p in model.HOOK_DELETE_POLICIES]
    if not deleting:
        return  # only Never: kept across syncs where Argo CD knows it (see hook-value-needs-newer-argocd)
    effects = {"BeforeHookCreation": "deletes and recreates it at every sync",
               "HookSucceeded": "deletes it as soon as it is healthy",
               "HookFailed": "deletes it when it fails"}
    what = "; ".join(f"{p}{' (the default)' if defaulted else ''} {effects[p]}" for p in deleting)
    yield KRO_INSTANCE_AS_HOOK.at(
        manifest, _HOOK,
        f"{manifest.kind} {manifest.name} is a Kro instance marked as a {', '.join(phases)} hook: {what}, "
        "and kro then deletes every resource it created from this instance",
        hint=f"Remove {model.HOOK} (and {model.HOOK_DELETE_POLICY}) and order the instance with {model.SYNC_WAVE} instead.",
        key=False)


def closest(value: str, known) -> str | None:
    """The known value `value` most likely means: equal ignoring case and separators, else difflib's
    closest (shared by the Argo CD vocabulary checks: hooks, finalizers, sync options)."""
    known = list(known)
    squash = {_squash(k): k for k in known}
    match = squash.get(_squash(value))
    if match is None:
        close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
        match = close[0] if close else None
    return match


def _squash(text: str) -> str:
    return "".join(c for c in text.lower() if c not in "-_ ")


def suggest(value: str, known: tuple[str, ...], what: str) -> str:
    """A hint naming the closest known value, or listing them all."""
    match = closest(value, known)
    if match:
        return f"Write {match} (the closest known {what}); the values are case-sensitive."
    return f"Use one of {', '.join(known)}."
