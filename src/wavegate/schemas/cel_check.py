"""What the API server checks in a CRD's CEL rules that an untyped CEL environment cannot: fields the
schema does not have, comparisons between mismatched types, and the estimated cost budget.

The API server compiles x-kubernetes-validations against types derived from the schema, and
refuses a rule that reads an undefined field ("undefined field 'nosuch'"), compares an int with a
string ("found no matching overload for '_==_' applied to '(int, string)'"), or whose estimated
cost exceeds the per-rule budget (StaticEstimatedCostLimit, 10,000,000: comprehensions over lists
and maps the schema does not bound with maxItems / maxProperties, string functions over strings
without maxLength). wavegate's CEL runtime is untyped (wavegate.cel), so these are found here
from a small parse of the expression: the estimate is a lower bound of cel-go's (it never counts
more than cel-go does), so a rule reported over budget is over budget on the server too.
"""

from __future__ import annotations

import math
import re

from wavegate.record import field, record
from wavegate.regex import lazy_compile

PER_RULE_LIMIT = 10_000_000  # apiextensions validation.StaticEstimatedCostLimit
MAX_REQUEST_BYTES = 3 * 1024 * 1024  # apiserver cel.DefaultMaxRequestSizeBytes
STRING_TRAVERSAL_FACTOR = 0.1  # cel-go common.StringTraversalCostFactor
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
REGEX_LENGTH_FACTOR = 0.25  # cel-go common.RegexStringLengthCostFactor
# Functions whose cost cel-go (and Kubernetes' CEL libraries) estimate as a traversal of the receiver
# string (at least); matches/find/findAll and contains multiply it by their argument's size.
STRING_TRAVERSALS = frozenset({"lowerAscii", "upperAscii", "replace", "split", "trim", "substring", "indexOf",
                               "lastIndexOf"})
STRING_BY_ARGUMENT = frozenset({"matches", "find", "findAll", "contains"})
_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
                       "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"})

_TOKEN = lazy_compile(r"""
    (?P<space>\s+)
  | (?P<string>[rR]?[bB]?(?:'''(?:.|\n)*?'''|\"\"\"(?:.|\n)*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||\.\?|[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE)


class ParseError(ValueError):
    pass


@record
class Node:
    kind: str  # ident, literal, select, call, index, list, map, unary, binary, ternary
    pos: int
    value: str | None = None  # ident name, literal type, field name, function name, operator
    children: list = field(default_factory=list)  # operand/target first
    target: bool = False  # a call on a receiver (x.f(...))


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ParseError(f"unexpected character at {pos}")
        kind = match.lastgroup
        assert kind is not None, "every alternative of _TOKEN is a named group"
        if kind != "space":
            out.append((kind, match.group(), pos))
        pos = match.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, value: str | None = None, kind: str | None = None) -> bool:
        token = self.tokens[self.i]
        return (value is None or token[1] == value) and (kind is None or token[0] == kind)

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        if value is not None and token[1] != value:
            raise ParseError(f"expected {value!r} at {token[2]}")
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.expr()
        if not self.peek(kind="end"):
            raise ParseError("trailing input")
        return node

    def expr(self) -> Node:
        condition = self.binary(0)
        if self.peek("?"):
            pos = self.take()[2]
            yes = self.binary(0)
            self.take(":")
            no = self.expr()
            return Node("ternary", pos, children=[condition, yes, no])
        return condition

    _LEVELS = (("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tokens[self.i][1] in self._LEVELS[level] and self.tokens[self.i][0] in ("op", "ident"):
            _, op, pos = self.take()
            right = self.binary(level + 1)
            left = Node("binary", pos, op, [left, right])
        return left

    def unary(self) -> Node:
        if self.peek("!") or self.peek("-"):
            _, op, pos = self.take()
            return Node("unary", pos, op, [self.unary()])
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek(".") or self.peek(".?"):
                _, op, pos = self.take()
                name = self.take()
                if name[0] != "ident":
                    raise ParseError("expected a field name")
                if self.peek("("):
                    self.take("(")
                    node = Node("call", pos, name[1], [node] + self.arguments(")"), target=True)
                else:
                    node = Node("select", pos, name[1], [node])
            elif self.peek("["):
                pos = self.take()[2]
                index = self.expr()
                self.take("]")
                node = Node("index", pos, None, [node, index])
            else:
                return node

    def arguments(self, close: str) -> list[Node]:
        args = []
        while not self.peek(close):
            args.append(self.expr())
            if not self.peek(close):
                self.take(",")
        self.take(close)
        return args

    def primary(self) -> Node:
        kind, value, pos = self.take()
        if kind == "string":
            quotes = 6 if value.lstrip("rRbB")[:3] in ("'''", '"""') else 2
            length = len(value.lstrip("rRbB")) - quotes
            return Node("literal", pos, "bytes" if value[:2].lower() in ("b'", 'b"') else "string", [length])
        if kind == "number":
            typ = "uint" if value[-1] in "uU" else "double" if any(c in value for c in ".eE") and not \
                value.lower().startswith("0x") else "int"
            return Node("literal", pos, typ)
        if kind == "ident":
            if value in ("true", "false"):
                return Node("literal", pos, "bool")
            if value == "null":
                return Node("literal", pos, "null_type")
            if self.peek("("):
                self.take("(")
                return Node("call", pos, value, self.arguments(")"))
            return Node("ident", pos, value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            return Node("list", pos, None, self.arguments("]"))
        if value == "{":
            items = []
            while not self.peek("}"):
                items.append(self.expr())
                self.take(":")
                items.append(self.expr())
                if not self.peek("}"):
                    self.take(",")
            self.take("}")
            return Node("map", pos, None, items)
        if value == ".":  # a leading-dot qualified name
            return self.primary()
        raise ParseError(f"unexpected {value!r} at {pos}")


def parse(expression: str) -> Node | None:
    """The expression's tree, or None when this small parser cannot read it (the CEL runtime
    reports real syntax errors)."""
    try:
        return _Parser(expression).parse()
    except (ParseError, IndexError):
        return None


# -- schemas as CEL sees them ----------------------------------------------------------------------


def _type(schema) -> str | None:
    if not isinstance(schema, dict):
        return None
    typ = schema.get("type")
    if schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields") \
            or not isinstance(typ, str):
        return None
    return {"integer": "int", "number": "double", "string": "string", "boolean": "bool",
            "array": "list", "object": "map" if _is_map(schema) else "object"}.get(typ)


def _is_map(schema: dict) -> bool:
    return isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties")


def min_size(schema) -> int:
    """The smallest JSON an instance of `schema` serialises to (apiserver cel MinSerializedSize)."""
    typ = _type(schema)
    if typ == "string":
        return 2
    if typ in ("int", "double"):
        return 1
    if typ == "bool":
        return 4
    if typ == "object":
        required = set(schema.get("required") or [])
        size = 2
        for name, prop in (schema.get("properties") or {}).items():
            if name in required and isinstance(prop, dict) and "default" not in prop:
                size += len(name) + min_size(prop) + 4
        return size
    return 2 if typ in ("list", "map") else 1


def max_elements(schema) -> int:
    """How many items (lists), entries (maps) or characters (strings) the estimate assumes."""
    typ = _type(schema)
    if typ == "list":
        if isinstance(schema.get("maxItems"), int):
            return max(schema["maxItems"], 0)
        return (MAX_REQUEST_BYTES - 2) // (min_size(schema.get("items")) + 1)
    if typ == "map":
        if isinstance(schema.get("maxProperties"), int):
            return max(schema["maxProperties"], 0)
        return (MAX_REQUEST_BYTES - 2) // (min_size(schema.get("additionalProperties")) + 6)
    if typ == "string":
        if isinstance(schema.get("maxLength"), int):
            return max(schema["maxLength"], 0)
        if isinstance(schema.get("enum"), list):
            return max((len(e) for e in schema["enum"] if isinstance(e, str)), default=0)
        return MAX_REQUEST_BYTES - 2
    return 0


# -- the checks -------------------------------------------------------------------------------------


@record
class Finding:
    message: str  # worded as cel-go words a compile error: "ERROR: <input>:1:5: undefined field 'nosuch'"
    cost: bool = False


class _Checker:
    def __init__(self, expression: str, schema: dict, resource_root: bool = False):
        self.expression = expression
        self.root = schema if resource_root else None
        self.scopes: list[dict] = [{"self": schema, "oldSelf": schema}]
        self.errors: list[str] = []

    def location(self, pos: int) -> str:
        line = self.expression.count("\n", 0, pos) + 1
        column = pos - (self.expression.rfind("\n", 0, pos) + 1) + 1
        return f"ERROR: <input>:{line}:{column}:"

    def lookup(self, name: str | None):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name], True
        return None, False

    def schema_of(self, node: Node):
        """The schema `node` evaluates to, when it is a path into the rule's schema."""
        if node.kind == "ident":
            schema, _ = self.lookup(node.value)
            return schema
        if node.kind == "select":
            parent = self.schema_of(node.children[0])
            typ = _type(parent)
            if typ == "object":
                props = parent.get("properties") or {}
                if node.value in props:
                    return props[node.value]
                if node.value in ("apiVersion", "kind", "metadata") and (
                        parent is self.root or parent.get("x-kubernetes-embedded-resource")):
                    return None  # a resource's own fields, there without being listed
                if not parent.get("additionalProperties") and all(_cel_name(p) for p in props):
                    self.errors.append(f"{self.location(node.pos)} undefined field '{node.value}'")
                return None
            if typ == "map":
                return parent.get("additionalProperties")
            return None
        if node.kind == "index":
            parent = self.schema_of(node.children[0])
            typ = _type(parent)
            if typ == "list":
                return parent.get("items")
            if typ == "map":
                return parent.get("additionalProperties")
        return None

    def type_of(self, node: Node) -> str | None:
        if node.kind == "literal":
            return node.value
        if node.kind in ("ident", "select", "index"):
            return _type(self.schema_of(node))
        if node.kind == "call" and node.value == "size":
            return "int"
        return None

    def cost(self, node: Node) -> float:
        """cel-go's estimated cost of `node`, or less (never more)."""
        kind = node.kind
        if kind == "literal":
            return 0
        if kind == "ident":
            return 1
        if kind == "select":
            self.schema_of(node)  # reports an undefined field
            return self.cost(node.children[0]) + 1
        if kind == "index":
            return sum(self.cost(c) for c in node.children) + 1
        if kind in ("list", "map"):
            return sum(self.cost(c) for c in node.children)
        if kind == "unary":
            return self.cost(node.children[0]) + 1
        if kind == "ternary":
            condition, yes, no = node.children
            return self.cost(condition) + max(self.cost(yes), self.cost(no))
        if kind == "binary":
            left, right = node.children
            self._compare(node)
            return self.cost(left) + self.cost(right) + 1
        if kind == "call":
            return self._call(node)
        return 0

    def _compare(self, node: Node) -> None:
        if node.value not in ("==", "!=", "<", "<=", ">", ">="):
            return
        left, right = (self.type_of(c) for c in node.children)
        if left is None or right is None or left == right:
            return
        numbers = {"int", "uint", "double"}
        if left in numbers and right in numbers and node.value not in ("==", "!="):
            return  # ordering across numeric types is allowed (cross-type numeric comparisons); equality is not
        if {left, right} <= {"string", "int", "uint", "double", "bool", "bytes"}:
            name = "_" + node.value + "_"
            self.errors.append(f"{self.location(node.pos)} found no matching overload for '{name}' applied to "
                               f"'({left}, {right})'")

    def _call(self, node: Node) -> float:
        name = node.value
        if node.target and name in MACROS and len(node.children) >= 3 and node.children[1].kind == "ident":
            target, variable, *rest = node.children
            schema = self.schema_of(target)
            typ = _type(schema)
            element = schema.get("items") if typ == "list" else \
                ({"type": "string"} if typ == "map" else None)
            count = max_elements(schema) if typ in ("list", "map") else 0
            self.scopes.append({variable.value: element})
            try:
                body = sum(self.cost(c) for c in rest)
            finally:
                self.scopes.pop()
            return self.cost(target) + count * (body + 1)
        if name == "has" and not node.target and node.children:
            argument = node.children[0]
            if argument.kind == "select":
                self.schema_of(argument)
                return self.cost(argument.children[0]) + 1
        total = sum(self.cost(c) for c in node.children) + 1
        if node.target and name == "size" and len(node.children) == 1:
            receiver = self.type_of(node.children[0])
            if receiver in ("int", "uint", "double", "bool"):  # size() is for strings, bytes, lists, maps
                self.errors.append(f"{self.location(node.pos)} found no matching overload for 'size' applied to "
                                   f"'{receiver}.()'")
        if node.target and (name in STRING_TRAVERSALS or name in STRING_BY_ARGUMENT):
            receiver = self.schema_of(node.children[0])
            if _type(receiver) == "string":
                size = max_elements(receiver)
                if name in STRING_TRAVERSALS:
                    total += math.ceil(STRING_TRAVERSAL_FACTOR * size)
                elif len(node.children) == 2 and node.children[1].kind == "literal" and node.children[1].children:
                    argument = node.children[1].children[0]
                    if name == "contains":
                        total += math.ceil(STRING_TRAVERSAL_FACTOR * size) * math.ceil(STRING_TRAVERSAL_FACTOR * argument)
                    else:
                        total += math.ceil(STRING_TRAVERSAL_FACTOR * (size + 1)) * math.ceil(REGEX_LENGTH_FACTOR * argument)
        return total


def _cel_name(name: str) -> bool:
    """Whether a property is a plain CEL field name (others are escaped: not checked here)."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)) and name not in _RESERVED


def check(expression: str, schema: dict, resource_root: bool = False) -> list[Finding]:
    """Compile errors the API server's typed CEL environment would report for a rule on `schema`
    (`resource_root`: the schema of a whole resource, which also has apiVersion, kind, metadata),
    and a cost over budget."""
    tree = parse(expression)
    if tree is None or not isinstance(schema, dict):
        return []
    checker = _Checker(expression, schema, resource_root)
    try:
        cost = checker.cost(tree)
    except (TypeError, ValueError, AttributeError, RecursionError):  # a schema too odd to reason about
        return []
    found = [Finding(error) for error in dict.fromkeys(checker.errors)]
    if not found and cost > PER_RULE_LIMIT:
        found.append(Finding(cost_message("estimated rule cost", cost), cost=True))
    return found


def cost_message(what: str, cost: float) -> str:
    """getCostErrorMessage of apiextensions validation, for a cost of at least `cost`."""
    factor = cost / PER_RULE_LIMIT
    shown = "more than 100x" if factor > 100 else f"{factor:f}x" if factor < 1.5 else f"{factor:.1f}x"
    return (f"{what} exceeds budget by factor of {shown} (try simplifying the rule, or adding maxItems, "
            "maxProperties, and maxLength where arrays, maps, and strings are declared)")
