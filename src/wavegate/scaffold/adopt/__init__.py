"""`wavegate adopt`: take CICDPipelines created by `kubectl apply` under GitOps (migration phase 2).

For each instance read from the cluster, adopt writes one complete GitOps repository through the
same golden-path skeleton `wavegate init` renders (waves, Application, AppProject, catalog entity,
CI, .wavegate.yaml), then rewrites `manifests/kro-cicd-pipeline.yaml` so that it says exactly what
the cluster has: the live apiVersion, kind, namespace and name, and the live `spec`, field for
field. Values the skeleton needs come from the instance (`spec.application.name` -> appname,
`metadata.namespace` -> namespace, `spec.aws.*`, `spec.application.*`, `spec.gitlab.*`, the
`backstage.io/created-by` annotation); what a cluster cannot tell (`argocd_hostname`, and anything
missing from the instance) comes from `--values`.

What is stripped, and why
-------------------------
Only what the server or a controller owns, never what a person wrote:

* `status` (kro writes it through the status subresource), and `metadata.uid`, `resourceVersion`,
  `generation`, `creationTimestamp`, `selfLink`, `managedFields`, `deletionTimestamp`,
  `deletionGracePeriodSeconds` (the API server's), and `generateName` (the name it produced is kept);
* the `kubectl.kubernetes.io/last-applied-configuration` annotation (kubectl's client-side record);
* labels and annotations under kro's reserved prefixes `kro.run/` and `internal.kro.run/` (kro's
  instance labeler owns them; kro refuses them in RGD templates as "reserved for internal use"),
  and kro's finalizer `kro.run/finalizer`. Other labels, annotations and finalizers are kept.
* `ownerReferences` are never stripped silently: an instance that has an owner is refused (the
  owner's controller, not Git, decides about it; adopt its owner instead).

Fields equal to their schema defaults (e.g. `spec.aws.resourcePrefix: peeks` filled in by the API
server) are KEPT: removing them would change nothing on the server today, but the repository would
then stop saying what runs, and a later change of the RGD's default would silently change a running
pipeline instead of through a merge request.

Metadata: the live labels and annotations win over the skeleton's; the skeleton's golden-path
metadata that the instance lacks (the `argocd.argoproj.io/sync-wave` annotation, the
`app.kubernetes.io/*` labels the catalog entity selects on) is added, and adopt lists every
addition. The first sync then patches only those metadata keys (metadata never bumps
`metadata.generation`; kro sees no spec change). `--exact-metadata` writes the live labels and
annotations only, so the first sync has nothing at all to change.

Why the Application takes the objects over instead of recreating them
----------------------------------------------------------------------
Argo CD matches what Git declares to live objects by identity (group, kind, namespace, name), and
adopt writes that identity from the live object. The live object is found, compared, and -- if it
differs at all -- patched by an apply; Argo CD 3's annotation tracking adds its
`argocd.argoproj.io/tracking-id` annotation in the same patch. Nothing is deleted or created:

* no `Replace=true` / `Force=true` sync options (those delete and re-create, and kro would delete
  everything the instance made with it); `check_takeover` refuses a skeleton that gains them;
* no hook annotations (a hook is deleted and re-created on every sync);
* `prune: true` only deletes objects the Application tracks that Git no longer declares; the adopted
  objects are declared, so they are never pruned. `PrunePropagationPolicy` only matters for pruned
  objects, so it cannot touch them either;
* a client-side apply's three-way merge deletes the keys of the old last-applied configuration that
  the new manifest drops; the adopted manifest carries the complete live spec and every live label
  and annotation, which contain everything the old `kubectl apply` wrote, so nothing is dropped;
* a server-side apply (`ServerSideApply=true`) sets the same values the current field managers own,
  which is no conflict and no change.

The Namespace already existed before the repository did, and may hold more than this pipeline, so
the adopted `manifests/namespace.yaml` also carries `argocd.argoproj.io/sync-options: Delete=false`:
deleting the Application (its resources finalizer) leaves the namespace alone. An instance already
tracked by an Argo CD Application (a tracking-id annotation) is refused: two Applications must not
own one object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.scaffold.adopt.derive import LAST_APPLIED, derive_values, read_extra_values, strip
from wavegate.scaffold.adopt.model import Adopted, AdoptError, describe, summary
from wavegate.scaffold.adopt.publish import project_path, publish
from wavegate.scaffold.adopt.read import DEFAULT_GROUP, DEFAULT_KIND, fetch_instances, fetch_namespace
from wavegate.scaffold.adopt.write import check_takeover, write_repository

if TYPE_CHECKING:
    from wavegate.cluster.read import ClusterReader


def adopt(read: ClusterReader, out: Path, *, name: str | None = None, namespace: str | None = None, all_: bool = False,
          extra: dict[str, str] | None = None, group: str = DEFAULT_GROUP, kind: str = DEFAULT_KIND,
          exact_metadata: bool = False, force: bool = False) -> list[Adopted]:
    """Adopt one instance (`name`) into `out`, or every instance (`all_`) into `out/<name>`.

    Values are derived and checked for every instance before anything is written."""
    if bool(name) == bool(all_):
        raise AdoptError(["name one instance, or pass --all"])
    instances = fetch_instances(read, name=name, namespace=namespace, group=group, kind=kind)
    plans, problems = [], []
    targets: dict[Path, str] = {}
    for instance in instances:
        try:
            strip(instance)
            values, notes = derive_values(instance, extra)
        except AdoptError as error:
            problems += error.problems
            continue
        target = Path(out) / instance["metadata"]["name"] if all_ else Path(out)
        if target in targets:
            problems.append(f"{describe(instance)} and {targets[target]} would both be written to {target}; "
                            f"adopt them one at a time with different --out")
        targets[target] = describe(instance)
        plans.append((instance, values, notes, target))
    if problems:
        raise AdoptError(problems)
    namespaces: dict[str, dict | None] = {}
    results = []
    for instance, values, notes, target in plans:
        ns = instance["metadata"].get("namespace", "")
        if ns not in namespaces:
            namespaces[ns] = fetch_namespace(read, ns) if ns else None
        results.append(write_repository(instance, values, target, live_namespace=namespaces[ns],
                                        exact_metadata=exact_metadata, force=force, notes=notes))
    shared: dict[str, list[str]] = {}
    for result in results:
        shared.setdefault(result.namespace, []).append(result.name)
    for result in results:
        others = [n for n in shared[result.namespace] if n != result.name]
        if others:
            result.notes.append(f"namespace {result.namespace} is also declared by the adopted repositories of "
                                f"{', '.join(others)}: Argo CD reports it as a shared resource; keep it in one "
                                f"repository (Delete=false keeps it when an Application is deleted)")
    return results


__all__ = ["LAST_APPLIED", "AdoptError", "Adopted", "adopt", "check_takeover", "derive_values", "fetch_instances",
           "project_path", "publish", "read_extra_values", "strip", "summary", "write_repository"]
