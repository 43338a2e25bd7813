"""`wavegate status`: what Argo CD and kro say about each environment, and what to do when stuck.

Read through the cluster door's read-only client (`wavegate.cluster.read`): each environment's
Argo CD Application (sync status, revision, health, last operation) and each kro instance its
folder declares (`status.state` and conditions).
The promotion health gate (`wavegate.promote.gates`) reads the Application through
`read_application` here: one implementation.

The health of a kro instance is judged as the Argo CD health check wavegate ships for kro kinds
(templates/argocd/argocd-cm-kro-health.yaml) judges it, so `status` and Argo CD agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.kube import ARGOCD_GROUP, KRO_GROUP
from wavegate.record import asdict, field, record

if TYPE_CHECKING:
    from wavegate.cluster.read import ClusterReader

ARGOCD_VERSION, APPLICATIONS = "v1alpha1", "applications"
DEFAULT_APP_NAMESPACE = "argocd"
STUCK_AFTER = timedelta(minutes=10)


@record
class AppStatus:
    name: str
    namespace: str
    found: bool = False
    sync: str = "Unknown"
    revision: str | None = None
    revisions: list[str] = field(default_factory=list)
    health: str = "Unknown"
    health_message: str = ""
    operation_phase: str | None = None
    operation_message: str = ""
    finished_at: str | None = None
    reconciled_at: str | None = None
    conditions: list[dict] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)  # "Kind ns/name: message" of unhealthy resources
    advice: list[str] = field(default_factory=list)

    @property
    def synced_at(self) -> datetime | None:
        """When Argo CD last finished syncing (operationState.finishedAt), else reconciledAt."""
        return parse_time(self.finished_at) or parse_time(self.reconciled_at)

    def at_revision(self, commit: str) -> bool:
        return commit in ([self.revision] if self.revision else []) + self.revisions


@record
class InstanceStatus:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    found: bool = False
    state: str | None = None
    health: str = "Unknown"  # Healthy | Progressing | Degraded | Missing
    message: str = ""
    conditions: list[dict] = field(default_factory=list)
    since: str | None = None
    advice: list[str] = field(default_factory=list)


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _span(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "at an unknown time"
    return f"{_span(now - moment)} ago ({moment.strftime('%Y-%m-%d %H:%M UTC')})"


# -- Argo CD Applications ----------------------------------------------------------------------


def read_application(read: ClusterReader, name: str, namespace: str = DEFAULT_APP_NAMESPACE,
                     now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER) -> AppStatus:
    """The Application's status from the API server; `found` False when it does not exist."""
    result = AppStatus(name, namespace)
    obj = read.get(ARGOCD_GROUP, ARGOCD_VERSION, APPLICATIONS, name, namespace=namespace)
    if obj is None:
        result.advice.append(f"Application {namespace}/{name} does not exist (or the Application CRD is not "
                             f"installed): create it from the repository's argocd/ folder, or set "
                             f"`application:` of the environment in .wavegate.yaml")
        return result
    return application_status(obj, now=now, stuck_after=stuck_after)


def application_status(obj: dict, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER) -> AppStatus:
    now = now or datetime.now(UTC)
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    operation = status.get("operationState") or {}
    result = AppStatus(meta.get("name", ""), meta.get("namespace", DEFAULT_APP_NAMESPACE), found=True,
                       sync=sync.get("status") or "Unknown", revision=sync.get("revision"),
                       revisions=list(sync.get("revisions") or []), health=health.get("status") or "Unknown",
                       health_message=health.get("message") or "", operation_phase=operation.get("phase"),
                       operation_message=operation.get("message") or "", finished_at=operation.get("finishedAt"),
                       reconciled_at=status.get("reconciledAt"), conditions=list(status.get("conditions") or []))
    for resource in status.get("resources") or []:
        rh = resource.get("health") or {}
        if rh.get("status") in ("Degraded", "Missing"):
            where = f"{resource.get('namespace')}/" if resource.get("namespace") else ""
            result.degraded.append(f"{resource.get('kind')} {where}{resource.get('name')}: {rh.get('status')}"
                                   + (f" ({rh['message']})" if rh.get("message") else ""))
    result.advice = _app_advice(result, now, stuck_after)
    return result


def _app_advice(app: AppStatus, now: datetime, stuck_after: timedelta) -> list[str]:
    advice = []
    name = app.name
    for condition in app.conditions:
        if str(condition.get("type", "")).endswith("Error"):
            advice.append(f"Argo CD reports {condition.get('type')}: {condition.get('message', '')}; fix the "
                          f"manifests or the Application source, then `argocd app get {name} --refresh`")
    if app.operation_phase in ("Failed", "Error"):
        advice.append(f"the last sync {app.operation_phase.lower()}: {app.operation_message or 'no message'}; "
                      f"`argocd app get {name}` shows the failing resource; fix it and sync again")
    elif app.operation_phase == "Running":
        advice.append(f"a sync is running; `argocd app wait {name}` waits for it")
    if app.sync == "OutOfSync":
        since = app.synced_at
        if since is not None and now - since > stuck_after:
            advice.append(f"OutOfSync, and the last sync finished {_ago(since, now)}: check that automated sync is "
                          f"on (spec.syncPolicy.automated), look at `argocd app diff {name}`, or sync by hand "
                          f"(`argocd app sync {name}`)")
        else:
            advice.append(f"OutOfSync: Argo CD has not applied the latest commit yet; wait for the next sync or "
                          f"`argocd app sync {name}`")
    elif app.sync == "Unknown" and app.found:
        advice.append(f"sync status Unknown: Argo CD could not compare; `argocd app get {name} --hard-refresh`")
    if app.health == "Degraded":
        detail = "; ".join(app.degraded) or app.health_message or "no message"
        advice.append(f"Degraded: {detail}; `kubectl describe` the resource named, fix its manifest or what it "
                      f"depends on")
    elif app.health == "Progressing":
        since = app.synced_at
        if since is not None and now - since > stuck_after:
            advice.append(f"still Progressing {_ago(since, now)} after the last sync: "
                          + ("; ".join(app.degraded) or "look at the resources that are not Healthy in "
                                                          f"`argocd app get {name}`"))
    elif app.health == "Missing":
        advice.append("resources are Missing: Argo CD has not created them yet; sync the Application")
    return advice


# -- kro instances ---------------------------------------------------------------------------


def kro_health(obj: dict) -> tuple[str, str]:
    """(Healthy|Progressing|Degraded, message): the mapping of templates/argocd/argocd-cm-kro-health.yaml."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "Progressing", "Being deleted: kro is removing the resources it created"
    status = obj.get("status")
    if not isinstance(status, dict) or (status.get("state") is None and status.get("conditions") is None):
        return "Progressing", "Waiting for kro to report the instance's status"
    state = status.get("state")
    if state == "DELETING":
        return "Progressing", "Being deleted: kro is removing the resources it created"
    ready, failing = None, None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = condition
        elif condition.get("status") == "False" and failing is None:
            failing = condition

    def describe(c):
        if c is None:
            return None
        if c.get("reason") and c.get("message"):
            return f"{c['reason']}: {c['message']}"
        return c.get("message") or c.get("reason")

    generation = meta.get("generation")
    if ready and generation is not None and ready.get("observedGeneration") is not None \
            and ready["observedGeneration"] < generation:
        return "Progressing", (f"Waiting for kro to process generation {generation} (Ready is about generation "
                               f"{ready['observedGeneration']})")
    if state in ("ERROR", "FAILED", "Inactive"):
        return "Degraded", f"kro reports {state}: {describe(ready) or describe(failing) or 'no condition says why'}"
    if ready and ready.get("status") == "True":
        return "Healthy", describe(ready) or "Ready"
    if ready and state in ("ACTIVE", "Active"):
        return "Degraded", describe(ready) or "Ready is False"
    return "Progressing", describe(ready) or describe(failing) or f"state {state or 'unknown'}"


def instance_status(obj: dict, now: datetime | None = None, stuck_after: timedelta = STUCK_AFTER) -> InstanceStatus:
    now = now or datetime.now(UTC)
    meta = obj.get("metadata") or {}
    status = given if isinstance(given := obj.get("status"), dict) else {}
    health, message = kro_health(obj)
    result = InstanceStatus(obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace"), meta.get("name", ""),
                            found=True, state=status.get("state"), health=health, message=message,
                            conditions=list(status.get("conditions") or []))
    ready = next((c for c in result.conditions if c.get("type") == "Ready"), None)
    since = parse_time((ready or {}).get("lastTransitionTime")) or parse_time(meta.get("creationTimestamp"))
    result.since = since.isoformat() if since else None
    ref = f"{result.kind.lower()} {result.name}" + (f" -n {result.namespace}" if result.namespace else "")
    if not status:
        result.advice.append(f"kro has not reported any status: check that the kro controller runs and that the "
                             f"ResourceGraphDefinition for {result.kind} is Active (`kubectl get rgd`)")
    elif health == "Degraded":
        failing = [c for c in result.conditions if c.get("status") == "False"]
        reasons = "; ".join(f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".strip()
                            for c in failing) or message
        result.advice.append(f"{message}. Conditions: {reasons}. Fix the instance's spec or what the "
                             f"ResourceGraphDefinition creates from it; `kubectl describe {ref}`")
    elif health == "Progressing":
        if since is not None and now - since > stuck_after:
            result.advice.append(f"{result.state or 'no state'} for {_span(now - since)} "
                                 f"(since {since.strftime('%H:%M UTC')}): {message}; `kubectl describe {ref}` and "
                                 f"the kro controller's log say what it waits for")
    return result


def read_instance(read: ClusterReader, api_version: str, kind: str, namespace: str | None, name: str,
                  plurals: dict | None = None, now: datetime | None = None,
                  stuck_after: timedelta = STUCK_AFTER) -> InstanceStatus:
    group, _, version = api_version.rpartition("/")
    plurals = plurals if plurals is not None else read.custom_kinds()
    missing = InstanceStatus(api_version, kind, namespace, name, health="Missing")
    if (group, kind) not in plurals:
        missing.advice.append(f"the API server does not know {kind}.{group}: the ResourceGraphDefinition that "
                              f"defines it is not installed or not Active")
        return missing
    plural, _ = plurals[(group, kind)]
    obj = read.get(group, version, plural, name, namespace=namespace)
    if obj is None:
        missing.advice.append(f"{kind} {name} does not exist yet: the Application has not synced it "
                              f"(see the Application's status)")
        return missing
    return instance_status(obj, now=now, stuck_after=stuck_after)


# -- environments ----------------------------------------------------------------------------


@record
class EnvStatus:
    name: str
    path: str
    application: AppStatus | None
    instances: list[InstanceStatus]

    @property
    def ok(self) -> bool:
        app_ok = self.application is not None and self.application.found and \
            self.application.sync == "Synced" and self.application.health == "Healthy"
        return app_ok and all(i.health == "Healthy" for i in self.instances)

    def as_json(self) -> dict:
        return {"name": self.name, "path": self.path, "ok": self.ok,
                "application": asdict(self.application) if self.application else None,
                "instances": [asdict(i) for i in self.instances]}


def application_of(env, repo) -> tuple[str, str] | None:
    """(name, namespace) of the environment's Application: configured, else the one of `repo` whose
    source path is the environment's folder."""
    if env.application:
        return env.application["name"], env.application.get("namespace", DEFAULT_APP_NAMESPACE)
    from wavegate.argocd.application import Application

    wanted = env.path.strip("/").removeprefix("./")
    for app in Application.all_in(repo):
        for source in app.sources:
            if source.path is not None and source.path.strip("/").removeprefix("./") == wanted:
                return app.name, app.manifest.namespace or DEFAULT_APP_NAMESPACE
    return None


def _destination_namespace(repo, app_ref) -> str | None:
    """Where Argo CD puts namespaced objects that name no namespace: the Application's destination."""
    from wavegate.argocd.application import Application

    for app in Application.all_in(repo):
        if app_ref and app.name == app_ref[0]:
            return app.destination_namespace
    return None


def kro_kinds(repo) -> set[tuple[str, str]]:
    """(group, kind) of the kinds the repository's ResourceGraphDefinitions define, plus kro.run."""
    kinds = set()
    for rgd in repo.by_kind("ResourceGraphDefinition", KRO_GROUP):
        schema = rgd.get("spec", "schema", default={}) or {}
        if isinstance(schema, dict) and schema.get("kind"):
            kinds.add((schema.get("group") or KRO_GROUP, schema["kind"]))
    return kinds


def env_status(read: ClusterReader, env, repo, now: datetime | None = None,
               stuck_after: timedelta = STUCK_AFTER) -> EnvStatus:
    now = now or datetime.now(UTC)
    app_ref = application_of(env, repo)
    if app_ref is None:
        app = AppStatus(f"<no Application syncs {env.path}>", DEFAULT_APP_NAMESPACE)
        app.advice.append(f"no Application in the repository has source.path {env.path}: set `application:` of "
                          f"environment {env.name} in .wavegate.yaml")
    else:
        app = read_application(read, *app_ref, now=now, stuck_after=stuck_after)
    extra = kro_kinds(repo)
    prefix = env.path.strip("/") + "/"
    instances = []
    plurals = None
    for manifest in repo.manifests:
        if not manifest.path.startswith(prefix):
            continue
        if manifest.group != KRO_GROUP and (manifest.group, manifest.kind) not in extra:
            continue
        if manifest.kind == "ResourceGraphDefinition":
            continue
        if plurals is None:
            plurals = read.custom_kinds()
        namespace = manifest.namespace or _destination_namespace(repo, app_ref)
        instances.append(read_instance(read, manifest.api_version, manifest.kind, namespace, manifest.name or "",
                                       plurals=plurals, now=now, stuck_after=stuck_after))
    return EnvStatus(env.name, env.path, app, instances)


# -- the command -----------------------------------------------------------------------------


def add_parser(subparsers) -> argparse.ArgumentParser:
    from wavegate.cluster import READ_PROVIDERS

    sub = subparsers.add_parser(
        "status", help="each environment's Argo CD Application and kro instances, and what to do when stuck",
        description="Read from the cluster each environment's Argo CD Application (sync status, revision, health, "
                    "last sync) and every kro instance its folder declares (state, conditions), and say what to do "
                    "when something is stuck. Exit 0 when everything is Synced/Healthy/Ready, 1 otherwise.",
        epilog="Examples:\n  wavegate status\n  wavegate status --env staging --format json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("path", nargs="?", default=".", type=Path, help="repository (default: .)")
    sub.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: PATH/.wavegate.yaml)")
    sub.add_argument("--env", metavar="NAME", help="only this environment (default: every environment)")
    sub.add_argument("--format", choices=("text", "json"), default="text")
    sub.add_argument("--cluster", choices=READ_PROVIDERS, default="kubeconfig",
                     help="where to read status (default: kubeconfig, the current context)")
    sub.add_argument("--context", metavar="NAME", help="kubeconfig context")
    sub.add_argument("--stuck-after", type=int, default=int(STUCK_AFTER.total_seconds() // 60), metavar="MINUTES",
                     help="how long OutOfSync/Progressing/IN_PROGRESS may last before it counts as stuck (default: 10)")
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.set_defaults(handler=cmd_status)
    return sub


def cmd_status(args, cluster=None) -> int:
    from wavegate import pipeline
    from wavegate.cluster import open_cluster
    from wavegate.cluster.base import ClusterError
    from wavegate.config import load_config
    from wavegate.errors import UsageError

    config = load_config(args.path, args.config)
    if not config.environments:
        raise UsageError(f"{config.path or args.path / '.wavegate.yaml'}: no `environments:`; status reads each "
                         f"environment's Application and kro instances")
    envs = [config.environment(args.env)] if args.env else list(config.environments)
    base = config.path.parent if config.path else args.path
    repo = pipeline.prepare(pipeline.Options(root=base, config_file=args.config)).loaded
    stuck = timedelta(minutes=args.stuck_after)
    options = {"context": args.context} if args.cluster == "kubeconfig" and args.context else {}
    try:
        owned = cluster is None
        cluster = cluster or open_cluster(args.cluster, **options).start()
        try:
            with cluster.reader() as read:
                results = [env_status(read, env, repo, stuck_after=stuck) for env in envs]
        finally:
            if owned:
                cluster.stop()
    except ClusterError as error:
        raise UsageError(str(error)) from None
    if args.format == "json":
        print(json.dumps({"version": 1, "environments": [r.as_json() for r in results]}, indent=2))
    else:
        sys.stdout.write(render_text(results))
    return 0 if all(r.ok for r in results) else 1


def render_text(results: list[EnvStatus]) -> str:
    out = []
    for env in results:
        app = env.application
        out.append(f"{env.name} ({env.path}): {'ok' if env.ok else 'needs attention'}")
        if app is not None:
            if app.found:
                rev = (app.revision or ", ".join(app.revisions) or "no revision")[:12]
                when = f", last sync {app.operation_phase or '?'} at {app.finished_at}" if app.finished_at else ""
                out.append(f"  Application {app.namespace}/{app.name}: {app.sync} {app.health} at {rev}{when}")
                if app.health_message:
                    out.append(f"    health: {app.health_message}")
            else:
                out.append(f"  Application {app.namespace}/{app.name}: not found")
            out += [f"    -> {a}" for a in app.advice]
        for inst in env.instances:
            where = f"{inst.namespace}/" if inst.namespace else ""
            state = inst.state or ("missing" if not inst.found else "no state")
            out.append(f"  {inst.kind} {where}{inst.name}: {state}, {inst.health}"
                       + (f" ({inst.message})" if inst.message and inst.health != "Healthy" else ""))
            for c in inst.conditions:
                out.append(f"    {c.get('type')}={c.get('status')}"
                           + (f" {c.get('reason')}" if c.get("reason") else "")
                           + (f": {c.get('message')}" if c.get("message") else ""))
            out += [f"    -> {a}" for a in inst.advice]
    return "\n".join(out) + "\n"
