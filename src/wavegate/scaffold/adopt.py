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

import copy
import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wavegate.git import Git, GitError
from wavegate.load import read_yaml
from wavegate.scaffold.init import VALUE_NAMES, VALUES, InitError, init

DEFAULT_GROUP = "kro.run"
DEFAULT_KIND = "CICDPipeline"
PIPELINE_FILE = "manifests/kro-cicd-pipeline.yaml"
NAMESPACE_FILE = "manifests/namespace.yaml"
APPLICATION_FILE = "argocd/application.yaml"

SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "generateName")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CONTROLLER_PREFIXES = ("kro.run/", "internal.kro.run/")
CONTROLLER_FINALIZERS = ("kro.run/finalizer",)
TRACKING_ID = "argocd.argoproj.io/tracking-id"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")
RECREATING_OPTIONS = ("Replace=true", "Force=true")
CREATED_BY = "backstage.io/created-by"
# Namespace metadata the API server sets itself.
SERVER_LABELS = ("kubernetes.io/metadata.name",)

# Where each skeleton value lives in the instance; the rest the cluster cannot tell.
FROM_INSTANCE: dict[str, tuple[str, ...]] = {
    "appname": ("spec", "application", "name"),
    "namespace": ("metadata", "namespace"),
    "aws_region": ("spec", "aws", "region"),
    "aws_account_id": ("spec", "aws", "accountId"),
    "cluster_name": ("spec", "aws", "clusterName"),
    "aws_resource_prefix": ("spec", "aws", "resourcePrefix"),
    "dockerfile_path": ("spec", "application", "dockerfilePath"),
    "deployment_path": ("spec", "application", "deploymentPath"),
    "gitlab_hostname": ("spec", "gitlab", "hostname"),
    "git_username": ("spec", "gitlab", "username"),
    "created_by": ("metadata", "annotations", CREATED_BY),
}
# Values that only fill the CICDPipeline's spec, which adopt replaces with the live spec anyway: a
# live value the golden path would not accept there is reported, not refused.
SPEC_ONLY = ("cluster_name", "dockerfile_path", "deployment_path")


class AdoptError(Exception):
    """Problems that stop an adoption; each line of `problems` is one thing to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Adopted:
    """One adopted instance: where its repository went and what the first sync will change."""

    namespace: str
    name: str
    target: Path
    values: dict[str, str]
    files: list[Path] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)       # what was removed as server-owned
    added: list[str] = field(default_factory=list)          # metadata the first sync adds
    notes: list[str] = field(default_factory=list)          # kept live values that differ from the golden path


def describe(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} {meta.get('namespace', '')}/{meta.get('name', '?')}".replace(" /", " ")


# -- reading the cluster ----------------------------------------------------------------------

def fetch_instances(api_client, *, name: str | None = None, namespace: str | None = None,
                    group: str = DEFAULT_GROUP, kind: str = DEFAULT_KIND) -> list[dict]:
    """The instances of `group`/`kind`: one by `name` (in `namespace`, else searched in every
    namespace), or all in `namespace`, or all in every namespace. Raises AdoptError."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    dynamic = DynamicClient(api_client)
    try:
        candidates = [r for r in dynamic.resources.search(group=group, kind=kind) if "/" not in r.name]
    except ApiException as error:
        raise AdoptError([f"cannot read the API server's discovery: {error.status} {error.reason}"]) from None
    served = [r for r in candidates if getattr(r, "preferred", False)] or candidates
    if not served:
        raise AdoptError([f"the cluster serves no kind {kind!r} in group {group!r}: is the "
                          f"ResourceGraphDefinition installed (kubectl get crd)? see --group/--kind"])
    resource = served[0]
    try:
        if name:
            if namespace:
                try:
                    return [dynamic.get(resource, name=name, namespace=namespace).to_dict()]
                except ApiException as error:
                    if error.status == 404:
                        raise AdoptError([f"no {kind} {name!r} in namespace {namespace!r}"]) from None
                    raise
            found = [item for item in _items(dynamic.get(resource))
                     if (item.get("metadata") or {}).get("name") == name]
            if not found:
                raise AdoptError([f"no {kind} named {name!r} in any namespace"])
            if len(found) > 1:
                where = ", ".join(sorted(i["metadata"].get("namespace", "") for i in found))
                raise AdoptError([f"{kind} {name!r} exists in several namespaces ({where}); pass --namespace"])
            return found
        items = _items(dynamic.get(resource, namespace=namespace) if namespace else dynamic.get(resource))
    except ApiException as error:
        raise AdoptError([f"reading {kind} from the cluster failed: {error.status} {error.reason}"]) from None
    except ResourceNotFoundError as error:
        raise AdoptError([f"reading {kind} from the cluster failed: {error}"]) from None
    if not items:
        where = f"namespace {namespace!r}" if namespace else "any namespace"
        raise AdoptError([f"no {kind} in {where}"])
    return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def fetch_namespace(api_client, namespace: str) -> dict | None:
    """The live Namespace object, or None when it cannot be read."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient

    dynamic = DynamicClient(api_client)
    try:
        resource = dynamic.resources.get(api_version="v1", kind="Namespace")
        return dynamic.get(resource, name=namespace).to_dict()
    except ApiException:
        return None


def _items(result) -> list[dict]:
    data = result.to_dict()
    return list(data.get("items") or [])


# -- stripping --------------------------------------------------------------------------------

def _controller_key(key: str) -> bool:
    return key.startswith(CONTROLLER_PREFIXES)


def strip(obj: dict, *, server_labels: Iterable[str] = ()) -> tuple[dict, list[str]]:
    """`obj` without what the server and controllers own; also the list of what was removed.

    Raises AdoptError for objects that must not be adopted: owned by another object, being
    deleted, or already tracked by an Argo CD Application."""
    obj = copy.deepcopy(obj)
    meta = obj.get("metadata") or {}
    what = describe(obj)
    problems = []
    if meta.get("ownerReferences"):
        owners = ", ".join(f"{o.get('kind')}/{o.get('name')}" for o in meta["ownerReferences"])
        problems.append(f"{what} is owned by {owners}: its owner's controller manages it, not Git; adopt the owner instead")
    if meta.get("deletionTimestamp"):
        problems.append(f"{what} is being deleted (deletionTimestamp {meta['deletionTimestamp']}); nothing to adopt")
    tracked = (meta.get("annotations") or {}).get(TRACKING_ID)
    if tracked:
        problems.append(f"{what} is already tracked by an Argo CD Application ({TRACKING_ID}: {tracked}); "
                        f"two Applications must not own one object")
    if problems:
        raise AdoptError(problems)
    removed: list[str] = []
    if "status" in obj:
        del obj["status"]
        removed.append("status")
    for key in SERVER_METADATA:
        if key in meta:
            del meta[key]
            removed.append(f"metadata.{key}")
    for section in ("labels", "annotations"):
        entries = meta.get(section)
        if not isinstance(entries, dict):
            continue
        for key in sorted(entries):
            if key == LAST_APPLIED or _controller_key(key) or (section == "labels" and key in server_labels):
                del entries[key]
                removed.append(f"metadata.{section}[{key}]")
        if not entries:
            del meta[section]
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list):
        kept = [f for f in finalizers if f not in CONTROLLER_FINALIZERS]
        removed += [f"metadata.finalizers[{f}]" for f in finalizers if f in CONTROLLER_FINALIZERS]
        if kept:
            meta["finalizers"] = kept
        else:
            del meta["finalizers"]
    return obj, removed


# -- values -----------------------------------------------------------------------------------

def read_extra_values(path: Path) -> dict[str, str]:
    """The `--values` file: any subset of the skeleton's value names (a `values:` wrapper is fine)."""
    if not path.is_file():
        raise AdoptError([f"{path}: no such values file"])
    documents, problems = read_yaml(path, rel=str(path))
    if problems:
        raise AdoptError([f"{p.path}:{p.line}:{p.column}: {p.message}" for p in problems])
    if not documents:
        return {}
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise AdoptError([f"{path}: must hold one mapping of value names to values"])
    data = documents[0].data
    if set(data) == {"values"} and isinstance(data["values"], dict):
        data = data["values"]
    errors, values = [], {}
    for key, raw in data.items():
        if key not in VALUE_NAMES:
            close = difflib.get_close_matches(str(key), VALUE_NAMES, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(f"{path}: unknown value {key!r}{guess} (known: {', '.join(VALUE_NAMES)})")
        elif raw is None or raw == "":
            continue
        elif isinstance(raw, bool) or not isinstance(raw, (str, int)):
            errors.append(f"{path}: {key} must be a string, not a YAML {type(raw).__name__}")
        else:
            values[key] = str(raw)
    if errors:
        raise AdoptError(errors)
    return values


def _at(obj: dict, path: tuple[str, ...]) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def derive_values(obj: dict, extra: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The skeleton values for instance `obj` (live or stripped), completed by `extra` (--values).

    The instance wins: a `--values` entry that contradicts it is an error, since the repository
    would then say something the cluster does not have. Returns (values, notes); raises
    AdoptError naming every missing or malformed value and the --values key that supplies it."""
    extra = dict(extra or {})
    what = describe(obj)
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    notes: list[str] = []
    for name, path in FROM_INSTANCE.items():
        live = _at(obj, path)
        if live is None or live == "":
            continue
        if isinstance(live, bool) or not isinstance(live, (str, int)):
            problems.append(f"{what}: {'.'.join(path)} is a {type(live).__name__}, not a string; cannot use it as {name}")
            continue
        live = str(live)
        if name in extra and extra[name] != live and name != "created_by":
            problems.append(f"{what}: --values says {name}: {extra[name]!r} but the cluster has "
                            f"{'.'.join(path)}: {live!r}; the repository must say what the cluster has, "
                            f"so remove {name} from the --values file")
            continue
        values[name], origin[name] = live, ".".join(path)
    for name, value in extra.items():
        if name not in values:
            values[name], origin[name] = value, "--values"
    for spec in VALUES:
        if spec.name in values:
            continue
        if spec.default is not None:
            try:
                values[spec.name] = spec.default.format(**values)
            except KeyError:  # a default built from a value that is itself missing (reported below)
                continue
            origin[spec.name] = "default"
            continue
        instance_path = FROM_INSTANCE.get(spec.name)
        told = f"the instance has no {'.'.join(instance_path)}" if instance_path else "the cluster cannot tell it"
        problems.append(f"{what}: {spec.name} is missing ({told}); add `{spec.name}: ...` to the --values file")
    for spec in VALUES:
        given = values.get(spec.name)
        if given is None:
            continue
        problem = spec.check(given)
        if not problem:
            continue
        if spec.name in SPEC_ONLY and origin.get(spec.name, "").startswith("spec."):
            notes.append(f"{origin[spec.name]}: {problem}; kept as the cluster has it (the golden path would not "
                         f"generate it)")
            continue
        where = f"from {origin[spec.name]}" if origin.get(spec.name) else ""
        problems.append(f"{what}: {spec.name} {where}: {problem}")
    if problems:
        raise AdoptError(problems)
    return values, notes


# -- writing the repository -------------------------------------------------------------------

def _ordered_like(value: Any, template: Any) -> Any:
    """`value` with its mapping keys in the order `template` uses (extra keys after, sorted)."""
    if isinstance(value, dict):
        shape = template if isinstance(template, dict) else {}
        keys = [k for k in shape if k in value] + sorted(k for k in value if k not in shape)
        return {k: _ordered_like(value[k], shape.get(k)) for k in keys}
    if isinstance(value, list):
        return [_ordered_like(v, template[0] if isinstance(template, list) and template else None) for v in value]
    return value


def _diff_paths(a: Any, b: Any, path: str = "spec") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in list(a) + [k for k in b if k not in a]:
            found += _diff_paths(a.get(key), b.get(key), f"{path}.{key}")
        return found
    return [] if a == b else [path]


def _merge_metadata(rendered: dict, live: dict, exact: bool, kind: str, added: list[str]) -> dict:
    """Live labels/annotations win; the skeleton's are added where the live object lacks them
    (none with `exact`). Records each addition in `added`."""
    meta = {"name": live["name"]}
    if live.get("namespace"):
        meta["namespace"] = live["namespace"]
    for section in ("labels", "annotations"):
        merged = dict(live.get(section) or {})
        if not exact:
            for key, value in (rendered.get(section) or {}).items():
                if key not in merged:
                    merged[key] = value
                    added.append(f"{kind} metadata.{section}[{key}]={value}")
        if merged:
            meta[section] = merged
    for key in ("finalizers",):
        if live.get(key):
            meta[key] = live[key]
    return meta


def _header(text: str) -> str:
    """The leading comment block of a rendered skeleton file."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "\n".join(lines).rstrip() + "\n" if lines else ""


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"}


def _dump(header: str, doc: dict) -> str:
    """YAML for `doc`, every string value double-quoted as the skeleton writes them: an unquoted
    `012345678901` or `yes` would be read back as a number or a boolean by some YAML parser."""
    return header + "".join(_yaml_lines(doc, 0))


def _key(key: Any) -> str:
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS else json.dumps(text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> Iterator[str]:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{_key(key)}:\n"
                yield from _yaml_lines(item, indent + 2 if isinstance(item, dict) else indent + 2)
            else:
                yield f"{pad}{_key(key)}: {_empty(item) if isinstance(item, (dict, list)) else _scalar(item)}\n"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_yaml_lines(item, indent + 2))
                first = lines[0]
                yield f"{pad}- {first[indent + 2:]}"
                yield from lines[1:]
            else:
                yield f"{pad}- {_empty(item) if isinstance(item, (dict, list)) else _scalar(item)}\n"


def _empty(value: Any) -> str:
    return "{}" if isinstance(value, dict) else "[]"


def _read_one(path: Path) -> dict:
    documents, problems = read_yaml(path)
    if problems or len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise AdoptError([f"the skeleton's {path.name} did not render to one object; this is a wavegate defect"])
    return documents[0].data


def check_takeover(target: Path) -> None:
    """Refuse a repository whose Application or manifests would delete and re-create objects."""
    problems = []
    app = _read_one(target / APPLICATION_FILE)
    options = ((app.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []
    for option in options:
        if str(option).replace(" ", "") in RECREATING_OPTIONS:
            problems.append(f"{APPLICATION_FILE}: syncOptions {option} deletes and re-creates objects; an adopted "
                            f"object must be taken over in place")
    for rel in (PIPELINE_FILE, NAMESPACE_FILE):
        annotations = (_read_one(target / rel).get("metadata") or {}).get("annotations") or {}
        for key in HOOK_ANNOTATIONS:
            if key in annotations:
                problems.append(f"{rel}: {key} makes the object a hook, deleted and re-created on every sync")
        for option in str(annotations.get(SYNC_OPTIONS, "")).split(","):
            if option.strip().replace(" ", "") in RECREATING_OPTIONS:
                problems.append(f"{rel}: {SYNC_OPTIONS} {option.strip()} deletes and re-creates the object")
    if problems:
        raise AdoptError(problems)


def write_repository(instance: dict, values: dict[str, str], target: Path, *, live_namespace: dict | None = None,
                     exact_metadata: bool = False, force: bool = False, notes: list[str] | None = None) -> Adopted:
    """Render the golden-path skeleton for `instance` (live, as read) into `target` and make its
    manifests say what the cluster has. Returns what was written and what the first sync adds."""
    clean, removed = strip(instance)
    meta = clean["metadata"]
    result = Adopted(namespace=meta.get("namespace", ""), name=meta["name"], target=Path(target), values=values,
                     stripped=removed, notes=list(notes or []))
    try:
        result.files = init(target, values, variant="single", force=force)
    except InitError as error:
        raise AdoptError(error.problems) from None

    pipeline_path = Path(target) / PIPELINE_FILE
    text = pipeline_path.read_text(encoding="utf-8")
    rendered = _read_one(pipeline_path)
    for path in _diff_paths(rendered.get("spec"), clean.get("spec")):
        result.notes.append(f"{path}: kept the cluster's value (the golden path would write "
                            f"{_at(rendered, tuple(path.split('.'))) !r})")
    for key in ("name", "namespace"):
        if rendered["metadata"].get(key) != meta.get(key):
            result.notes.append(f"metadata.{key}: kept the cluster's {meta.get(key)!r} (the golden path would "
                                f"name it {rendered['metadata'].get(key)!r})")
    document = {"apiVersion": clean["apiVersion"], "kind": clean["kind"],
                "metadata": _merge_metadata(rendered["metadata"], meta, exact_metadata, clean["kind"], result.added)}
    for key, value in clean.items():
        if key not in ("apiVersion", "kind", "metadata"):
            document[key] = _ordered_like(value, rendered.get(key))
    pipeline_path.write_text(_dump(_header(text), document), encoding="utf-8")

    namespace_path = Path(target) / NAMESPACE_FILE
    ns_text = namespace_path.read_text(encoding="utf-8")
    ns_rendered = _read_one(namespace_path)
    ns_meta = {"name": meta.get("namespace")}
    if live_namespace is not None:
        try:
            ns_meta = strip(live_namespace, server_labels=SERVER_LABELS)[0]["metadata"]
        except AdoptError as error:  # e.g. already tracked by another Application: say so, declare it anyway
            result.notes += [f"{problem}; the repository declares it too, so Argo CD reports a shared resource"
                             for problem in error.problems]
    ns_document: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": _merge_metadata(ns_rendered["metadata"], ns_meta, exact_metadata, "Namespace",
                                                               result.added)}
    if not exact_metadata:
        annotations = ns_document["metadata"].setdefault("annotations", {})
        options = [o.strip() for o in str(annotations.get(SYNC_OPTIONS, "")).split(",") if o.strip()]
        if not any(o.startswith("Delete=") for o in options):
            options.append("Delete=false")
            annotations[SYNC_OPTIONS] = ",".join(options)
            result.added.append(f"Namespace metadata.annotations[{SYNC_OPTIONS}]={annotations[SYNC_OPTIONS]}")
    header = _header(ns_text) + ("# Adopted: this namespace existed before the repository, so deleting the Application\n"
                                 "# leaves it alone (Delete=false).\n" if not exact_metadata else "")
    namespace_path.write_text(_dump(header, ns_document), encoding="utf-8")
    check_takeover(Path(target))
    return result


def adopt(api_client, out: Path, *, name: str | None = None, namespace: str | None = None, all_: bool = False,
          extra: dict[str, str] | None = None, group: str = DEFAULT_GROUP, kind: str = DEFAULT_KIND,
          exact_metadata: bool = False, force: bool = False) -> list[Adopted]:
    """Adopt one instance (`name`) into `out`, or every instance (`all_`) into `out/<name>`.

    Values are derived and checked for every instance before anything is written."""
    if bool(name) == bool(all_):
        raise AdoptError(["name one instance, or pass --all"])
    instances = fetch_instances(api_client, name=name, namespace=namespace, group=group, kind=kind)
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
            namespaces[ns] = fetch_namespace(api_client, ns) if ns else None
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


# -- publishing -------------------------------------------------------------------------------

def project_path(values: dict[str, str]) -> str:
    """The GitLab project the skeleton's Application, AppProject and .wavegate.yaml point at."""
    return f"{values['git_username']}/{values['appname']}-cicd"


def publish(target: Path, values: dict[str, str], *, gitlab=None, project: str | None = None,
            push_url: str | None = None, branch: str = "main") -> str:
    """Create the GitLab project (through wavegate.gitlab) and push `target` to it with git.

    `project` must be the one the repository's files point at; `push_url` overrides where git
    pushes (tests: a bare repository). Returns the URL pushed to (without credentials)."""
    expected = project_path(values)
    if project and project != expected:
        raise AdoptError([f"--gitlab-project {project} differs from {expected}, which the repository's Application, "
                          f"AppProject and .wavegate.yaml point at (git_username/appname-cicd); pass "
                          f"git_username in --values or drop --gitlab-project"])
    env = {}
    url = push_url
    if gitlab is not None:
        from wavegate.gitlab import GitLabError

        group, _, repo = expected.rpartition("/")
        try:
            created = gitlab.create_project(group, repo)
        except GitLabError as error:
            raise AdoptError([str(error)]) from None
        url = url or created.http_url_to_repo
        env = gitlab.git_http_env(url)
    if not url:
        raise AdoptError(["nothing to push to: pass --gitlab-url (or set CI_SERVER_URL) or --push-url"])
    git = Git(target, env=env, scrub=gitlab.scrub if gitlab is not None else None)
    try:
        git.run("init", "-q", "-b", branch)
        git.run("add", "-A")
        git.run("-c", "user.name=wavegate adopt", "-c", "user.email=wavegate@localhost",
                "commit", "-q", "-m", "Adopt the CICDPipeline from the cluster (wavegate adopt)")
        git.run("push", "-q", url, f"HEAD:refs/heads/{branch}")
    except GitError as error:  # already scrubbed: no token in it
        raise AdoptError([git.scrub(f"git {error.command} failed in {target}: {error.reason}")]) from None
    return url


def summary(result: Adopted) -> str:
    lines = [f"adopted {result.namespace}/{result.name} -> {result.target} ({len(result.files)} files)"]
    lines += [f"  first sync adds {a}" for a in result.added]
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


__all__ = ["AdoptError", "Adopted", "adopt", "check_takeover", "derive_values", "fetch_instances", "publish",
           "read_extra_values", "strip", "summary", "write_repository"]
