"""The one Argo CD model: annotations, vocabularies and the exact sync order.

Everything here follows argoproj/gitops-engine (pkg/sync/sync_tasks.go, syncwaves, hook) and the
Argo CD documentation summarised in shared/reference/argocd-facts.md. The static rules, the
dry-run and the docs all read it; nothing else in wavegate restates these facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wavegate.kube import ARGOCD_GROUP as ARGOCD_GROUP  # Argo CD's vocabulary names it from here
from wavegate.kube import is_crd
from wavegate.load import Manifest
from wavegate.record import field, record
from wavegate.regex import lazy_compile

PREFIX = "argocd.argoproj.io/"
SYNC_WAVE = PREFIX + "sync-wave"
HOOK = PREFIX + "hook"
HOOK_DELETE_POLICY = PREFIX + "hook-delete-policy"
SYNC_OPTIONS = PREFIX + "sync-options"
COMPARE_OPTIONS = PREFIX + "compare-options"
TRACKING_ID = PREFIX + "tracking-id"
INSTANCE_LABEL_ARGO = PREFIX + "instance"
INSTANCE_LABEL_DEFAULT = "app.kubernetes.io/instance"
FINALIZER_ANNOTATION_MISTAKE = PREFIX + "finalizer"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"

# Hook types by the first Argo CD major version that knows them (PreDelete arrived in 3.3).
HOOK_TYPES = ("PreSync", "Sync", "Skip", "PostSync", "SyncFail", "PostDelete", "PreDelete")
HOOK_DELETE_POLICIES = ("HookSucceeded", "HookFailed", "BeforeHookCreation")
# What a hook without a known delete policy gets (gitops-engine hook.DeletePolicies).
DEFAULT_HOOK_DELETE_POLICY = "BeforeHookCreation"
# Values only some Argo CD builds know, with the version (or change) that brought them. Older
# versions silently ignore them: an unknown hook type is dropped, an unknown delete policy falls
# back to DEFAULT_HOOK_DELETE_POLICY.
HOOK_TYPE_SINCE = {"PostDelete": (2, 10), "PreDelete": (3, 3)}
HOOK_DELETE_POLICY_SINCE = {"Never": "argoproj/argo-cd#28516 (HookDeletePolicyNever)"}
# Added by Argo CD to every hook it creates and removed when the hook completes.
HOOK_FINALIZER = PREFIX + "hook-finalizer"

# syncPhaseOrder in gitops-engine.
PHASE_ORDER = {"PreSync": -1, "Sync": 0, "PostSync": 1, "SyncFail": 2}

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
FOREGROUND_FINALIZER = RESOURCES_FINALIZER + "/foreground"
BACKGROUND_FINALIZER = RESOURCES_FINALIZER + "/background"
APPLICATION_FINALIZERS = (
    RESOURCES_FINALIZER,
    FOREGROUND_FINALIZER,
    BACKGROUND_FINALIZER,
    # Added and removed by the controller itself when an app has PostDelete / PreDelete hooks.
    "post-delete-finalizer.argocd.argoproj.io",
    "post-delete-finalizer.argocd.argoproj.io/cleanup",
    "pre-delete-finalizer.argocd.argoproj.io",
    "pre-delete-finalizer.argocd.argoproj.io/cleanup",
)
ARGOCD_FINALIZER_MARK = "argocd.argoproj.io"
# The cascade finalizers and the propagation each asks for. The controller uses the first one in
# metadata.finalizers (Application.GetPropagationPolicy); the plain one means foreground.
PROPAGATION_FINALIZERS = {RESOURCES_FINALIZER: "foreground", FOREGROUND_FINALIZER: "foreground",
                          BACKGROUND_FINALIZER: "background"}
# The Argo CD finalizers a controller removes again, per argoproj.io kind. AppProject: only the
# plain one (kept until no Application uses the project); ApplicationSet: only the plain one
# (removed on deletion; drives reverse deletion order in 3.x progressive syncs). Anywhere else
# nothing removes an Argo CD finalizer and deletion hangs.
FINALIZERS_BY_KIND = {"Application": APPLICATION_FINALIZERS,
                      "ApplicationSet": (RESOURCES_FINALIZER,),
                      "AppProject": (RESOURCES_FINALIZER,)}


@record(frozen=True)
class SyncOption:
    name: str
    values: tuple[str, ...]
    summary: str


# The sync options Argo CD understands (docs/user-guide/sync-options.md), with the values it acts on.
SYNC_OPTION_CATALOG = {o.name: o for o in (
    SyncOption("Prune", ("false", "confirm", "true"), "keep (false) or confirm pruning"),
    SyncOption("Validate", ("false", "true"), "skip kubectl validation"),
    SyncOption("SkipDryRunOnMissingResource", ("true", "false"), "skip dry-run when the kind is not known yet"),
    SyncOption("Delete", ("false", "confirm", "true"), "keep (false) or confirm deletion with the app"),
    SyncOption("ApplyOutOfSyncOnly", ("true", "false"), "apply only out-of-sync resources"),
    SyncOption("PrunePropagationPolicy", ("foreground", "background", "orphan"), "propagation policy for pruning"),
    SyncOption("PruneLast", ("true", "false"), "prune after all other resources are synced"),
    SyncOption("Replace", ("true", "false"), "kubectl replace/create instead of apply"),
    SyncOption("Force", ("true", "false"), "delete and recreate (every sync with Replace=true, else when the patch fails)"),
    SyncOption("ServerSideApply", ("true", "false"), "server-side apply"),
    SyncOption("ClientSideApplyMigration", ("false", "true"), "migrate client-side apply field managers"),
    SyncOption("FailOnSharedResource", ("true", "false"), "fail if a resource belongs to another app"),
    SyncOption("RespectIgnoreDifferences", ("true", "false"), "keep ignored fields' live values on sync"),
    SyncOption("CreateNamespace", ("true", "false"), "create the destination namespace"),
)}
# Options that only mean something at Application level (spec.syncPolicy.syncOptions): the
# controller reads them from the sync operation, never from a resource's annotation.
APP_ONLY_SYNC_OPTIONS = frozenset({"CreateNamespace", "ApplyOutOfSyncOnly", "PrunePropagationPolicy",
                                   "FailOnSharedResource", "ClientSideApplyMigration"})
# Options read only from a resource's annotation: Force comes from the annotation (or from
# `argocd app sync --force`), never from spec.syncPolicy.syncOptions.
RESOURCE_ONLY_SYNC_OPTIONS = frozenset({"Force"})

# kindOrder in gitops-engine (Helm's install order). Unlisted kinds, including every custom
# resource, sort after all of these.
KIND_ORDER_LIST = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
    "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController",
    "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "Ingress", "APIService",
)
KIND_ORDER = {kind: i - len(KIND_ORDER_LIST) for i, kind in enumerate(KIND_ORDER_LIST)}

_ATOI = lazy_compile(r"[+-]?[0-9]+")
_GO_INT_MAX = 2**63 - 1


def parse_wave(text) -> int | None:
    """The integer Go's strconv.Atoi makes of `text`, or None where Atoi fails.

    Argo CD silently uses 0 (or the Helm hook weight) where this returns None.
    """
    if type(text) is str and text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)  # (the usual wave: a few digits, in int64 whatever they are)
    if not isinstance(text, str) or not _ATOI.fullmatch(text):
        return None
    if len(text.lstrip("+-").lstrip("0")) > 19:  # beyond int64 (and beyond what int() may convert)
        return None
    value = int(text)
    return value if -_GO_INT_MAX - 1 <= value <= _GO_INT_MAX else None


def wave_of(manifest: Manifest) -> int:
    """The wave Argo CD gives a resource (before dependency adjustments)."""
    annotations = manifest.annotations
    for key in (SYNC_WAVE, HELM_HOOK_WEIGHT):
        value = parse_wave(annotations.get(key))
        if value is not None:
            return value
    return 0


def hook_types(manifest: Manifest) -> list[str]:
    """The hook types named by the resource's annotation (comma-separated), as written."""
    value = manifest.annotations.get(HOOK)
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def is_hook(manifest: Manifest) -> bool:
    return bool(hook_types(manifest))


def is_argocd_hook(manifest: Manifest) -> bool:
    """Whether Argo CD treats the resource as a hook (gitops-engine hook.IsHook): it has the hook
    annotation and is not only Skip, or it has a Helm hook annotation other than crd-install."""
    annotations = manifest.annotations
    if HOOK in annotations:  # Skip counts only when it is the only type Argo CD recognises
        return {t for t in hook_types(manifest) if t in HOOK_TYPES} != {"Skip"}
    helm = annotations.get(HELM_HOOK)
    return isinstance(helm, str) and helm != "crd-install"


def split_options(value) -> list[str]:
    """The options in a sync-options annotation (comma-separated) or a syncOptions list item."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def option_set(values: Iterable[str]) -> dict[str, str]:
    """`{name: value}` of `Name=value` options; the last one wins, as in Argo CD."""
    result: dict[str, str] = {}
    for option in values:
        name, _, value = option.partition("=")
        result[name.strip()] = value.strip()
    return result


def crd_group_kind(manifest: Manifest) -> tuple[str, str] | None:
    group, kind = manifest.get("spec", "group"), manifest.get("spec", "names", "kind")
    if isinstance(group, str) and isinstance(kind, str):
        return group, kind
    return None


@record
class SyncTask:
    """One resource in the sync, with the phase and wave Argo CD will use for it."""

    manifest: Manifest
    phase: str
    wave: int
    adjusted_from: tuple[str, int] | None = field(default=None)

    @property
    def kind_order(self) -> int:
        return KIND_ORDER.get(self.manifest.kind, 0)

    def sort_key(self) -> tuple:
        return (PHASE_ORDER.get(self.phase, 0), self.wave, self.kind_order, self.manifest.name or "")


def sync_tasks(manifests: Sequence[Manifest]) -> list[SyncTask]:
    """The resources Argo CD would sync, in the exact order it would apply them.

    Hooks of type Skip are left out; a hook with several phases becomes one task per phase. Then
    tasks are sorted by phase, wave, kind order and name, and namespaces and CRDs are moved just
    before the first resource that needs them, taking that resource's phase and wave
    (gitops-engine `syncTasks.Sort` / `adjustDeps`).
    """
    tasks: list[SyncTask] = []
    for manifest in manifests:
        hooks = hook_types(manifest)
        if not hooks:
            tasks.append(SyncTask(manifest, "Sync", wave_of(manifest)))
            continue
        for hook in hooks:
            if hook in PHASE_ORDER:
                tasks.append(SyncTask(manifest, hook, wave_of(manifest)))
    tasks.sort(key=SyncTask.sort_key)
    _adjust_deps(tasks, _namespace_dependency, lambda m: m.namespace or None)
    _adjust_deps(tasks, _crd_dependency, lambda m: f"{m.group}/{m.kind}")
    return tasks


def _namespace_dependency(manifest: Manifest) -> str | None:
    if manifest.kind == "Namespace" and manifest.group == "":
        return manifest.name
    return None


def _crd_dependency(manifest: Manifest) -> str | None:
    if is_crd(manifest):
        group_kind = crd_group_kind(manifest)
        return f"{group_kind[0]}/{group_kind[1]}" if group_kind else None
    return None


def _adjust_deps(tasks: list[SyncTask], dependency_key, needs_key) -> None:
    first_index: dict[str, int] = {}
    for i in range(len(tasks)):
        task = tasks[i]
        key = dependency_key(task.manifest)
        if key is not None:
            index = first_index.get(key)
            if index is not None and index < i:
                dependent = tasks[index]
                task.adjusted_from = (task.phase, task.wave)
                task.phase, task.wave = dependent.phase, dependent.wave
                tasks[index + 1:i + 1] = tasks[index:i]
                tasks[index] = task
                for name, value in first_index.items():
                    if value >= index:
                        first_index[name] = value + 1
            continue
        needed = needs_key(task.manifest)
        if needed is not None and needed not in first_index:
            first_index[needed] = i


def waves(tasks: Sequence[SyncTask]) -> list[tuple[str, int, list[SyncTask]]]:
    """Consecutive tasks grouped by (phase, wave): the steps of a sync, in order."""
    groups: list[tuple[str, int, list[SyncTask]]] = []
    for task in tasks:
        if groups and groups[-1][0] == task.phase and groups[-1][1] == task.wave:
            groups[-1][2].append(task)
        else:
            groups.append((task.phase, task.wave, [task]))
    return groups
