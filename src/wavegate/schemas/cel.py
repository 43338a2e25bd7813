"""CEL `x-kubernetes-validations`, evaluated as the API server does for a create (or an update,
when an old object is given).

`self` is the value of the field the rule sits on, after defaulting and pruning. A rule that uses
`oldSelf` is a transition rule: the API server runs it only on update, and only when the field
exists in the old object too, so on create it is skipped. A rule that does not compile is a problem
of the CRD, never a crash. Rules are compiled and run by wavegate.cel, which provides the CEL
extensions and many of Kubernetes' own CEL libraries (quantity(), url(), ip(), cidr(), isSorted(),
find(), ...); a rule that calls a library function (or form of one) it does not provide
(semver(), isLinkLocalUnicast(), the lists' indexOf(), authorizer, ...) is reported as not evaluated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import ModuleType

from wavegate.regex import lazy_compile
from wavegate.schemas.engine import CEL_RULE, Problem, SchemaProblem

_cel: ModuleType | None
try:  # the CEL runtime (cel-expr-python), wrapped by wavegate.cel
    from wavegate import cel as _cel
except ImportError:  # pragma: no cover - a declared dependency; without it rules are reported unchecked
    _cel = None

# Functions of the Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library) and of cel-go
# extensions Kubernetes enables that wavegate.cel lacks (the lists' indexOf/lastIndexOf: only the
# strings' are offered). A rule that calls one of these, or calls a function wavegate.cel does
# implement (wavegate.cel.KUBERNETES_FUNCTIONS) in a form it does not offer (`quantity.add(1)`,
# `ip.isCanonical(...)`), is not evaluated.
KUBERNETES_LIBRARY = frozenset({
    "isLinkLocalMulticast", "isLinkLocalUnicast", "indexOf", "lastIndexOf",
    "semver", "isSemver", "major", "minor", "patch", "authorizer", "path", "group", "resource", "check",
    "allowed", "reason", "errored", "error", "serviceAccount", "subresource", "namespace", "name",
    "fieldSelector", "labelSelector", "sets", "contains", "equivalent",
    "intersects", "named", "pathSegments", "apiVersion", "validate",
})

_UNDECLARED = lazy_compile(r"(?:undeclared reference to|found no matching overload for) '([A-Za-z_][A-Za-z0-9_]*)'")
_OLD_SELF = lazy_compile(r"\boldSelf\b")
_STRING_LITERALS = lazy_compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")

_REASONS = {
    "FieldValueInvalid": "Invalid value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
}


@lru_cache(maxsize=1)
def environment():
    """wavegate.cel's shared environment with `self` and `oldSelf`, or None without the runtime."""
    return None if _cel is None else _cel.environment(("self", "oldSelf"))


@lru_cache(maxsize=4096)
def _compile(expression: str):
    """(program, None) or (None, error text); cached across schemas, since CRDs repeat rules."""
    if _cel is None:
        return None, "the CEL runtime (cel-expr-python) is not installed"
    try:
        return environment().compile(expression), None
    except _cel.CompileError as error:
        return None, error.raw


def _clean_error(text: str) -> str:
    text = re.sub(r"^[A-Z_]+: ", "", text.strip())
    text = text.replace("ERROR: <input>:", "at ")
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)
    return " ".join(text.split())


class Rule:
    """One compiled x-kubernetes-validations entry."""

    __slots__ = ("rule", "program", "message", "message_program", "reason", "field_path", "transition",
                 "spath", "optional_old_self")

    def __init__(self, spec: dict, program, message_program, spath: tuple):
        self.rule = spec["rule"]
        self.program = program
        message = spec.get("message")
        self.message = message if isinstance(message, str) and message.strip() else ""
        self.message_program = message_program
        reason = spec.get("reason")
        self.reason = _REASONS.get(reason, "Invalid value") if isinstance(reason, str) else "Invalid value"
        field_path = spec.get("fieldPath")
        self.field_path = _parse_field_path(field_path) if isinstance(field_path, str) else ()
        self.transition = bool(_OLD_SELF.search(_STRING_LITERALS.sub("''", self.rule)))
        self.optional_old_self = spec.get("optionalOldSelf") is True
        self.spath = spath

    def evaluate(self, value, old, path: tuple) -> Problem | None:
        """None when the rule holds or does not apply; else the problem, as the API server words it."""
        from wavegate.schemas.engine import _MISSING

        assert _cel is not None, "a Rule has a compiled program, so the runtime is there"
        data = {"self": value}
        if self.transition:
            if old is _MISSING:
                return None  # create, or the field is new: transition rules do not run
            data["oldSelf"] = old
        where = path + self.field_path
        env = environment()
        try:
            kind, result = env.evaluate_typed(self.program, data)
        except _cel.EvalError as error:
            return Problem(CEL_RULE, where, "Invalid value", value=_type_name(value),
                           text=f"{_clean_error(error.raw)} evaluating rule: {self.rule}",
                           hint="The rule could not be evaluated on this value; check the fields it reads are set.")
        except Exception as error:  # noqa: BLE001 - a value the runtime cannot take is a finding, not a crash
            return Problem(CEL_RULE, where, "Invalid value", value=_type_name(value),
                           text=f"{error} evaluating rule: {self.rule}",
                           hint="The rule could not be evaluated on this value.")
        if kind == "BOOL":
            if result is True:
                return None
            # As the API server words each reason: Forbidden and Required carry the message,
            # Duplicate only the value, Invalid both.
            shown = _MISSING if self.reason in ("Forbidden", "Required value") else _type_name(value)
            text = "" if self.reason == "Duplicate value" else self._message(data)
            return Problem(CEL_RULE, where, self.reason, text=text, value=shown,
                           hint=f"The CRD's rule `{self.rule}` is false for this value"
                                + (f": {self._message(data)}" if not text else "."))
        detail = f"the rule returned {kind}, not a bool"
        return Problem(CEL_RULE, where, "Invalid value", value=_type_name(value),
                       text=f"{_clean_error(detail)} evaluating rule: {self.rule}",
                       hint="The rule could not be evaluated on this value; check the fields it reads are set.")

    def _message(self, data: dict) -> str:
        if self.message_program is not None:
            assert _cel is not None, "a compiled message program means the runtime is there"
            try:
                kind, result = environment().evaluate_typed(self.message_program, data)
            except _cel.EvalError:
                kind, result = "ERROR", None
            if kind == "STRING" and result.strip():
                return result
        return self.message or f"failed rule: {self.rule}"


def _type_name(value) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _parse_field_path(text: str) -> tuple:
    """`.spec.foo['bar'][0]` -> ("spec", "foo", "bar", 0): a rule's fieldPath, relative to self."""
    parts: list = []
    for match in re.finditer(r"\.([A-Za-z_$][A-Za-z0-9_$-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]", text):
        name, quoted, index = match.groups()
        parts.append(name if name is not None else quoted if quoted is not None else int(index))
    return tuple(parts)


class RuleCompiler:
    """What engine.Compiler calls for each rule; returns a Rule or a SchemaProblem."""

    def compile_rule(self, spec: dict, spath: tuple, schema: dict | None = None, resource_root: bool = False):
        """`schema`: the schema the rule sits on, for what the API server's typed environment checks
        (undefined fields, mismatched types, the cost budget: wavegate.schemas.cel_check)."""
        expression = spec["rule"]
        program, error = _compile(expression)
        if program is None:
            return _compile_problem(expression, error, spath + ("rule",))
        if schema is not None:
            from wavegate.schemas import cel_check

            for found in cel_check.check(expression, schema, resource_root):
                if found.cost:
                    return SchemaProblem(spath + ("rule",), f"CEL rule `{expression}`: Forbidden: {found.message}",
                                         "Bound what the rule iterates over: maxItems on lists, maxProperties on maps, "
                                         "maxLength on strings (or simplify the rule).")
                return SchemaProblem(spath + ("rule",), f"CEL rule `{expression}`: compilation failed: {found.message}",
                                     "The API server type-checks rules against the schema: use the schema's field "
                                     "names and compare values of the same type.")
        message_program = None
        message_expression = spec.get("messageExpression")
        if isinstance(message_expression, str) and message_expression.strip():
            message_program, error = _compile(message_expression)
            if message_program is None:
                problem = _compile_problem(message_expression, error, spath + ("messageExpression",))
                if problem.severity == "error":
                    return problem
        return Rule(spec, program, message_program, spath)


def _compile_problem(expression: str, error: str, spath: tuple) -> SchemaProblem:
    missing = sorted(set(_UNDECLARED.findall(error or "")))
    known = KUBERNETES_LIBRARY | (_cel.KUBERNETES_FUNCTIONS if _cel is not None else frozenset())
    if missing and all(name in known for name in missing):
        return SchemaProblem(
            spath, f"CEL rule `{expression}` uses {', '.join(n + '()' for n in missing)} from the Kubernetes CEL "
                   "libraries, which wavegate cannot evaluate; the rule is not checked offline",
            "The API server still enforces it; run `wavegate dry-run` to check it against a real one.",
            severity="info")
    return SchemaProblem(spath, f"CEL rule `{expression}`: compilation failed: {_first_line(error or '')}",
                         "The API server rejects a CRD whose x-kubernetes-validations do not compile; fix the expression.")


def _first_line(text: str) -> str:
    """cel-go's first error line, as the API server quotes it ("ERROR: <input>:1:12: Syntax error: ...")."""
    line = re.sub(r"^[A-Z_]+: (?=ERROR)", "", text.strip()).splitlines()[0] if text.strip() else ""
    return re.sub(r"\s*\[[A-Z_]+\]$", "", line)
