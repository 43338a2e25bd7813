"""Dependency cycles between an RGD's resources (kro cannot order them), self references included."""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.findings import Finding
from wavegate.kro import graph as kgraph
from wavegate.load import Manifest
from wavegate.validators.kro.rules import CYCLE


def check_cycles(m: Manifest, graph: kgraph.Graph) -> Iterable[Finding]:
    order = [r.id for r in graph.resources if isinstance(r.id, str)]
    for cycle in kgraph.cycles(graph.dependencies, order):
        resource = graph.resource(cycle[0])
        path = resource.path + ("id",) if resource else ("spec", "resources")
        if len(cycle) == 2 and cycle[0] == cycle[1]:
            yield CYCLE.at(m, path, f'resource "{cycle[0]}" refers to itself: self references are not allowed',
                           hint="A resource cannot read its own fields while it is being created; read schema or "
                                "another resource instead (readyWhen may read the resource itself).", key=False)
            continue
        text = " -> ".join(cycle)
        yield CYCLE.at(m, path, f"failed to build dependency graph: graph contains a cycle: {text}",
                       hint="Remove one of the references so the resources can be created in some order.", key=False)
