"""What kro checks only against the live OpenAPI schemas of the target kinds: said once per RGD, not guessed."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.kro import crd as kcrd
from wavegate.kro import graph as kgraph
from wavegate.load import Manifest
from wavegate.validators.kro.rules import SKIPPED


def check_skipped(m: Manifest, graph: kgraph.Graph, schema: dict, spec_schema: dict) -> Iterable[Finding]:
    kinds: list[str] = []
    for resource in graph.resources:
        source = resource.data.get("template") if isinstance(resource.data.get("template"), dict) else \
            resource.data.get("externalRef") if isinstance(resource.data.get("externalRef"), dict) else None
        if source is None:
            continue
        kind, version = source.get("kind"), source.get("apiVersion")
        if isinstance(kind, str) and isinstance(version, str):
            label = f"{kind} ({version})"
            if label not in kinds:
                kinds.append(label)
    resource_expressions = [e for e in graph.expressions if e.where != kgraph.STATUS]
    status_expressions = [e for e in graph.expressions if e.where == kgraph.STATUS]
    unknown_status: list[str] = []
    if isinstance(schema.get("status"), dict):
        scope = given if (given := schema.get("scope")) in kube.SCOPES else kube.NAMESPACED
        unknown_status = kcrd.infer_status(schema["status"], spec_schema, tuple(graph.ids), scope).unknown_status
    skipped = []
    if kinds:
        skipped.append("template fields and values against the schemas of " + ", ".join(kinds)
                       + ", and whether each resource is namespaced or cluster-scoped")
    if resource_expressions:
        skipped.append(f"the CEL types of {len(resource_expressions)} resource expression"
                       f"{'s' if len(resource_expressions) != 1 else ''} (field types, readyWhen/includeWhen "
                       "returning bool, forEach returning a list)")
    if unknown_status:
        skipped.append(f"the types of status field{'s' if len(unknown_status) != 1 else ''} "
                       + ", ".join(unknown_status) + " (the generated CRD accepts any value there)")
    elif status_expressions:
        skipped.append("the CEL types of the status expressions")
    if not skipped:
        return
    path = ("spec", "resources") if m.get("spec", "resources") is not None else ("spec", "schema")
    yield SKIPPED.at(m, path, "not checked offline, because kro reads these from the live OpenAPI schemas of the "
                     "target kinds: " + "; ".join(skipped),
                     hint="The dry-run against a real API server with these kinds installed covers them.")
