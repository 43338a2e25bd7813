"""The sync simulation: prerequisites first, then each Application's waves in Argo CD's order,
applied to a real API server; what the server refuses becomes a finding at the line that caused it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from wavegate.argocd import model
from wavegate.argocd.application import Application
from wavegate.dryrun.plan import SyncPlan, argocd_plan, build_plans
from wavegate.dryrun.server import Outcome, Server
from wavegate.findings import Finding
from wavegate.kube import is_crd, is_rgd
from wavegate.load import Manifest, load
from wavegate.progress import Progress, quiet
from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.rules import declare

_F = "dry-run"
REFUSED = declare(
    id="dry-run-refused", family=_F, severity="error",
    title="The API server refused the object",
    rationale="""The server checks what static validation cannot: admission policies, CEL rules, defaulting,
    strict field validation against the exact schema it serves. What it refuses here, it refuses
    when Argo CD syncs the merge, and the Application stays OutOfSync or Degraded.""")
UNKNOWN_KIND = declare(
    id="dry-run-unknown-kind", family=_F, severity="error",
    title="The kind does not exist on the server when its wave is applied",
    rationale="""Argo CD fails the sync with "the server could not find the requested resource" when a
    resource's kind is not served yet: its CRD is applied later, or comes from a
    ResourceGraphDefinition that kro has not turned into a CRD by then.""")
SERVER_WARNING = declare(
    id="dry-run-server-warning", family=_F, severity="warning",
    title="The API server answered with a warning",
    rationale="""Warnings are how the server announces deprecated APIs, policy warnings (validationActions:
    Warn) and fields it ignores; they become errors in a later release or in another cluster.""")
NOTHING_RENDERED = declare(
    id="dry-run-nothing-rendered", family=_F, severity="error",
    title="An Application renders nothing from this repository",
    rationale="""Argo CD renders an Application's directory source before it syncs anything. A path that does
    not exist is a ComparisonError and the Application never syncs; a path with no manifests syncs
    nothing (and, with pruning, deletes what the Application had). Either way the merge does not do
    what its author meant.""")
PREREQUISITE = declare(
    id="dry-run-prerequisite-refused", family=_F, severity="error",
    title="A prerequisite (CRD, generated CRD or policy) could not be installed",
    rationale="""The dry-run installs the CRDs, the CRDs kro generates from ResourceGraphDefinitions, and the
    admission policies before it syncs the repository; when one is refused, the results of the
    sync would not mean what they say.""")

_FIELD = lazy_compile(r"(?<![\w/.])\.?((?:spec|metadata|data|stringData|binaryData|rules|roleRef|subjects|webhooks|"
                    r"parameters|provisioner|template)(?:\.[\w-]+|\[[^\]\s]+\])*)(?!\w)")


@record
class Applied:
    manifest: Manifest
    outcome: Outcome
    plan: str
    phase: str
    wave: int


@record
class DryRunReport:
    findings: list[Finding] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    prerequisites: int = 0
    seconds: float = 0.0


def prerequisites(schema_paths: tuple[str, ...], policy_dir: str | None, root: Path | None = None) -> list[Manifest]:
    """CRDs and ResourceGraphDefinitions from --schemas/config, and the policy directory's
    ValidatingAdmissionPolicies, bindings and their parameter objects. Their paths are relative to
    the repository `root` when they are inside it (a finding names the file a person edits), else
    absolute."""
    found: list[Manifest] = []
    for raw in schema_paths:
        path = Path(raw)
        repo = load(path) if path.is_dir() else load(path.parent, only=[path.name])
        found.extend(_named(m, repo.root, root) for m in repo.manifests if is_crd(m) or is_rgd(m))
    if policy_dir:
        repo = load(policy_dir, exclude=("fixtures",))
        found.extend(_named(m, repo.root, root) for m in repo.manifests
                     if m.group in ("admissionregistration.k8s.io", "")
                     and m.kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ConfigMap"))
    return found


def _named(manifest: Manifest, folder: Path, root: Path | None) -> Manifest:
    full = (Path(folder) / manifest.path).resolve()
    base = Path(root).resolve() if root is not None else None
    manifest.path = full.relative_to(base).as_posix() if base is not None and full.is_relative_to(base) else str(full)
    return manifest


def dry_run(ctx, cluster, extra: list[Manifest], progress: Progress = quiet) -> DryRunReport:
    started = time.monotonic()
    report = DryRunReport()
    server = Server(cluster)
    try:
        argocd = argocd_plan(ctx)
        if argocd is not None and ctx.schemas is not None:
            extra = extra + argocd_crds(ctx.schemas)
        _install_prerequisites(server, extra, report, progress)
        if argocd is not None:
            for namespace in sorted({t.manifest.namespace for s in argocd.steps for t in s.tasks if t.manifest.namespace}):
                server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, None)
            _sync(server, argocd, report, progress)
        for plan in build_plans(ctx):
            if plan.app is not None and plan.size == 0:
                if plan.sync_set is None or all(source.rendered for source in plan.sync_set.sources):
                    report.findings.append(_nothing_rendered(plan.app, ctx))
                continue  # a source that failed to render is already a render-failed finding
            _sync(server, plan, report, progress)
    finally:
        server.close()
    report.seconds = time.monotonic() - started
    return report


def argocd_crds(store) -> list[Manifest]:
    """CRDs for Argo CD's kinds, made from wavegate's own schemas of them (wavegate.schemas.crd)."""
    from wavegate.schemas.crd import crds_for_group

    return [Manifest("(wavegate's Argo CD schemas)", i, crd) for i, crd in enumerate(crds_for_group(store, model.ARGOCD_GROUP))]


def _install_prerequisites(server: Server, extra: list[Manifest], report: DryRunReport, progress: Progress) -> None:
    if not extra:
        return
    progress(f"installing {len(extra)} prerequisites")
    crds: list[str] = []
    # Namespaces of namespaced prerequisites (policy parameters) first, then CRDs, then the rest.
    for namespace in sorted({m.namespace for m in extra if m.namespace}):
        server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, None)
    ordered = sorted(extra, key=lambda m: (0 if is_crd(m) or is_rgd(m) else 1, m.path))
    for manifest in ordered:
        if crds and not (is_crd(manifest) or is_rgd(manifest)):  # the first object that may be of their kinds
            _wait_for(server, crds, report)
        body = generated_crd(manifest) if is_rgd(manifest) else manifest.data
        if body is None:
            continue
        outcome = server.apply(body, manifest.namespace)
        report.prerequisites += 1
        if not outcome.applied:
            report.findings.append(PREREQUISITE.at_file(
                manifest.path, *manifest.position(()), resource=manifest.ref,
                message=f"{manifest.kind} {manifest.name} could not be installed: {outcome.message}"))
        elif body.get("kind") == "CustomResourceDefinition":
            crds.append(body["metadata"]["name"])
    _wait_for(server, crds, report)
    if any(m.kind.startswith("ValidatingAdmissionPolicy") for m in extra):
        _settle_policies(server)


def _wait_for(server: Server, crds: list[str], report: DryRunReport) -> None:
    """Wait for the prerequisite CRDs applied so far (and forget them)."""
    for name in server.wait_established(crds):
        report.findings.append(PREREQUISITE.at_file("(prerequisites)", message=f"CRD {name} never became Established"))
    crds.clear()


def _settle_policies(server: Server) -> None:
    """The API server enforces a new ValidatingAdmissionPolicy only once its policy informer and
    type checker have seen it (about a second); applying too early silently skips the policy."""
    time.sleep(1.5)


def generated_crd(rgd: Manifest) -> dict | None:
    """The CRD kro generates for a ResourceGraphDefinition (None when the RGD is invalid; the
    static checks report why)."""
    try:
        from wavegate.kro import crd_for_rgd
    except ImportError:
        return None
    try:
        return crd_for_rgd(rgd.data)
    except Exception:  # noqa: BLE001 - an invalid RGD is reported by the kro validator
        return None


def _sync(server: Server, plan: SyncPlan, report: DryRunReport, progress: Progress) -> None:
    created_namespaces: set[str] = set()
    if plan.create_namespace and plan.destination_namespace:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": plan.destination_namespace}}
        if server.apply(namespace, None).applied:
            created_namespaces.add(plan.destination_namespace)
    for step in plan.steps:
        began = time.monotonic()
        crds: list[str] = []
        generated: list[tuple[Manifest, dict]] = []
        for task in step.tasks:
            manifest = task.manifest
            if is_rgd(manifest):
                # kro creates the RGD's CRD asynchronously, after the RGD is accepted: model it
                # as available only once this wave is done.
                crd = generated_crd(manifest)
                if crd is not None:
                    generated.append((manifest, crd))
                continue
            outcome = server.apply(manifest.data, manifest.namespace or plan.destination_namespace)
            if (not outcome.applied and server.dry_run and outcome.status == 404
                    and _missing_namespace(outcome.message) in created_namespaces):
                # dryRun=All persists nothing, so a namespace an earlier wave "created" is absent;
                # Argo CD would have created it by now.
                outcome = Outcome(applied=True, message="namespace created earlier in this sync (dry-run)")
            report.applied.append(Applied(manifest, outcome, plan.name, step.phase, step.wave))
            report.findings.extend(findings_for(manifest, outcome, plan.name))
            if outcome.applied and manifest.kind == "Namespace" and manifest.name:
                created_namespaces.add(manifest.name)
            if outcome.applied and is_crd(manifest) and manifest.name:
                # As Argo CD's sync does (gitops-engine's ensureCRDReady, right after applying a CRD):
                # the objects after it in the same wave may be of its kind.
                server.wait_established([manifest.name])
        for rgd, crd in generated:
            outcome = server.apply(crd, None)
            if outcome.applied:
                crds.append(crd["metadata"]["name"])
            else:
                report.findings.append(PREREQUISITE.at(rgd, ("spec", "schema"),
                                                       f"the CRD generated from {rgd.name} was refused: {outcome.message}"))
        server.wait_established(crds)
        progress(f"{plan.name}: {step.phase} wave {step.wave}: {len(step.tasks)} resources "
                 f"in {time.monotonic() - began:.1f}s")


def _nothing_rendered(app: Application, ctx) -> Finding:
    sources = [s for s in app.sources if s.path is not None and s.chart is None]
    path = sources[0].yaml_path + ("path",) if sources else ("spec",)
    where = ", ".join(repr(s.path) for s in sources) or "no directory source"
    missing = [s.path for s in sources if not os.path.isdir(ctx.repo.root / s.path)]
    why = (f"source path {missing[0]!r} does not exist: Argo CD reports a ComparisonError and syncs nothing"
           if missing else f"source path {where} holds no manifest Argo CD would read: the sync applies nothing")
    return NOTHING_RENDERED.at(app.manifest, path, f"Application {app.name}: {why}",
                               hint="Point spec.source.path at the folder that holds this Application's manifests.")


def _missing_namespace(message: str) -> str | None:
    match = re.search(r'namespaces "([^"]+)" not found', message)
    return match.group(1) if match else None


def findings_for(manifest: Manifest, outcome: Outcome, plan: str) -> list[Finding]:
    found: list[Finding] = []
    if not outcome.applied:
        if outcome.unknown_kind:
            found.append(UNKNOWN_KIND.at(manifest, ("kind",),
                                         f"{manifest.kind} {manifest.name}: {outcome.message} when Application {plan} "
                                         f"applies its wave {model.wave_of(manifest)}",
                                         hint="Put the CRD or ResourceGraphDefinition in an earlier wave, and add "
                                              "SkipDryRunOnMissingResource=true for kinds kro generates.", key=False))
        else:
            path = field_path(outcome)
            found.append(REFUSED.at(manifest, path, f"{manifest.kind} {manifest.name}: {outcome.message}",
                                    hint="The API server rejects this; Argo CD's sync would fail the same way."))
    for warning in outcome.warnings:
        if _argocd_finalizer_advice(manifest, warning):
            continue
        found.append(SERVER_WARNING.at(manifest, field_in(warning), f"{manifest.kind} {manifest.name}: {warning}"))
    return found


def _argocd_finalizer_advice(manifest: Manifest, warning: str) -> bool:
    """The server advises path-qualified finalizer names; Argo CD's own finalizers are the names
    Argo CD reads, so that advice is not for the person to follow."""
    return (manifest.group == model.ARGOCD_GROUP and "domain-qualified finalizer name" in warning
            and any(f'"{name}"' in warning.replace('\\"', '"') for name in model.APPLICATION_FINALIZERS))


def field_path(outcome: Outcome) -> tuple:
    """The document path the server's error names (from its causes, else from its message)."""
    for text in outcome.fields + [outcome.message]:
        path = field_in(text)
        if path:
            return path
    return ()


def field_in(text: str) -> tuple:
    """The document path a server message names first (`spec.containers[0].image`), or ()."""
    match = _FIELD.search(text or "")
    return parse_field(match.group(1)) if match else ()


def parse_field(text: str) -> tuple:
    parts: list = []
    # `containers[0]` is a list index; `nodeSelector[beta.kubernetes.io/os]` a map key.
    for name, index, key in re.findall(r"([\w-]+)|\[(\d+)\]|\[([^\]\s]+)\]", text):
        parts.append(int(index) if index else key or name)
    return tuple(parts)
