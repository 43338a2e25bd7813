"""spec.schema.status: each field an expression that reads a resource or schema; conditions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wavegate.findings import Finding
from wavegate.kro import graph as kgraph
from wavegate.kro import simpleschema as ss
from wavegate.load import Manifest
from wavegate.validators.kro.expressions import short, standalone
from wavegate.validators.kro.rules import SCHEMA_PATH, STATUS


def check_status(m: Manifest, schema: dict, graph: kgraph.Graph) -> Iterable[Finding]:
    status = schema.get("status")
    if status is None:
        return
    base = SCHEMA_PATH + ("status",)
    if not isinstance(status, dict):
        yield STATUS.at(m, base, f"status must be a map of field: ${{...}}, got a {ss.go_type_name(status)}", key=False)
        return
    for key, value in status.items():
        path = base + (key,)
        if key == "conditions":
            yield from _status_conditions(m, path, value)
            continue
        yield from _status_leaves(m, path, value, graph)


def _status_conditions(m: Manifest, path: tuple, value: Any) -> Iterable[Finding]:
    if not isinstance(value, list):
        yield STATUS.at(m, path, f"status.conditions must be a list, got {ss.go_type_name(value)}",
                        hint="List ${runtime.newCondition(...)} expressions, or remove conditions.", key=False)
        return
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not standalone(entry):
            yield STATUS.at(m, path + (i,), f"status.conditions[{i}] must be a CEL expression string, got "
                            f"{ss.go_type_name(entry) if not isinstance(entry, str) else repr(short(entry))}",
                            hint="Write each condition as one ${runtime.newCondition(...)}.", key=False)


def _status_leaves(m: Manifest, path: tuple, value: Any, graph: kgraph.Graph) -> Iterable[Finding]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _status_leaves(m, path + (key,), child, graph)
        return
    if isinstance(value, list):
        for i, child in enumerate(value):
            yield from _status_leaves(m, path + (i,), child, graph)
        return
    dotted = ".".join(str(p) for p in path[2:])
    if not isinstance(value, str) or "${" not in value:
        yield STATUS.at(m, path, f"status fields without expressions are not supported: [{dotted}] is {value!r}",
                        hint="Status is computed by kro; write a ${...} expression that reads a resource, or remove the field.",
                        key=False)
        return
    expressions = [e for e in graph.expressions if e.path == path]
    if expressions and not any(e.roots for e in expressions):  # unknown roots have their own finding
        yield STATUS.at(m, path, f"instance status field must refer to a resource or schema: {dotted}",
                        hint="Read a resource of this RGD (or schema) in the expression.", key=False)
