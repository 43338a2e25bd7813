"""Kro ResourceGraphDefinitions: what kro would reject when the RGD is applied, found before merge.

The checks reproduce kro's own build steps that need no cluster (kro-facts section 5): the
SimpleSchema of `spec.schema.spec`/`types` (with kro's error texts), the identity of the kind
(kind, apiVersion, group, scope, and the plural kro derives from the kind), resource ids, the
template/externalRef shape, forEach, readyWhen/includeWhen, `${...}` expressions (syntax,
references to unknown resources, iterators or `schema.spec` fields), status fields, and
dependency cycles. What needs the target kinds' live OpenAPI schemas (CEL type checking,
template fields, resource scope, status types) is not guessed: one info finding per RGD says
what was skipped and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.kro import graph as kgraph
from wavegate.load import Manifest, Repo
from wavegate.validators import Context
from wavegate.validators.kro.cycles import check_cycles
from wavegate.validators.kro.expressions import check_expressions
from wavegate.validators.kro.identity import check_identity
from wavegate.validators.kro.resources import check_resources
from wavegate.validators.kro.rules import KIND
from wavegate.validators.kro.simpleschema import check_simpleschema
from wavegate.validators.kro.skipped import check_skipped
from wavegate.validators.kro.status import check_status


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    for manifest in repo.by_kind("ResourceGraphDefinition", kube.KRO_GROUP):
        yield from check_rgd(manifest)


def check_rgd(manifest: Manifest) -> Iterable[Finding]:
    """Every finding about one ResourceGraphDefinition."""
    data = manifest.data
    spec = given if isinstance(given := data.get("spec"), dict) else {}
    schema = given if isinstance(given := spec.get("schema"), dict) else None
    if schema is None:
        yield KIND.at(manifest, ("spec",), "spec.schema is missing, so this RGD defines no kind",
                      hint="Add spec.schema with apiVersion, kind and spec.")
        schema = {}
    else:
        yield from check_identity(manifest, schema)
    spec_schema, incomplete = yield from check_simpleschema(manifest, schema)
    scope = given if (given := schema.get("scope")) in kube.SCOPES else kube.NAMESPACED
    graph = kgraph.build(data)
    yield from check_resources(manifest, graph)
    yield from check_expressions(manifest, graph, spec_schema, incomplete, scope, schema.get("spec"))
    yield from check_status(manifest, schema, graph)
    yield from check_cycles(manifest, graph)
    yield from check_skipped(manifest, graph, schema, spec_schema)
