"""The API server's value formats, ported from k8s.io/apimachinery v0.37 (pkg/util/validation,
pkg/api/validate/content, pkg/api/validation) with its wording, so a finding reads like the
server's refusal.

Each `is_*` function returns the server's messages for a value ([] when it is valid), as the Go
functions of the same name do. Lengths are in bytes (Go's len). The patterns are Go's; they are
single character classes with no nested repetition, so Python's `re` (full matches, much faster
than the RE2 wrapper on 100,000 labels) matches exactly what RE2 matches, in linear time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Protocol, cast

from wavegate.regex import lazy_compile

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"

_DNS1123_LABEL = lazy_compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = lazy_compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = lazy_compile(_DNS1035_LABEL_FMT)
_LABEL_KEY = lazy_compile(_LABEL_KEY_FMT)
_LABEL_VALUE = lazy_compile(_LABEL_VALUE_FMT)
_CONFIG_KEY = lazy_compile(_CONFIG_KEY_FMT)
_PORT_NAME_CHARSET = lazy_compile("[-a-z0-9]+")
_PORT_NAME_LETTER = lazy_compile("[a-z]")

_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                      "start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                          "'.', and must start and end with an alphanumeric character")
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                      "alphabetic character, and end with an alphanumeric character")
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                  "alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"


class Memoised(Protocol):
    """A check of _memoised: the errors of an argument, and whether a string has none."""

    def __call__(self, *args, **options) -> list[str]: ...

    def holds(self, *args) -> bool: ...


def _memoised(check: Callable[..., list[str]]) -> Memoised:
    """`check` answered once per distinct argument: a repository repeats the same label keys,
    values and names thousands of times. Each call still gets a list of its own;
    `check.holds(*args)` answers "no error" without making a list (the usual answer)."""
    cached = functools.lru_cache(maxsize=1 << 16)(lambda *args, **options: tuple(check(*args, **options)))

    @functools.wraps(check)
    def answer(*args, **options) -> list[str]:
        try:
            return list(cached(*args, **options))
        except TypeError:  # an unhashable argument (never from a parsed document's strings)
            return check(*args, **options)

    answer.holds = lambda *args: not cached(*args)  # type: ignore[attr-defined]
    return cast(Memoised, answer)


def _size(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def max_len_error(length: int, unit: str = "characters") -> str:
    return f"must be no more than {length} {unit}"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)  # Go's own spacing: "'a',  or 'b', regex ..."
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


# -- DNS names (util/validation: lengths in "characters") -----------------------------------------


@_memoised
def is_dns1123_label(value: str) -> list[str]:
    errors = []
    if _size(value) > DNS1123_LABEL_MAX:
        errors.append(max_len_error(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


@_memoised
def is_dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    errors = []
    if _size(value) > DNS1123_SUBDOMAIN_MAX:
        errors.append(max_len_error(DNS1123_SUBDOMAIN_MAX, unit))
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errors.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


@_memoised
def is_dns1035_label(value: str) -> list[str]:
    errors = []
    if _size(value) > DNS1035_LABEL_MAX:
        errors.append(max_len_error(DNS1035_LABEL_MAX))
    if not _DNS1035_LABEL.fullmatch(value):
        errors.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors


def is_path_segment_name(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return is_path_segment_prefix(value)


def is_path_segment_prefix(value: str) -> list[str]:
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in value]


# -- object names (api/validation: ValidateNameFunc, `prefix` for generateName) ------------------

SUBDOMAIN = "DNS-1123 subdomain"
LABEL = "DNS-1123 label"
LABEL_1035 = "DNS-1035 label"
PATH_SEGMENT = "path segment"


def _mask_trailing_dash(name: str) -> str:
    # As Go does: the last *two* characters become "a" (a generated suffix follows the dash).
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


@_memoised
def name_errors(form: str, name: str, prefix: bool = False) -> list[str]:
    """The server's messages for `name` (a generateName when `prefix`) under `form`."""
    if form == PATH_SEGMENT:
        return is_path_segment_prefix(name) if prefix else is_path_segment_name(name)
    if prefix:
        name = _mask_trailing_dash(name)
    if form == LABEL:
        return is_dns1123_label(name)
    if form == LABEL_1035:
        return is_dns1035_label(name)
    return is_dns1123_subdomain(name)


# -- labels, annotations (api/validate/content: lengths in "bytes") ------------------------------


@_memoised
def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: an optional DNS subdomain prefix and '/', then a name."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + m for m in is_dns1123_subdomain(prefix, unit="bytes")]
    else:
        return ["a valid label key " + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errors.append("name part must be non-empty")
    elif _size(name) > DNS1123_LABEL_MAX:
        errors.append("name part " + max_len_error(DNS1123_LABEL_MAX, "bytes"))
    if not _LABEL_KEY.fullmatch(name):
        errors.append("name part " + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errors


@_memoised
def is_label_value(value: str) -> list[str]:
    errors = []
    if _size(value) > LABEL_VALUE_MAX:
        errors.append(max_len_error(LABEL_VALUE_MAX, "bytes"))
    if not _LABEL_VALUE.fullmatch(value):
        errors.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def annotations_size(annotations: dict) -> int:
    return sum(_size(str(k)) + _size(v if isinstance(v, str) else "") for k, v in annotations.items())


# -- ConfigMap and Secret keys, ports -----------------------------------------------------------


@_memoised
def is_config_map_key(value: str) -> list[str]:
    errors = []
    if _size(value) > DNS1123_SUBDOMAIN_MAX:
        errors.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _CONFIG_KEY.fullmatch(value):
        errors.append(regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errors.append("must not be '.'")
    elif value == "..":
        errors.append("must not be '..'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    """An IANA_SVC_NAME: at most 15 of [-a-z0-9], at least one letter, no '--', no '-' at an end."""
    errors = []
    if _size(port) > 15:
        errors.append(max_len_error(15))
    if not _PORT_NAME_CHARSET.fullmatch(port):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(port):
        errors.append("must contain at least one letter (a-z)")
    if "--" in port:
        errors.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


# -- field errors, worded as field.Error.Error() words them ----------------------------------------


def field_path(path: tuple) -> str:
    """A path as the server names a field: `spec.containers[0].name`. A map key is written
    `[key]` by the server (`data[bad key!]`): pass it as a one-element list, `("data", ["bad key!"])`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, list):
            text += f"[{part[0]}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _go_value(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def field_error(path: tuple | str, kind: str, value=None, detail: str = "") -> str:
    """`spec.x: Invalid value: "v": detail`; kind is Invalid, Required, Duplicate, Unsupported,
    Forbidden, Not found or Too long, as in k8s.io/apimachinery/pkg/util/validation/field."""
    where = path if isinstance(path, str) else field_path(path)
    body = {"Invalid": "Invalid value", "Required": "Required value", "Duplicate": "Duplicate value",
            "Unsupported": "Unsupported value", "Not found": "Not found"}.get(kind, kind)
    if kind in ("Invalid", "Duplicate", "Unsupported", "Not found"):
        body += ": " + _go_value(value)
    if detail:
        body += ": " + detail
    return f"{where}: {body}"


def not_supported(path: tuple | str, value, supported) -> str:
    return field_error(path, "Unsupported", value, "supported values: " + ", ".join(f'"{s}"' for s in supported))


# -- quantities (api/resource: ParseQuantity) -------------------------------------------------------

QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = lazy_compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$")  # linear: no nesting


def parse_quantity(value) -> Decimal | None:
    """The value of a Kubernetes quantity (`500m`, `1Gi`, `1e3`, a JSON number), or None when the
    API server cannot decode it (as resource.ParseQuantity after the JSON decoder's TrimSpace)."""
    if type(value) is str:
        return _parse_quantity_text(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if not isinstance(value, str):
        return None
    return _parse_quantity_text(str(value))


@functools.lru_cache(maxsize=4096)  # (a repository repeats the same few quantities thousands of times)
def _parse_quantity_text(value: str) -> Decimal | None:
    text = value.strip()
    if not text:
        return None
    match = _QUANTITY.search(text)
    if match is None:
        return None
    sign, numerator, denominator, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    number = Decimal(f"{numerator or '0'}.{denominator or '0'}")
    if suffix in _BINARY:
        number *= Decimal(2) ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        number = number.scaleb(_DECIMAL[suffix])
    elif len(suffix) > 1 and suffix[0] in "eE":
        try:
            number = number.scaleb(int(suffix[1:]))
        except ValueError:
            return None
    else:
        return None
    return -number if sign == "-" else number
