"""The one wrapper around the CEL runtime (cel-expr-python): environments, compile, evaluate, errors.

Admission policies (wavegate.policy) use it for `matchConditions`, `variables`, `validations` and
`messageExpression`; the schema engine (wavegate.schemas.cel) for `x-kubernetes-validations`
(variables `self` and `oldSelf`); kro (wavegate.kro) to type-check and parse expressions in a bare
environment (`Environment(names, libraries=False)`: only the optional extension). Every variable
is dynamically typed (`dyn`): the objects are plain YAML data, not typed by a schema, so a misspelt
field is an evaluation error ("no such key") rather than a compile error, as it is on an API
server for a schemaless object.

What the full environment offers: the CEL standard library (including `matches`), the strings
extension (`split`, `join`, `lowerAscii`, `format`, ...), optionals (`object.?spec.?x.orValue(...)`),
`cel.bind`, `math.*`, `base64.*`. Added here from Kubernetes' CEL libraries: lists (`isSorted`,
`sum`, `min`, `max`; the list `indexOf`/`lastIndexOf` clash with the strings extension's and are
not offered), regex (`find`, `findAll`), URLs (`isURL`, `url` and its getters), IPs and CIDRs
(`isIP`, `ip`, `isCIDR`, `cidr` and common members), quantities (`isQuantity`, `quantity`,
comparisons and conversions); `KUBERNETES_FUNCTIONS` names them. Anything else (`authorizer`,
`semver`, CEL `type()` checks on typed objects, ...) fails to compile with "undeclared
reference", which callers report as unsupported, never as a pass.

This is the only module that imports cel_expr_python.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import threading
import urllib.parse
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_encoders, ext_math, ext_optional, ext_strings

from wavegate import cel_syntax
from wavegate.record import record
from wavegate.regex import lazy_compile

UNSUPPORTED_MARKERS = ("undeclared reference", "found no matching overload", "unsupported")


class CelError(Exception):
    """A CEL expression failed to compile or evaluate; `message` is one line, `detail` the rest,
    `raw` the runtime's own text (for callers that word errors their own way)."""

    def __init__(self, message: str, detail: str = "", unsupported: bool = False, raw: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.unsupported = unsupported
        self.raw = raw or message


class CompileError(CelError):
    pass


class EvalError(CelError):
    pass


@record(frozen=True)
class Program:
    expression: str
    compiled: Any  # cel.Expression


UnreadableProgram = cel_syntax.UnreadableProgram


def syntax_tree(program: Program) -> cel_syntax.Node:
    """The tree the runtime evaluates for `program` (wavegate.cel_syntax); UnreadableProgram when
    its serialized form is not understood."""
    try:
        serialized = program.compiled.serialize()
    except RuntimeError as error:
        raise UnreadableProgram(str(error)) from None
    return cel_syntax.tree(serialized)


# ------------------------------------------------------------------------------------------
# Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library), as far as plain values allow.
# URL, IP, CIDR and quantity values are maps tagged with one key, so they can flow through
# `dyn` and be compared with `==`.

def _list_sorted(items):
    items = list(items)
    return all(a <= b for a, b in itertools.pairwise(items))


def _list_sum(items):
    items = list(items)
    if not items:
        return 0
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _list_min(items):
    items = list(items)
    if not items:
        raise ValueError("min called on empty list")
    return min(items)


def _list_max(items):
    items = list(items)
    if not items:
        raise ValueError("max called on empty list")
    return max(items)



@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _find(text, pattern):
    match = _regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text, pattern, limit=-1):
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


_URL = "__url__"
_IP = "__ip__"
_CIDR = "__cidr__"
_QUANTITY = "__quantity__"


def _parse_url(text):
    parsed = urllib.parse.urlsplit(text)
    if not parsed.scheme and not text.startswith("/"):
        raise ValueError(f"URL must be absolute or an absolute path: {text!r}")
    return parsed


def _is_url(text):
    try:
        _parse_url(text)
        return True
    except ValueError:
        return False


def _url(text):
    _parse_url(text)
    return {_URL: text}


def _url_part(name):
    def get(value):
        parsed = _parse_url(_tagged(value, _URL))
        if name == "scheme":
            return parsed.scheme
        if name == "host":
            return parsed.netloc.rpartition("@")[2]
        if name == "hostname":
            return parsed.hostname or ""
        if name == "port":
            return str(parsed.port) if parsed.port is not None else ""
        if name == "path":
            return parsed.path
        if name == "query":
            return dict(urllib.parse.parse_qs(parsed.query, keep_blank_values=True))
        raise ValueError(name)
    return get


def _tagged(value, tag):
    if isinstance(value, dict) and tag in value:
        return value[tag]
    raise ValueError(f"expected a {tag.strip('_')} value")


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return "%" not in text
    except ValueError:
        return False


def _ip(text):
    if not _is_ip(text):
        raise ValueError(f"IP Address {text!r} parse error during conversion from string")
    return {_IP: str(ipaddress.ip_address(text))}


def _is_cidr(text):
    try:
        ipaddress.ip_network(text, strict=False)
        return "/" in text
    except ValueError:
        return False


def _cidr(text):
    if not _is_cidr(text):
        raise ValueError(f"network address {text!r} parse error during conversion from string")
    return {_CIDR: text}


def _ip_of(value):
    if isinstance(value, dict) and _IP in value:
        return ipaddress.ip_address(value[_IP])
    if isinstance(value, str):
        return ipaddress.ip_address(value)
    raise ValueError("expected an IP value")


def _net_of(value):
    return ipaddress.ip_network(_tagged(value, _CIDR), strict=False)


def _contains(value, other):
    net = _net_of(value)
    if isinstance(other, dict) and _CIDR in other:
        inner = _net_of(other)
        return inner.version == net.version and inner.subnet_of(net)
    if isinstance(other, str) and "/" in other:
        inner = ipaddress.ip_network(other, strict=False)
        return inner.version == net.version and inner.subnet_of(net)
    address = _ip_of(other)
    return address.version == net.version and address in net


_SUFFIXES: dict[str, int | Decimal] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY_RE = lazy_compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$")


def _quantity_value(text) -> Decimal:
    match = _QUANTITY_RE.match(text if isinstance(text, str) else "")
    if not match:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY_RE.pattern}'")
    number, suffix, exponent = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {text!r}") from None
    if exponent is not None:
        return value.scaleb(int(exponent))
    return value * Decimal(_SUFFIXES[suffix or ""])


def _is_quantity(text):
    try:
        _quantity_value(text)
        return True
    except ValueError:
        return False


def _quantity(text):
    _quantity_value(text)
    return {_QUANTITY: text}


def _q(value) -> Decimal:
    if isinstance(value, dict) and _QUANTITY in value:
        return _quantity_value(value[_QUANTITY])
    if isinstance(value, int):
        return Decimal(value)
    raise ValueError("expected a quantity value")


def _compare(a, b):
    x, y = _q(a), _q(b)
    return (x > y) - (x < y)


def _as_integer(value):
    number = _q(value)
    if number != number.to_integral_value():
        raise ValueError("cannot convert value to integer")
    return int(number)


def _q_result(number: Decimal):
    text = format(number.normalize(), "f")
    return {_QUANTITY: text}


_D = cel.Type.DYN
_S = cel.Type.STRING
_B = cel.Type.BOOL
_I = cel.Type.INT
_F = cel.Type.DOUBLE
_L = cel.Type.List(cel.Type.DYN)
_M = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)


def _decl(name: str, *overloads: tuple) -> cel.FunctionDecl:
    """overloads: (id, return type, parameter types, is_member, impl)."""
    return cel.FunctionDecl(name, [cel.Overload(o[0], o[1], list(o[2]), is_member=o[3], impl=o[4]) for o in overloads])


def _kubernetes_functions() -> list[cel.FunctionDecl]:
    m, g = True, False
    return [
        # lists
        _decl("isSorted", ("k8s_list_is_sorted", _B, [_L], m, _list_sorted)),
        _decl("sum", ("k8s_list_sum", _D, [_L], m, _list_sum)),
        _decl("min", ("k8s_list_min", _D, [_L], m, _list_min)),
        _decl("max", ("k8s_list_max", _D, [_L], m, _list_max)),
        # regex
        _decl("find", ("k8s_string_find", _S, [_S, _S], m, _find)),
        _decl("findAll", ("k8s_string_find_all", _L, [_S, _S], m, _find_all),
              ("k8s_string_find_all_n", _L, [_S, _S, _I], m, _find_all)),
        # URLs
        _decl("isURL", ("k8s_is_url", _B, [_S], g, _is_url)),
        _decl("url", ("k8s_url", _D, [_S], g, _url)),
        _decl("getScheme", ("k8s_url_scheme", _S, [_M], m, _url_part("scheme"))),
        _decl("getHost", ("k8s_url_host", _S, [_M], m, _url_part("host"))),
        _decl("getHostname", ("k8s_url_hostname", _S, [_M], m, _url_part("hostname"))),
        _decl("getPort", ("k8s_url_port", _S, [_M], m, _url_part("port"))),
        _decl("getEscapedPath", ("k8s_url_path", _S, [_M], m, _url_part("path"))),
        _decl("getQuery", ("k8s_url_query", _D, [_M], m, _url_part("query"))),
        # IPs and CIDRs
        _decl("isIP", ("k8s_is_ip", _B, [_S], g, _is_ip)),
        _decl("ip", ("k8s_ip", _D, [_S], g, _ip),
              ("k8s_cidr_ip", _D, [_M], m, lambda v: {_IP: str(_net_of(v).network_address)})),
        _decl("isCIDR", ("k8s_is_cidr", _B, [_S], g, _is_cidr)),
        _decl("cidr", ("k8s_cidr", _D, [_S], g, _cidr)),
        _decl("family", ("k8s_ip_family", _I, [_M], m, lambda v: _ip_of(v).version)),
        _decl("isLoopback", ("k8s_ip_is_loopback", _B, [_M], m, lambda v: _ip_of(v).is_loopback)),
        _decl("isUnspecified", ("k8s_ip_is_unspecified", _B, [_M], m, lambda v: _ip_of(v).is_unspecified)),
        _decl("isGlobalUnicast", ("k8s_ip_is_global_unicast", _B, [_M], m,
                                  lambda v: not (_ip_of(v).is_multicast or _ip_of(v).is_loopback or _ip_of(v).is_link_local
                                                 or _ip_of(v).is_unspecified or str(_ip_of(v)) == "255.255.255.255"))),
        _decl("containsIP", ("k8s_cidr_contains_ip", _B, [_M, _M], m, _contains),
              ("k8s_cidr_contains_ip_string", _B, [_M, _S], m, _contains)),
        _decl("containsCIDR", ("k8s_cidr_contains_cidr", _B, [_M, _M], m, _contains),
              ("k8s_cidr_contains_cidr_string", _B, [_M, _S], m, _contains)),
        _decl("prefixLength", ("k8s_cidr_prefix_length", _I, [_M], m, lambda v: _net_of(v).prefixlen)),
        _decl("masked", ("k8s_cidr_masked", _D, [_M], m, lambda v: {_CIDR: str(_net_of(v))})),
        # quantities
        _decl("isQuantity", ("k8s_is_quantity", _B, [_S], g, _is_quantity)),
        _decl("quantity", ("k8s_quantity", _D, [_S], g, _quantity)),
        _decl("compareTo", ("k8s_quantity_compare_to", _I, [_M, _M], m, _compare)),
        _decl("isGreaterThan", ("k8s_quantity_gt", _B, [_M, _M], m, lambda a, b: _compare(a, b) > 0)),
        _decl("isLessThan", ("k8s_quantity_lt", _B, [_M, _M], m, lambda a, b: _compare(a, b) < 0)),
        _decl("asInteger", ("k8s_quantity_as_integer", _I, [_M], m, _as_integer)),
        _decl("isInteger", ("k8s_quantity_is_integer", _B, [_M], m, lambda v: _q(v) == _q(v).to_integral_value())),
        _decl("asApproximateFloat", ("k8s_quantity_as_float", _F, [_M], m, lambda v: float(_q(v)))),
        _decl("sign", ("k8s_quantity_sign", _I, [_M], m, lambda v: (_q(v) > 0) - (_q(v) < 0))),
        _decl("add", ("k8s_quantity_add", _D, [_M, _M], m, lambda a, b: _q_result(_q(a) + _q(b)))),
        _decl("sub", ("k8s_quantity_sub", _D, [_M, _M], m, lambda a, b: _q_result(_q(a) - _q(b)))),
    ]


# The names `_kubernetes_functions` declares (tests/unit/test_schema_engine.py checks each is declared).
KUBERNETES_FUNCTIONS = frozenset({
    "isSorted", "sum", "min", "max", "find", "findAll", "isURL", "url", "getScheme", "getHost", "getHostname",
    "getPort", "getEscapedPath", "getQuery", "isIP", "ip", "isCIDR", "cidr", "family", "isLoopback",
    "isUnspecified", "isGlobalUnicast", "containsIP", "containsCIDR", "prefixLength", "masked", "isQuantity",
    "quantity", "compareTo", "isGreaterThan", "isLessThan", "asInteger", "isInteger", "asApproximateFloat",
    "sign", "add", "sub",
})


class Environment:
    """A CEL environment with dynamically typed variables; compiled programs are cached.

    `libraries=True`: the standard library, the extensions and the Kubernetes functions above.
    `libraries=False`: the standard library and optionals only (kro's type and syntax checks).
    """

    def __init__(self, variables: Iterable[str], *, libraries: bool = True):
        self.variables = tuple(variables)
        dyn = dict.fromkeys(self.variables, cel.Type.DYN)
        if libraries:
            self._env = cel.NewEnv(
                variables=dyn,
                extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional(), ext_bindings.ExtBindings(),
                            ext_math.ExtMath(), ext_encoders.ExtEncoders()],
                functions=_kubernetes_functions())
        else:
            self._env = cel.NewEnv(config=cel.NewEnvConfigFromYaml("extensions:\n  - name: optional\n"),
                                   variables=dyn)
        self._cache: dict[str, Program | CompileError] = {}
        self._lock = threading.Lock()
        self.identity = f"{','.join(self.variables)};libraries={libraries}"  # (what a kept program was compiled in)

    def compile(self, expression: str) -> Program:
        """The compiled program, or CompileError with CEL's message (first line) and position detail."""
        with self._lock:
            cached = self._cache.get(expression)
        if cached is None:
            cached = self._kept(expression)
        if cached is None:
            try:
                compiled = self._env.compile(expression)
                cached = Program(expression, compiled)
            except RuntimeError as error:
                cached = _compile_error(str(error))
            else:
                if _kept_programs is not None and len(expression) >= KEPT_MIN_LENGTH:
                    _kept_programs.put(self.identity, expression, compiled.serialize())
            with self._lock:
                self._cache[expression] = cached
        if isinstance(cached, CompileError):
            raise cached
        return cached

    def _kept(self, expression: str) -> Program | None:
        """The program as a run before compiled it (keep_programs), or as wavegate ships it
        compiled (shipped_program), or None."""
        if len(expression) < KEPT_MIN_LENGTH:
            return None
        serialized = _kept_programs.get(self.identity, expression) if _kept_programs is not None else None
        if not isinstance(serialized, bytes):
            serialized = shipped_program(self.identity, expression)
        if serialized is None:
            return None
        try:
            return Program(expression, self._env.deserialize(serialized))
        except (RuntimeError, ValueError, TypeError):  # not what this runtime wrote: compile it again
            return None

    def return_type(self, expression: str) -> str:
        """The CEL name of the type `expression` evaluates to (`BOOL`, `STRING`, `DYN`, ...); not cached.
        Raises CompileError; other exceptions of the runtime propagate."""
        try:
            return self._env.compile(expression).return_type().name()
        except RuntimeError as error:
            raise _compile_error(str(error)) from None

    def parse(self, expression: str) -> None:
        """Check the syntax of `expression` only (no type check, so unknown names are fine); not cached.
        Raises CompileError; other exceptions of the runtime propagate."""
        try:
            self._env.compile(expression, disable_check=True)
        except RuntimeError as error:
            raise _compile_error(str(error)) from None

    def check(self, expression: str) -> CompileError | None:
        try:
            self.compile(expression)
            return None
        except CompileError as error:
            return error

    def evaluate(self, program: Program | str, bindings: dict[str, Any]):
        """The plain Python value of `program` with `bindings`; EvalError when evaluation fails.

        Every declared variable is bound (missing ones are null), as on an API server.
        """
        if isinstance(program, str):
            program = self.compile(program)
        data = {name: bindings.get(name) for name in self.variables}
        try:
            value = program.compiled.eval(data=data)
        except RuntimeError as error:  # pragma: no cover - the runtime reports errors as values
            raise EvalError(str(error).splitlines()[0]) from None
        if value.type() == cel.Type.ERROR:
            raise EvalError(_clean_status(str(value.value())), raw=str(value.value()))
        return _plain(value)

    def holds(self, program: Program, data: dict[str, Any]) -> bool:
        """Whether `program` is true with `data`, which binds every declared variable (evaluate
        without its copy of the bindings, for the hot path of admission policies); an evaluation
        error is not true."""
        try:
            value = program.compiled.eval(data=data)
        except RuntimeError:  # pragma: no cover - the runtime reports errors as values
            return False
        return value.type() == cel.Type.BOOL and value.plain_value() is True

    def evaluate_typed(self, program: Program, data: dict[str, Any]) -> tuple[str, Any]:
        """(CEL type name, plain value) of `program` with exactly the variables in `data` bound
        (an unbound one is an evaluation error if read). EvalError when the result is an error;
        exceptions of the runtime (a value it cannot take, ...) propagate."""
        value = program.compiled.eval(data=data)
        kind = value.type()
        if kind == cel.Type.ERROR:
            raw = str(value.value())
            raise EvalError(_clean_status(raw), raw=raw)
        return kind.name(), _plain(value)


def _plain(value):
    """`value` as plain Python data. cel-expr-python (0.1.3) gives each null in it as None without
    a reference of its own, so each such None, once freed, takes a reference that belongs to
    something else; after enough of them the interpreter aborts ("deallocating None") when it
    exits. Each None given is made good here with a reference that is never released."""
    plain = value.plain_value()
    if plain is None or type(plain) is list or type(plain) is dict:
        given = _nones(plain)
        if given:
            _own_none(given)
    return plain


def _nones(plain) -> int:
    count, pending = 0, [plain]
    while pending:
        item = pending.pop()
        if item is None:
            count += 1
        elif type(item) is list:
            pending.extend(item)
        elif type(item) is dict:
            pending.extend(item.values())
    return count


def _own_none(count: int) -> None:
    import ctypes  # (only when a null was given: 4 ms to import)

    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes, incref.restype = [ctypes.py_object], None
    for _ in range(count):
        incref(None)


def _clean_status(text: str) -> str:
    # absl status texts look like "NOT_FOUND: Key not found in map : \"x\"".
    text = text.strip()
    text = re.sub(r"^[A-Z_]+: ", "", text)
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)
    return text


def _compile_error(text: str) -> CompileError:
    lines = text.strip().splitlines()
    first = lines[0] if lines else text
    first = re.sub(r"^INVALID_ARGUMENT: ", "", first)
    first = re.sub(r"^ERROR: <input>:", "", first)
    first = re.sub(r"\s*\(in container ''\)", "", first)
    first = re.sub(r"\s*\[INVALID_ARGUMENT\]$", "", first)
    detail = "\n".join(lines[1:])
    detail = re.sub(r"\s*\[INVALID_ARGUMENT\]$", "", detail)
    return CompileError(first, detail, unsupported=any(marker in first for marker in UNSUPPORTED_MARKERS), raw=text)



# Compiled programs kept between runs (set by wavegate.pipeline when the cache is on: a
# wavegate.cache.ProgramStore). Only long expressions are kept: compiling the shipped Pod Security
# policies' combined expressions takes 7 to 25 ms each, reading one back 2 ms; a short expression
# compiles faster than its file is read.
KEPT_MIN_LENGTH = 2000
_kept_programs: Any = None


# The shipped policies' long programs, compiled when they were written (scripts/generate-policy-data),
# as their runtime serialized them: read back in 3-4 ms where compiling takes 15-27 ms, in every run
# without a cache. Used only with the runtime and this module exactly as they were then: the key
# holds the runtime's version and this file's digest (its functions and declarations).
SHIPPED_PROGRAMS = "cel-programs.marshal"
_shipped: dict | None = None


def program_digest(expression: str) -> str:
    """The digest a program's text is known by in the tables wavegate ships (its compiled programs
    here, their reads in data/policy-needs.json)."""
    from wavegate.cache import content_digest  # (BLAKE2: hashlib would load OpenSSL)

    return content_digest(expression.encode())


def shipped_key(identity: str, expression: str) -> str:
    return f"{identity}\n{program_digest(expression)}"


def shipped_program(identity: str, expression: str) -> bytes | None:
    """The serialized program wavegate ships for `expression` compiled in an environment of
    `identity`, when this runtime and this module made it; else None."""
    global _shipped
    if _shipped is None:
        _shipped = _read_shipped()
    found = _shipped.get(shipped_key(identity, expression))
    return found if isinstance(found, bytes) else None


def shipped_origin() -> str | None:
    """What a shipped program must have been compiled by: this runtime's version and this module's
    digest (None when the runtime's version cannot be read)."""
    import os

    from wavegate.cache import content_digest

    site = os.path.dirname(os.path.dirname(os.path.abspath(cel.__file__)))
    try:
        names = os.listdir(site)
    except OSError:
        return None
    version = next((name[len("cel_expr_python-"):-len(".dist-info")] for name in names
                    if name.startswith("cel_expr_python-") and name.endswith(".dist-info")), None)
    if version is None:
        return None
    try:
        with open(__file__, "rb") as source:
            return f"cel-expr-python {version}; wavegate.cel {content_digest(source.read())}"
    except OSError:
        return None


def _read_shipped() -> dict:
    import marshal

    from wavegate import data

    try:
        table = marshal.loads((data.FOLDER / SHIPPED_PROGRAMS).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(table, dict) or not isinstance(table.get("programs"), dict) \
            or table.get("origin") != shipped_origin():
        return {}
    return table["programs"]


def keep_programs(store) -> None:
    """Keep compiled programs in `store` (get(environment, expression) -> bytes | None,
    put(environment, expression, bytes)) from now on in this process; None stops it."""
    global _kept_programs
    _kept_programs = store


@lru_cache(maxsize=16)
def environment(variables: tuple[str, ...]) -> Environment:
    """A shared environment for this set of variable names."""
    return Environment(variables)


def compile_expression(expression: str, variables: Iterable[str]) -> Program:
    """Compile `expression` where `variables` are declared (all `dyn`); raises CompileError."""
    return environment(tuple(variables)).compile(expression)


def evaluate(expression: str, bindings: dict[str, Any], variables: Iterable[str] | None = None):
    """Compile (cached) and evaluate `expression`; raises CompileError or EvalError."""
    names = tuple(variables) if variables is not None else tuple(sorted(bindings))
    env = environment(names)
    return env.evaluate(env.compile(expression), bindings)
