"""What the repository says, derived from the live instance: stripped of what the server and
controllers own, and the skeleton's values (the instance's, completed by --values)."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wavegate.argocd.model import TRACKING_ID
from wavegate.load import read_yaml
from wavegate.scaffold.adopt.model import AdoptError, describe
from wavegate.scaffold.init import VALUE_NAMES, VALUES

SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "generateName")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CONTROLLER_PREFIXES = ("kro.run/", "internal.kro.run/")
CONTROLLER_FINALIZERS = ("kro.run/finalizer",)
CREATED_BY = "backstage.io/created-by"

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


def at_path(obj: dict, path: tuple[str, ...]) -> Any:
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
        live = at_path(obj, path)
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
