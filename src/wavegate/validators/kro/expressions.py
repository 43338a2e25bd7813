"""`${...}` expressions: syntax, references to unknown resources, iterators or schema fields, readyWhen."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from wavegate import kube
from wavegate.findings import Finding
from wavegate.kro import crd as kcrd
from wavegate.kro import graph as kgraph
from wavegate.load import Manifest
from wavegate.validators.kro.rules import EXPRESSION, READY_WHEN, UNKNOWN_FIELD, UNKNOWN_REF


def _allowed(expression: kgraph.Expression, graph: kgraph.Graph) -> set[str]:
    allowed = {"schema", *graph.ids}
    if expression.resource is not None:
        resource = graph.resource(expression.resource)
        if resource is not None:
            allowed.update(resource.iterators)
    return allowed


def check_expressions(m: Manifest, graph: kgraph.Graph, spec_schema: dict, incomplete: list[tuple],
                 scope: str, raw_spec: Any) -> Iterable[Finding]:
    for problem in graph.problems:
        yield EXPRESSION.at(m, problem.path, f"{problem.message}: {short(m.get(*problem.path))}",
                            hint='Write one ${...}; to build a string, concatenate inside it: ${"a-" + schema.spec.b}.',
                            key=False)
    ids = graph.ids
    for expression in graph.expressions:
        syntax = kgraph.cel_syntax_error(expression.text)
        if syntax:
            yield EXPRESSION.at(m, expression.path, f"${{{short(expression.text)}}}: parse error: {syntax}",
                                hint="Fix the CEL expression; kro rejects the RGD while it does not parse.", key=False)
            continue
        if expression.where == kgraph.READY_WHEN:
            yield from _ready_when(m, expression, graph)
            continue
        in_conditions = expression.where == kgraph.STATUS and len(expression.path) > 3 and expression.path[3] == "conditions"
        allowed = _allowed(expression, graph)
        for ref in expression.refs:
            if ref.root in allowed:
                continue
            if ref.root == "runtime":
                if in_conditions:
                    continue
                message = "runtime is only available in status.conditions expressions"
            elif ref.root == "each":
                message = "`each` is only available in the readyWhen of a forEach collection"
            else:
                message = f"references unknown identifiers: [{ref.root}]"
            close = difflib.get_close_matches(ref.root, sorted(allowed), n=1)
            hint = (f"Did you mean {close[0]}? " if close else "") + \
                   f"Expressions may read schema and the resource ids of this RGD ({', '.join(ids) or 'none'})."
            yield UNKNOWN_REF.at(m, expression.path, f"${{{short(expression.text)}}} {message}", hint=hint, key=False)
        for ref in expression.refs:
            if ref.root == "schema":
                yield from _schema_field(m, expression, ref.fields, spec_schema, incomplete, scope, raw_spec)
            elif ref.root in ids and len(ref.fields) >= 2 and ref.fields[0] == "metadata" \
                    and ref.fields[1] not in kcrd.OBJECT_META_FIELDS:
                close = difflib.get_close_matches(ref.fields[1], sorted(kcrd.OBJECT_META_FIELDS), n=1)
                yield UNKNOWN_FIELD.at(m, expression.path,
                                       f"${{{short(expression.text)}}} reads {ref.root}.metadata.{ref.fields[1]}, "
                                       "which is not an ObjectMeta field",
                                       hint=f"Did you mean metadata.{close[0]}?" if close else "", key=False)


def _ready_when(m: Manifest, expression: kgraph.Expression, graph: kgraph.Graph) -> Iterable[Finding]:
    rid = expression.resource
    resource = graph.resource(rid) if rid else None
    allowed = {rid} if rid else set()
    if resource is not None and resource.is_collection:
        allowed.add("each")
    foreign = sorted({ref.root for ref in expression.refs} - allowed)
    if foreign:
        yield READY_WHEN.at(m, expression.path,
                            f'resource "{rid}" readyWhen: references unknown identifiers: [{", ".join(foreign)}]; '
                            f"readyWhen may only read {rid}" + (" and each" if "each" in allowed else ""),
                            hint="Move conditions on other resources or on schema to includeWhen, or to the other "
                                 "resource's readyWhen.", key=False)


def _schema_field(m: Manifest, expression: kgraph.Expression, fields: tuple, spec_schema: dict,
                  incomplete: list[tuple], scope: str, raw_spec: Any) -> Iterable[Finding]:
    text = f"${{{short(expression.text)}}}"
    if not fields or fields[0] in ("apiVersion", "kind"):
        return
    head = fields[0]
    if head == "status":
        yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.status, which expressions cannot use",
                               hint="Read the resource the status comes from instead, e.g. ${deployment.status...}.",
                               key=False)
        return
    if head == "metadata":
        if len(fields) < 2:
            return
        name = fields[1]
        if name not in kcrd.OBJECT_META_FIELDS:
            close = difflib.get_close_matches(name, sorted(kcrd.OBJECT_META_FIELDS), n=1)
            yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.metadata.{name}, which is not an ObjectMeta field",
                                   hint=f"Did you mean schema.metadata.{close[0]}?" if close else "", key=False)
        elif name == "namespace" and scope == kube.CLUSTER:
            yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.metadata.namespace, but the kind is "
                                   "Cluster-scoped: its instances have no namespace", key=False)
        return
    if head != "spec":
        yield UNKNOWN_FIELD.at(m, expression.path, f"{text} reads schema.{head}; the instance has apiVersion, kind, "
                               "metadata and spec", hint=f"Did you mean schema.spec.{head}?", key=False)
        return
    path = fields[1:]
    if any(path[:len(p)] == p or p[:len(path)] == path for p in incomplete):
        return  # that part of the schema has its own error
    current = spec_schema
    raw = raw_spec  # the SimpleSchema as written, while the path runs through inline objects
    for i, name in enumerate(path):
        if current.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in current:
            return  # a map or a free-form object: any key
        if current.get("type") != "object":
            return  # a list or a scalar: CEL reports misuse; that needs type checking
        properties = current.get("properties") or {}
        written = sorted(str(k) for k in raw) if isinstance(raw, dict) else sorted(properties)
        if name not in properties:
            if name in written:
                return  # declared, but it has an error of its own
            declared = ".".join(("spec",) + path[:i])
            close = difflib.get_close_matches(name, written, n=1)
            known = ", ".join(written) or "no fields"
            yield UNKNOWN_FIELD.at(
                m, expression.path,
                f"{text} reads schema.{declared}.{name}, but spec.schema.{declared} declares {known}",
                hint=(f"Did you mean schema.{declared}.{close[0]}? " if close else "")
                + f"Or declare {name} under spec.schema.{declared}.", key=False)
            return
        current = properties[name]
        raw = raw.get(name) if isinstance(raw, dict) else None


def short(text: Any, limit: int = 120) -> str:
    text = str(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def standalone(text: str) -> bool:
    try:
        return kgraph.is_standalone(text)
    except kgraph.NestedExpressionError:
        return True  # reported by kro-expression-invalid
