"""Resources of an RGD, the `${...}` expressions in them, and the dependency graph between them.

What kro does when it builds a graph (kro-facts sections 1.3, 5.1-5.4), as far as it can be done
without the target kinds' schemas:

* `extract_expressions` is kro's `${` scanner: the closing `}` is found by counting braces,
  braces inside double-quoted string literals are ignored, a `${` nested anywhere but right
  after a `"` is an error, an unterminated `${` is plain text.
* `references` finds the identifiers an expression uses at its root (`schema`, resource ids,
  iterators), with CEL macro variables (`x` in `list.exists(x, ...)`) and `cel.bind` names
  left out, and the `.field` chains that follow them (`schema.spec.git.url`).
* `build` collects every expression of an RGD with the path of the YAML key that holds it,
  and the dependency edges kro derives from the template, externalRef, forEach and includeWhen
  expressions; `cycles` finds the dependency cycles, `topological_order` the creation order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from wavegate.record import field, record
from wavegate.regex import lazy_compile

# kro pkg/graph/validation.go
LOWER_CAMEL = lazy_compile(r"^[a-z][a-zA-Z0-9]*$")
UPPER_CAMEL = lazy_compile(r"^[A-Z][a-zA-Z0-9]*$")
CEL_RESERVED = frozenset("""true false null in as break const continue else for function if import
let loop package namespace return var void while""".split())
KRO_RESERVED = frozenset("""apiVersion context dependency dependencies each externalRef externalReference
externalRefs externalReferences graph instance item items kind kro metadata namespace object resource
resourcegraphdefinition resourceGraphDefinition resources root runtime schema self serviceAccountName spec
status this variables vars version""".split())
RESERVED = CEL_RESERVED | KRO_RESERVED
MAX_FOREACH_DIMENSIONS = 10

# Namespaces of the functions in kro's CEL environment (cel-go extensions, kro's libraries).
FUNCTION_NAMESPACES = frozenset({"cel", "math", "strings", "base64", "sets", "lists", "optional", "random",
                                 "json", "hash", "maps", "yaml", "time", "regex", "url", "semver", "ip",
                                 "cidr", "quantity", "format"})
# CEL macros and extension functions whose leading arguments are variable names, not values.
_COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "existsOne", "map", "filter", "transformList",
                             "transformMap", "transformMapEntry", "sortBy", "optMap", "optFlatMap"})


class NestedExpressionError(ValueError):
    def __init__(self) -> None:
        super().__init__("nested expressions are not allowed unless inside string literals")


def extract_expressions(text: str) -> list[str]:
    """kro `extractExpressions`: the CEL text of every `${...}` in `text`, in order."""
    expressions: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        begin = text.find("${", start)
        if begin == -1:
            break
        depth = 1
        end = begin + 2
        in_string = False
        escape_next = False
        while end < n:
            c = text[end]
            if escape_next:
                escape_next = False
                end += 1
                continue
            if in_string and c == "\\":
                escape_next = True
                end += 1
                continue
            if c == '"':
                in_string = not in_string
            elif not in_string:
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                elif text.startswith("${", end) and text[end - 1] != '"':
                    raise NestedExpressionError()
            end += 1
        if depth != 0:
            start += 1  # kro moves one character on and looks again
            continue
        expressions.append(text[begin + 2:end])
        start = end + 1
    return expressions


def is_standalone(text: str) -> bool:
    """The whole string is exactly one `${...}`."""
    expressions = extract_expressions(text)
    return len(expressions) == 1 and text == "${" + expressions[0] + "}"


# ------------------------------------------------------------------------------------------
# A small CEL lexer: enough to find root identifiers and field chains.

_TOKEN = lazy_compile(r"""
    (?P<space>\s+)
  | (?P<string>[rR]?[bB]?[rR]?(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?[uU]?)
  | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|\?\.|.)
""", re.VERBOSE | re.DOTALL)


@record(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup or "op"
        if kind == "space":
            continue
        text = match.group()
        if kind == "op" and text == "?.":  # `a?.b` is not CEL; keep `?` and `.` apart
            tokens.append(Token("op", "?"))
            tokens.append(Token("op", "."))
            continue
        tokens.append(Token(kind, text))
    return tokens


@record(frozen=True)
class Reference:
    """A root identifier and the field names that follow it (`schema` + ("spec", "git"))."""

    root: str
    fields: tuple[str, ...]


def references(expression: str) -> list[Reference]:
    """The root identifiers `expression` reads, each with its `.field` chain.

    Identifiers after a `.` are fields, identifiers followed by `(` are functions, variables
    bound by comprehension macros and `cel.bind` are local; none of these are roots.
    """
    tokens = tokenize(expression)
    local = _bound_names(tokens)
    found: list[Reference] = []
    for i, token in enumerate(tokens):
        if token.kind != "ident" or token.text in ("true", "false", "null", "in"):
            continue
        prev = tokens[i - 1].text if i > 0 and tokens[i - 1].kind == "op" else None
        if prev == "." or (prev == "?" and i > 1 and tokens[i - 2].text == "."):
            continue  # a field or method
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else None
        if nxt in ("(", "{"):
            continue  # a function call or a message construction
        if token.text in FUNCTION_NAMESPACES and nxt == "." and i + 3 < len(tokens) \
                and tokens[i + 2].kind == "ident" and tokens[i + 3].text == "(":
            continue  # a namespaced function: cel.bind(...), random.seededString(...)
        if token.text in local:
            continue
        found.append(Reference(token.text, _field_chain(tokens, i + 1)))
    return found


def _field_chain(tokens: list[Token], i: int) -> tuple[str, ...]:
    fields: list[str] = []
    while i < len(tokens) and tokens[i].text == ".":
        j = i + 1
        if j < len(tokens) and tokens[j].text == "?":
            j += 1
        if j >= len(tokens) or tokens[j].kind != "ident":
            break
        if j + 1 < len(tokens) and tokens[j + 1].text == "(":
            break  # a method call ends the chain
        fields.append(tokens[j].text)
        i = j + 1
    return tuple(fields)


def _bound_names(tokens: list[Token]) -> set[str]:
    names: set[str] = set()
    for i, token in enumerate(tokens):
        if token.kind != "ident" or i + 1 >= len(tokens) or tokens[i + 1].text != "(":
            continue
        member = i > 0 and tokens[i - 1].text == "."
        if member and token.text in _COMPREHENSIONS:
            # list.exists(x, ...), map.transformMap(k, v, ...): names before the last argument
            j = i + 2
            while j + 1 < len(tokens) and tokens[j].kind == "ident" and tokens[j + 1].text == ",":
                names.add(tokens[j].text)
                j += 2
        elif token.text == "bind" and member and i >= 2 and tokens[i - 2].text == "cel":
            if i + 2 < len(tokens) and tokens[i + 2].kind == "ident":
                names.add(tokens[i + 2].text)
    return names


def identifiers(expression: str) -> set[str]:
    return {ref.root for ref in references(expression)}


@lru_cache(maxsize=1)
def _parser():
    try:
        from wavegate import cel  # imported here: loading the CEL runtime costs start-up time
    except ImportError:  # pragma: no cover - cel-expr-python is a dependency
        return None
    # kro's environment has cel-go's optional types (`a.?b`, `[?x]`); macros parse as calls.
    return cel.Environment((), libraries=False)


@lru_cache(maxsize=8192)
def cel_syntax_error(expression: str) -> str | None:
    """The CEL parser's complaint about `expression` (syntax only, no type check), or None."""
    parser = _parser()
    if parser is None:
        return None
    try:
        parser.parse(expression)
    except Exception as error:  # noqa: BLE001 - CompileError, or whatever else the runtime raises on this text
        text = str(getattr(error, "raw", error)).split("\n")[0].strip()
        text = re.sub(r"^INVALID_ARGUMENT:\s*", "", text)
        return re.sub(r"\s*\[INVALID_ARGUMENT\]$", "", text)
    return None


# ------------------------------------------------------------------------------------------
# The graph of an RGD

TEMPLATE = "template"
EXTERNAL_REF = "externalRef"
READY_WHEN = "readyWhen"
INCLUDE_WHEN = "includeWhen"
FOR_EACH = "forEach"
STATUS = "status"


@record
class Expression:
    """One `${...}` of the RGD, where it sits and what it reads."""

    text: str              # the CEL inside ${ }
    path: tuple            # the YAML path of the string that holds it
    where: str             # template | externalRef | readyWhen | includeWhen | forEach | status
    resource: str | None   # the id of the resource it belongs to (None for status)
    standalone: bool       # the string is exactly this one ${...}
    refs: tuple[Reference, ...] = ()

    @property
    def roots(self) -> set[str]:
        return {ref.root for ref in self.refs}


@record
class ExpressionProblem:
    path: tuple
    message: str


@record
class Resource:
    index: int
    id: Any
    data: dict
    iterators: tuple[str, ...] = ()

    @property
    def path(self) -> tuple:
        return ("spec", "resources", self.index)

    @property
    def is_collection(self) -> bool:
        return bool(self.data.get("forEach"))


@record
class Graph:
    resources: list[Resource] = field(default_factory=list)
    expressions: list[Expression] = field(default_factory=list)
    problems: list[ExpressionProblem] = field(default_factory=list)
    # id -> ids it depends on (template, externalRef, forEach, includeWhen references)
    dependencies: dict[str, set[str]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.resources if isinstance(r.id, str)]

    def resource(self, rid: str) -> Resource | None:
        for r in self.resources:
            if r.id == rid:
                return r
        return None


def iter_strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every string value below `value` (not keys), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from iter_strings(child, path + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from iter_strings(child, path + (i,))


def build(rgd: dict) -> Graph:
    """The resources, expressions and dependency edges of an RGD document (its `data`)."""
    graph = Graph()
    spec = spec if isinstance(spec := rgd.get("spec"), dict) else {}
    raw_resources = raw_resources if isinstance(raw_resources := spec.get("resources"), list) else []
    for index, item in enumerate(raw_resources):
        data = item if isinstance(item, dict) else {}
        iterators: list[str] = []
        for_each = for_each if isinstance(for_each := data.get("forEach"), list) else []
        for dimension in for_each:
            if isinstance(dimension, dict):
                iterators.extend(str(k) for k in dimension)
        graph.resources.append(Resource(index, data.get("id"), data, tuple(iterators)))
    ids = set(graph.ids)
    for resource in graph.resources:
        base = resource.path
        rid = resource.id if isinstance(resource.id, str) else None
        data = resource.data
        sources: list[tuple[str, Any, tuple]] = [
            (TEMPLATE, data.get("template"), base + ("template",)),
            (EXTERNAL_REF, data.get("externalRef"), base + ("externalRef",)),
        ]
        for where in (READY_WHEN, INCLUDE_WHEN):
            sources.append((where, data.get(where), base + (where,)))
        sources.append((FOR_EACH, data.get("forEach"), base + ("forEach",)))
        deps: set[str] = set()
        for where, value, path in sources:
            if value is None:
                continue
            for string_path, text in iter_strings(value, path):
                for expression in _expressions_of(graph, text, string_path, where, rid):
                    if where in (TEMPLATE, EXTERNAL_REF, FOR_EACH, INCLUDE_WHEN):
                        deps.update(expression.roots & ids)
        if rid is not None:
            graph.dependencies.setdefault(rid, set()).update(deps)
    schema = schema if isinstance(schema := spec.get("schema"), dict) else {}
    status = schema.get("status")
    if status is not None:
        for string_path, text in iter_strings(status, ("spec", "schema", "status")):
            _expressions_of(graph, text, string_path, STATUS, None)
    return graph


def _expressions_of(graph: Graph, text: str, path: tuple, where: str, rid: str | None) -> list[Expression]:
    try:
        found = extract_expressions(text)
    except NestedExpressionError as error:
        graph.problems.append(ExpressionProblem(path, str(error)))
        return []
    standalone = len(found) == 1 and text == "${" + found[0] + "}"
    expressions = [Expression(cel, path, where, rid, standalone, tuple(references(cel))) for cel in found]
    graph.expressions.extend(expressions)
    return expressions


def cycles(dependencies: dict[str, set[str]], order: list[str] | None = None) -> list[list[str]]:
    """Each group of resources that depend on each other in a circle, as one cycle path
    `a -> b -> a` (first node in declaration order). Self references are cycles of one."""
    order = order or sorted(dependencies)
    rank = {node: i for i, node in enumerate(order)}
    components = _strongly_connected(dependencies, order)
    found: list[list[str]] = []
    for component in components:
        if len(component) == 1:
            node = component[0]
            if node in dependencies.get(node, ()):
                found.append([node, node])
            continue
        members = set(component)
        start = min(component, key=lambda n: rank.get(n, len(rank)))
        found.append(_cycle_through(start, members, dependencies, rank))
    found.sort(key=lambda cycle: rank.get(cycle[0], len(rank)))
    return found


def _cycle_through(start: str, members: set[str], deps: dict[str, set[str]], rank: dict[str, int]) -> list[str]:
    # breadth-first: the shortest way back to `start` inside the component
    previous: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        node = queue.pop(0)
        for dep in sorted(deps.get(node, ()), key=lambda n: rank.get(n, len(rank))):
            if dep == start:
                path = [start]
                back = node
                trail = []
                while back != start:
                    trail.append(back)
                    back = previous[back]
                return path + list(reversed(trail)) + [start]
            if dep in members and dep not in seen:
                seen.add(dep)
                previous[dep] = node
                queue.append(dep)
    return [start, start]  # pragma: no cover - a component always closes


def _strongly_connected(deps: dict[str, set[str]], order: list[str]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(deps.get(node, ())):
            if dep not in deps:
                continue
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            result.append(component)

    for node in order:
        if node in deps and node not in index:
            visit(node)
    return result


def topological_order(dependencies: dict[str, set[str]], order: list[str]) -> list[str] | None:
    """kro's TopologicalSort: dependencies first, declaration order otherwise; None on a cycle."""
    done: set[str] = set()
    result: list[str] = []
    while len(result) < len(order):
        progress = False
        for node in order:
            if node in done:
                continue
            if all(dep in done for dep in dependencies.get(node, ()) if dep in dependencies and dep != node) \
                    and node not in dependencies.get(node, ()):
                result.append(node)
                done.add(node)
                progress = True
        if not progress:
            return None
    return result
