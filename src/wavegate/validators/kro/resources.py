"""spec.resources: ids, the template/externalRef shape, forEach, readyWhen and includeWhen."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from wavegate.findings import Finding
from wavegate.kro import graph as kgraph
from wavegate.kro import simpleschema as ss
from wavegate.load import Manifest
from wavegate.regex import lazy_compile
from wavegate.validators.kro.expressions import standalone
from wavegate.validators.kro.rules import CONDITION, FOREACH, ID_DUPLICATE, ID_INVALID, ID_RESERVED, SHAPE, TEMPLATE

_DNS1035 = lazy_compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_RESERVED_PREFIXES = ("kro.run/", "internal.kro.run/")

def check_resources(m: Manifest, graph: kgraph.Graph) -> Iterable[Finding]:
    seen: dict[str, kgraph.Resource] = {}
    ids = set(graph.ids)
    raw = m.get("spec", "resources")
    if raw is not None and not isinstance(raw, list):
        yield SHAPE.at(m, ("spec", "resources"), "spec.resources is not a list", key=False)
    for resource in graph.resources:
        rid = resource.id
        base = resource.path
        if not resource.data:  # (the graph keeps anything but a mapping as {})
            yield SHAPE.at(m, base, f"resource #{resource.index + 1} is not a mapping with id and template")
            continue
        if not isinstance(rid, str) or not rid:
            yield ID_INVALID.at(m, base, f"resource #{resource.index + 1} has no id",
                                hint="Give it a lowerCamelCase id, e.g. appConfig.")
        elif rid in kgraph.RESERVED:
            yield ID_RESERVED.at(m, base + ("id",), f"id {rid} is a reserved keyword in KRO",
                                 hint=f"Rename it, e.g. to {rid}Resource, and update the ${{{rid}...}} references.", key=False)
        elif not kgraph.LOWER_CAMEL.match(rid):
            suggestion = _lower_camel(rid)
            yield ID_INVALID.at(m, base + ("id",), f"id {rid} is not a valid KRO resource id: must be lower camelCase",
                                hint=(f"Rename it to {suggestion}" if suggestion else "Use letters and digits, starting "
                                      "with a lowercase letter") + ", and update the expressions that refer to it.", key=False)
        if isinstance(rid, str) and rid:
            if rid in seen:
                first = seen[rid]
                line = m.position(first.path + ("id",))[0]
                yield ID_DUPLICATE.at(m, base + ("id",),
                                      f"id {rid} is also used by resource #{first.index + 1} (line {line})",
                                      hint="Give each resource its own id.", key=False)
            else:
                seen[rid] = resource
        yield from _shape(m, resource, rid if isinstance(rid, str) else f"#{resource.index + 1}")
        yield from _for_each(m, resource, ids)
        for where in (kgraph.READY_WHEN, kgraph.INCLUDE_WHEN):
            yield from _conditions(m, resource, where)


def _shape(m: Manifest, resource: kgraph.Resource, name: str) -> Iterable[Finding]:
    data = resource.data
    base = resource.path
    template = data.get("template")
    external = data.get("externalRef")
    if template is not None and external is not None:
        yield SHAPE.at(m, base + ("externalRef",), f'resource "{name}": cannot use externalRef with template',
                       hint="Keep template to create the object, or externalRef to read an existing one.")
        return
    if template is None and external is None:
        yield SHAPE.at(m, base, f'resource "{name}": exactly one of template or externalRef must be provided',
                       hint="Add a template (the object to create) or an externalRef (an existing object to read).")
        return
    if external is not None:
        if data.get("forEach"):
            yield SHAPE.at(m, base + ("forEach",), f'resource "{name}": cannot use externalRef with forEach',
                           hint="Use a template for a collection, or remove forEach.")
        yield from _external_ref(m, base + ("externalRef",), external, name)
        return
    yield from _template(m, base + ("template",), template, name)


def _external_ref(m: Manifest, path: tuple, ref: Any, name: str) -> Iterable[Finding]:
    if not isinstance(ref, dict):
        yield SHAPE.at(m, path, f'resource "{name}": externalRef must be a mapping with apiVersion, kind and metadata', key=False)
        return
    for field in ("apiVersion", "kind"):
        if not isinstance(ref.get(field), str) or not ref.get(field):
            yield SHAPE.at(m, path + (field,), f'resource "{name}": externalRef.{field} is required',
                           hint="An externalRef names the kind to read: apiVersion, kind and metadata.name.")
    metadata = ref.get("metadata")
    if not isinstance(metadata, dict):
        yield SHAPE.at(m, path + ("metadata",), f'resource "{name}": externalRef.metadata with name or selector is required')
        return
    has_name, has_selector = bool(metadata.get("name")), metadata.get("selector") is not None
    if has_name == has_selector:
        what = "both metadata.name and metadata.selector" if has_name else "neither metadata.name nor metadata.selector"
        yield SHAPE.at(m, path + ("metadata",), f'resource "{name}": externalRef has {what}; exactly one is required',
                       hint="Name one object with metadata.name, or match several with metadata.selector.")


def _template(m: Manifest, path: tuple, template: Any, name: str) -> Iterable[Finding]:
    prefix = f"resource {name} is not a valid Kubernetes object: "
    if not isinstance(template, dict):
        yield TEMPLATE.at(m, path, f"resource {name}: template is a {ss.go_type_name(template)}, not an object",
                          hint="Write the full manifest: apiVersion, kind, metadata, spec.", key=False)
        return
    for field in ("apiVersion", "kind"):
        if field not in template:
            yield TEMPLATE.at(m, path, prefix + f"{field} field not found", hint=f"Add {field} to the template.")
        elif not isinstance(template[field], str):
            yield TEMPLATE.at(m, path + (field,), prefix + f"{field} field is not a string", key=False)
    if "metadata" not in template:
        yield TEMPLATE.at(m, path, prefix + "metadata field not found",
                          hint="Add metadata with at least a name (usually built from ${schema.metadata.name}).")
    elif not isinstance(template["metadata"], dict):
        yield TEMPLATE.at(m, path + ("metadata",), prefix + "metadata field is not a map", key=False)
    kind = template.get("kind")
    if isinstance(kind, str) and "${" not in kind and (not _DNS1035.match(kind.lower()) or len(kind) > 63):
        yield TEMPLATE.at(m, path + ("kind",), f'invalid kind "{kind}": must be a valid DNS-1035 label when lowercased',
                          key=False)
    version = template.get("apiVersion")
    if isinstance(version, str) and "${" not in version:
        parts = version.split("/")
        if version == "" or len(parts) > 2 or any(p == "" for p in parts):
            yield TEMPLATE.at(m, path + ("apiVersion",), f'invalid apiVersion format "{version}": expected '
                              "version or group/version", key=False)
    metadata = given if isinstance(given := template.get("metadata"), dict) else {}
    for field in ("labels", "annotations"):
        values = metadata.get(field)
        if not isinstance(values, dict):
            continue
        for key in values:
            prefix_hit = next((p for p in _RESERVED_PREFIXES if str(key).startswith(p)), None)
            if prefix_hit:
                singular = field[:-1]
                yield TEMPLATE.at(m, path + ("metadata", field, key),
                                  f'invalid {singular} for resource "{name}". {field} with prefix "{prefix_hit}" '
                                  "are reserved for internal use",
                                  hint=f"Use your own prefix for {key}.")


def _for_each(m: Manifest, resource: kgraph.Resource, ids: set[str]) -> Iterable[Finding]:
    value = resource.data.get("forEach")
    if value is None:
        return
    path = resource.path + ("forEach",)
    name = resource.id if isinstance(resource.id, str) else f"#{resource.index + 1}"
    if not isinstance(value, list):
        yield FOREACH.at(m, path, f'resource "{name}": forEach must be a list of `iterator: ${{list}}` entries', key=False)
        return
    if len(value) > kgraph.MAX_FOREACH_DIMENSIONS:
        yield FOREACH.at(m, path, f'resource "{name}": forEach cannot have more than '
                                  f"{kgraph.MAX_FOREACH_DIMENSIONS} dimensions, got {len(value)}")
    seen: set[str] = set()
    for i, dimension in enumerate(value):
        item_path = path + (i,)
        if not isinstance(dimension, dict) or len(dimension) != 1:
            yield FOREACH.at(m, item_path, f'resource "{name}": forEach entry {i + 1} must map exactly one iterator '
                                           "name to one ${...} expression", hint="Write `- item: ${schema.spec.items}`.")
            continue
        (iterator, expression), = dimension.items()
        iterator = str(iterator)
        problem = None
        if not kgraph.LOWER_CAMEL.match(iterator):
            problem = f'forEach iterator name "{iterator}" is not valid: must be lowerCamelCase'
        elif iterator in kgraph.RESERVED:
            problem = f'forEach iterator name "{iterator}" is a reserved keyword'
        elif iterator in ids:
            problem = f'forEach iterator name "{iterator}" conflicts with resource ID'
        elif iterator in seen:
            problem = f'duplicate forEach iterator name "{iterator}"'
        seen.add(iterator)
        if problem:
            yield FOREACH.at(m, item_path + (iterator,), f'resource "{name}": {problem}')
        if not isinstance(expression, str) or not standalone(expression):
            yield FOREACH.at(m, item_path + (iterator,), f'resource "{name}": forEach iterator "{iterator}" must be one '
                             f"standalone ${{...}} expression returning a list, got {expression!r}",
                             hint=f"Write `{iterator}: ${{schema.spec.items}}`.", key=False)


def _conditions(m: Manifest, resource: kgraph.Resource, where: str) -> Iterable[Finding]:
    value = resource.data.get(where)
    if value is None:
        return
    path = resource.path + (where,)
    if not isinstance(value, list):
        yield CONDITION.at(m, path, f"{where} must be a list of ${{...}} expressions, got a {ss.go_type_name(value)}",
                           hint=f"Write `{where}:` followed by `- ${{...}}` items.", key=False)
        return
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not standalone(entry):
            shown = entry if isinstance(entry, str) else f"a YAML {type(entry).__name__}"
            bare = isinstance(entry, str) and "${" not in entry
            yield CONDITION.at(m, path + (i,),
                               f"failed to parse {where} expressions: only standalone expressions are allowed "
                               f"({shown!r} is not exactly one ${{...}})" if isinstance(entry, str) else
                               f"failed to parse {where} expressions: {shown} is not a ${{...}} string",
                               hint=(f"Wrap it: - ${{{entry}}}" if bare else
                                     "Make each entry exactly one ${...}; combine conditions inside it with &&."),
                               key=False)


def _lower_camel(text: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", text) if w]
    if not words:
        return ""
    result = words[0][:1].lower() + words[0][1:] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return result if kgraph.LOWER_CAMEL.match(result) and result not in kgraph.RESERVED else ""
