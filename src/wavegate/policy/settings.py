"""A policy set's own settings: the `PolicySet` document (apiVersion wavegate.dev/v1) in a policy
directory, where the policy owners say who approves exceptions, how long one may last, and keep
the exceptions they granted themselves.

    apiVersion: wavegate.dev/v1
    kind: PolicySet
    metadata:
      name: platform-policies
    spec:
      exceptions:
        approvers: platform/security   # GitLab group whose members' approval makes a repository's exception count
        maxLifetimeDays: 90            # a repository's exception may expire at most this many days ahead
        granted:                       # exceptions kept here count without an approval in the merge request
          - policy: pod-security-restricted
            repository: team/legacy-billing      # optional: only for this GitLab project
            resource: {kind: Deployment, namespace: billing, name: billing-batch}
            reason: vendor image runs as root until the 2027 upgrade
            approvedBy: security@example.com
            expires: 2027-03-31

It is wavegate's, not the cluster's: the dry-run installs only the policies, bindings and
ConfigMaps. Without a PolicySet the defaults apply (no approvers group, 90 days, nothing granted).
A policy directory holds at most one.
"""

from __future__ import annotations

import copy
import datetime
import json
from functools import cache

from wavegate import data
from wavegate.findings import Finding
from wavegate.load import Manifest
from wavegate.policy.rules import INVALID
from wavegate.record import record

GROUP, KIND = "wavegate.dev", "PolicySet"
DEFAULT_MAX_LIFETIME_DAYS = 90


@record(frozen=True)
class Settings:
    approvers: str | None = None  # full path of a GitLab group
    max_lifetime_days: int = DEFAULT_MAX_LIFETIME_DAYS
    granted: tuple[dict, ...] = ()  # exception entries as written (dates checked)
    manifest: Manifest | None = None  # where they are written, for findings


def is_settings(manifest: Manifest) -> bool:
    return manifest.group == GROUP and manifest.kind == KIND


@cache
def schema() -> dict:
    """The PolicySet schema; its exception entries are those of .wavegate.yaml plus `repository`."""
    from wavegate.config import config_schema

    found = json.loads(data.read_text("policy-set.schema.json"))
    entry = copy.deepcopy(config_schema()["properties"]["exceptions"]["items"])
    entry["properties"]["repository"] = {
        "description": "The GitLab project (group/project) the exception is for; any repository when absent.",
        "type": "string", "minLength": 1}
    found["properties"]["spec"]["properties"]["exceptions"]["properties"]["granted"]["items"] = entry
    return found


def read(manifests: list[Manifest], source: str) -> tuple[Settings, list[Finding]]:
    """The settings of a policy directory's PolicySet documents (the defaults when there is none)."""
    documents = [m for m in manifests if is_settings(m)]
    if not documents:
        return Settings(), []
    problems: list[Finding] = []
    for extra in documents[1:]:
        problems.append(INVALID.at(extra, ("kind",), f"a second PolicySet in {source} (the first is in "
                                   f"{documents[0].path}); a policy directory has one",
                                   hint="Merge the two into one PolicySet."))
    manifest = documents[0]
    errors = _schema_errors(manifest.data)
    if errors:
        from wavegate.config import _describe  # the configuration's wording of schema errors

        error = errors[0]
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            where += tuple(sorted(set(error.instance) - set(error.schema.get("properties", {})))[:1])
        problems.append(INVALID.at(manifest, where, f"PolicySet {manifest.name!r}: {_describe(error)}",
                                   hint="See `wavegate explain policy-invalid` and policies/README.md for the PolicySet fields."))
        return Settings(manifest=manifest), problems
    spec = manifest.data.get("spec") or {}
    exceptions = spec.get("exceptions") or {}
    granted = []
    for i, entry in enumerate(exceptions.get("granted") or []):
        where = ("spec", "exceptions", "granted", i, "expires")
        if not real_date(entry["expires"]):
            problems.append(INVALID.at(manifest, where, f"PolicySet {manifest.name!r}: granted exception {i} expires "
                                       f"on {entry['expires']!r}, a date that does not exist; it is ignored",
                                       hint="Write the last day it applies as YYYY-MM-DD, e.g. 2027-03-31.", key=False))
            continue
        granted.append({**entry, "index": i})
    return Settings(approvers=exceptions.get("approvers"),
                    max_lifetime_days=exceptions.get("maxLifetimeDays", DEFAULT_MAX_LIFETIME_DAYS),
                    granted=tuple(granted), manifest=manifest), problems


@cache
def _quick_validator():
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema())


def _schema_errors(data) -> list:
    """As config._schema_errors: jsonschema_rs recognises a valid document (jsonschema costs more
    to import than a small repository's whole check), jsonschema judges and explains the rest."""
    try:
        if _quick_validator().is_valid(data):
            return []
    except Exception:  # noqa: BLE001 - a value it cannot take: jsonschema decides
        pass
    import jsonschema

    return sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data), key=lambda e: list(e.absolute_path))


def real_date(value) -> datetime.date | None:
    """The date `value` (YYYY-MM-DD) names, or None when there is no such day (2020-02-30)."""
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None
