"""Talking to the API server for the dry-run: discovery, server-side apply, waiting for CRDs.

Everything goes through the official kubernetes client's dynamic client on a `Cluster`
(DESIGN.md invariant 5). On a cluster wavegate does not own, every write carries dryRun=All.
"""

from __future__ import annotations

import json
import time

from wavegate.record import field, record

FIELD_MANAGER = "wavegate"


@record
class Outcome:
    """What the server said about one object."""

    applied: bool
    status: int = 200
    message: str = ""
    reason: str = ""
    fields: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_kind: bool = False


class Server:
    def __init__(self, cluster):
        from wavegate.cluster.discovery import dynamic_client

        self.cluster = cluster
        self.api = cluster.api_client()
        self.dynamic = dynamic_client(self.api)
        self.dry_run = cluster.dry_run_only

    def close(self) -> None:
        self.api.close()

    def resource(self, api_version: str, kind: str):
        """The API resource for a kind, or None when the server does not serve it (yet)."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None

    def refresh_discovery(self) -> None:
        self.dynamic.resources.invalidate_cache()

    def apply(self, body: dict, namespace: str | None) -> Outcome:
        """Server-side apply `body` with strict field validation and the `wavegate` field manager."""
        from kubernetes.client.exceptions import ApiException

        resource = self.resource(body.get("apiVersion", ""), body.get("kind", ""))
        if resource is None:
            self.refresh_discovery()  # a CRD from an earlier wave may have just become served
            resource = self.resource(body.get("apiVersion", ""), body.get("kind", ""))
        if resource is None:
            return Outcome(applied=False, status=404, unknown_kind=True, reason="NotFound",
                           message=f"the server could not find the requested resource: no kind {body.get('kind')!r} "
                                   f"is served for apiVersion {body.get('apiVersion')!r}")
        params = {"field_manager": FIELD_MANAGER, "force_conflicts": True,
                  "query_params": [("fieldValidation", "Strict")]}
        if self.dry_run:
            params["dry_run"] = "All"
        if resource.namespaced:
            body = {**body, "metadata": {**body.get("metadata", {}), "namespace": namespace or "default"}}
        if not (body.get("metadata") or {}).get("name"):  # generateName: what apply (and Argo CD's sync) refuses
            return Outcome(applied=False, status=422, reason="Invalid",
                           message="metadata.name: Required value: name is required (generateName is only for "
                                   "objects created, such as Argo CD hooks, not applied)", fields=["metadata.name"])
        path = resource.path(name=body["metadata"]["name"], namespace=body["metadata"].get("namespace")
                             if resource.namespaced else None)
        try:
            # serialize=False: the raw response, whose headers carry the server's warnings.
            response = self.dynamic.request("patch", path, body=body, content_type="application/apply-patch+yaml",
                                            serialize=False, **params)
        except ApiException as error:
            return _refusal(error)
        return Outcome(applied=True, status=response.status, warnings=_warnings(response.headers))

    def wait_established(self, crd_names: list[str], timeout: float = 30.0) -> list[str]:
        """Wait until every named CRD is Established and discovery serves its kind; the names
        still waiting when time runs out.

        Established alone is not enough: the API server publishes a new kind in discovery a moment
        later, and an apply in that moment finds no such kind."""
        if self.dry_run or not crd_names:
            return []
        resource = self.resource("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        waiting = set(crd_names)
        refused: set[str] = set()
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                try:
                    crd = self.dynamic.get(resource, name=name).to_dict()
                except Exception:  # noqa: BLE001 - not there yet
                    continue
                if _condition(crd, "NamesAccepted") == "False":  # (a name taken by another CRD: never served)
                    refused.add(name)
                    waiting.discard(name)
                elif _condition(crd, "Established") == "True" and self._served(crd):
                    waiting.discard(name)
            if waiting:
                time.sleep(0.05)
        return sorted(waiting | refused)

    def _served(self, crd: dict) -> bool:
        spec = crd.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind", "")
        versions = [v["name"] for v in spec.get("versions") or [] if v.get("served") and v.get("name")]
        if not versions:
            return True  # nothing to serve; applying its kinds fails however long we wait
        api_version = f"{spec.get('group', '')}/{versions[0]}"
        if self.resource(api_version, kind) is not None:
            return True
        self.refresh_discovery()
        return self.resource(api_version, kind) is not None


def _condition(crd: dict, kind: str) -> str | None:
    """The status ("True", "False", "Unknown") of the CRD's condition `kind`, None when it has none."""
    conditions = (crd.get("status") or {}).get("conditions") or []
    return next((c.get("status") for c in conditions if isinstance(c, dict) and c.get("type") == kind), None)


def _warnings(headers) -> list[str]:
    if not headers:
        return []
    if hasattr(headers, "getlist"):
        values = headers.getlist("Warning")
    elif hasattr(headers, "get_all"):
        values = headers.get_all("Warning")
    else:
        values = [headers.get("Warning")]
    found = []
    for value in values or []:
        if not value:
            continue
        # RFC 7234 warning: `299 - "text"`; several may be joined with commas.
        for part in value.split('299 - '):
            text = part.strip().strip(",").strip().strip('"')
            if text:
                found.append(text)
    return found


def _refusal(error) -> Outcome:
    try:
        status = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        status = {}
    causes = (status.get("details") or {}).get("causes") or []
    return Outcome(applied=False, status=error.status or 0,
                   message=status.get("message") or str(error.reason or error),
                   reason=status.get("reason") or "",
                   fields=[c["field"] for c in causes if c.get("field")],
                   warnings=_warnings(getattr(error, "headers", None)))
