"""How Kubernetes types YAML: the scalars and keys of sigs.k8s.io/yaml's YAMLToJSON.

kubectl, the Argo CD repo server and the API server (apimachinery's YAML serializer) all turn a
YAML document into JSON with sigs.k8s.io/yaml v1.6.0: go-yaml v2 decodes it into Go values, keys
become strings, encoding/json writes the text. This module gives, for one scalar, the value that
JSON text parses back to in Python (`value`), or the string its key becomes (`key`), or the
reason YAMLToJSON refuses it (`NotJSON`). It is go-yaml v2's `resolve` (yaml 1.1 booleans y/n/
yes/no/on/off, Go's integer syntax with 0o/0x/0b/leading-0 octal, no sexagesimal numbers,
timestamps kept as text), sigs.k8s.io/yaml's key conversion (floats through 32-bit 'g'
formatting) and encoding/json's float text, so a float with an integral value up to 1e21 is an
integer. `wavegate.load` applies it; the differential test against the real library (an oracle
built by scripts/install-tools) holds the two together.

Where each reader uses it: the API server's serializer (apimachinery runtime/serializer/json)
converts a YAML body with YAMLToJSON, and with strict field validation also runs
YAMLToJSONStrict to report duplicate keys; kubectl and the Argo CD repo server (gitops-engine
SplitYAML) cut a file into documents at `---` lines (apimachinery's YAMLReader) and convert each
with YAMLToJSON. The JSON is then decoded into typed objects, or for custom resources into
int64/float64 numbers, which is past what this module answers.
"""

from __future__ import annotations

import binascii
import math
import re
import struct
from decimal import Decimal
from fractions import Fraction

from wavegate.regex import lazy_compile

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
BINARY = "tag:yaml.org,2002:binary"
MERGE = "tag:yaml.org,2002:merge"
NON_SPECIFIC = "!"  # the tag `!`: a string whatever it looks like (go-yaml resolves no other tag)

_RESOLVABLE = frozenset({STR, BOOL, INT, FLOAT, NULL, TIMESTAMP})
_SHORT = {tag: "!!" + tag.rpartition(":")[2] for tag in (STR, NULL, BOOL, INT, FLOAT, TIMESTAMP, BINARY, MERGE)}

_WORDS: dict[str, tuple[str, object]] = {}
for _value, _tag, _words in (
        (True, BOOL, "y Y yes Yes YES true True TRUE on On ON"),
        (False, BOOL, "n N no No NO false False FALSE off Off OFF"),
        (None, NULL, "~ null Null NULL"),
        (math.nan, FLOAT, ".nan .NaN .NAN"),
        (math.inf, FLOAT, ".inf .Inf .INF +.inf +.Inf +.INF"),
        (-math.inf, FLOAT, "-.inf -.Inf -.INF")):
    for _word in _words.split():
        _WORDS[_word] = (_tag, _value)
_WORDS[""] = (NULL, None)

# go-yaml's resolveTable: the first character decides which forms a plain scalar can take.
_SIGN, _DIGIT, _WORD, _DOT = "S", "D", "M", "."
_HINTS = {"+": _SIGN, "-": _SIGN, ".": _DOT, **dict.fromkeys("0123456789", _DIGIT),
          **dict.fromkeys("yYnNtTfFoO~", _WORD)}
# Every plain scalar starting with any other character is a string.
RESOLVED_FIRST = frozenset(_HINTS)

_YAML_FLOAT = lazy_compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = lazy_compile(r"\.[0-9_]*([eE][-+]?[0-9][0-9_]*)?")
_MAX_INT64 = 2**63 - 1
_MAX_UINT64 = 2**64 - 1
_BASE_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


class NotJSON(Exception):
    """YAMLToJSON refuses the scalar or key; `str()` is what it says, `hint` what to edit.

    `decoding`: go-yaml itself fails on it, wherever it is. Otherwise the conversion to JSON
    fails, which happens only if it is still in the decoded document: a null key or an infinite
    value that a later duplicate key (or merge) replaced is never converted."""

    def __init__(self, message: str, hint: str, decoding: bool = False):
        super().__init__(message)
        self.hint = hint
        self.decoding = decoding


def plain_tag(text: str) -> str:
    """The tag go-yaml resolves an untagged plain scalar to (timestamps: STR, they stay text;
    `<<`: MERGE, which only a key acts on)."""
    if text == "<<":
        return MERGE
    tag, _ = _resolve_plain(text)
    return STR if tag == TIMESTAMP else tag


class _Refused(tuple):
    """A cached refusal: (message, hint, decoding), raised as a new NotJSON each time."""


_values: dict[tuple[str, str], object] = {}
_keys: dict[tuple[str, str], str | _Refused] = {}
_CACHE_LIMIT = 100_000


def value(tag: str, text: str):
    """The value JSON gives for a scalar node of `tag` (resolved or explicit) and `text`."""
    cached = _values.get((tag, text), _values)
    if cached is _values:
        try:
            cached = _json_value(*_go_scalar(tag, text), text)
        except NotJSON as refusal:
            cached = _Refused((str(refusal), refusal.hint, refusal.decoding))
        if len(_values) < _CACHE_LIMIT:
            _values[(tag, text)] = cached
    if type(cached) is _Refused:
        raise NotJSON(*cached)
    return cached


def key(tag: str, text: str) -> str:
    """The JSON object key a scalar mapping key of `tag` and `text` becomes."""
    cached = _keys.get((tag, text))
    if cached is None:
        try:
            cached = _key_string(_go_scalar(tag, text)[1], text)
        except NotJSON as refusal:
            cached = _Refused((str(refusal), refusal.hint, refusal.decoding))
        if len(_keys) < _CACHE_LIMIT:
            _keys[(tag, text)] = cached
    if isinstance(cached, _Refused):
        raise NotJSON(*cached)
    return cached


def _go_scalar(tag: str, text: str) -> tuple[str, object]:
    """go-yaml v2 decoding a scalar into interface{}: (the tag it resolved, the Go value), with a
    Go int64 or uint64 as a Python int and a timestamp as its text."""
    if tag == STR or tag == NON_SPECIFIC:
        return STR, text
    if tag == BINARY:
        return STR, _base64(text)
    if tag not in _RESOLVABLE:  # any other tag (`!custom`, `!!merge` as a value): the text
        return tag, text
    rtag, out = _resolve_plain(text, with_timestamp=tag == TIMESTAMP)
    if rtag == tag:
        return (STR, text) if tag == TIMESTAMP else (rtag, out)
    if tag == FLOAT and rtag == INT and isinstance(out, int) and out <= _MAX_INT64:  # (a uint64 is not converted)
        return FLOAT, float(out)
    raise NotJSON(f"cannot decode {_SHORT.get(rtag, rtag)} `{text}` as a {_SHORT[tag]}",
                  f"Remove the {_SHORT[tag]} tag, or write a value of that type.", decoding=True)


def _resolve_plain(text: str, with_timestamp: bool = True) -> tuple[str, object]:
    word = _WORDS.get(text)
    if word is not None:
        return word
    hint = _HINTS.get(text[0])
    if hint is None or hint is _WORD:
        return STR, text
    if hint is _DOT:  # strconv.ParseFloat of the text as written
        match = _DOT_FLOAT.fullmatch(text)
        mantissa = text[:match.start(1)] if match and match.group(1) else text
        if match and any(c in "0123456789" for c in mantissa) and _underscores_ok(text):
            number = float(text.replace("_", ""))
            if not math.isinf(number):
                return FLOAT, number
        return STR, text
    if with_timestamp and _is_timestamp(text):
        return TIMESTAMP, text
    plain = text.replace("_", "")
    integer = _parse_int(plain)
    if integer is not None:
        return INT, integer
    integer = _parse_uint(plain)
    if integer is not None:
        return INT, integer
    if _YAML_FLOAT.fullmatch(plain):
        number = float(plain)
        if not math.isinf(number):  # out of range is an error to strconv.ParseFloat
            return FLOAT, number
    if plain.startswith("0b"):  # strconv.ParseInt(plain[2:], 2, 64): a sign may follow the 0b
        integer = _parse_int(plain[2:], base=2)
        if integer is not None:
            return INT, integer
    return STR, text  # (go-yaml's -0b attempt never accepts what ParseInt refused)


def _parse_uint(s: str, base: int = 0) -> int | None:
    """strconv.ParseUint(s, base, 64), underscores already removed."""
    if not s:
        return None
    if base == 0:  # from the prefix: 0b 0o 0x, a leading 0 (octal), else decimal
        prefix = s[1:2].lower() if s[0] == "0" else ""
        if len(s) >= 3 and prefix in ("b", "o", "x"):
            base, s = {"b": 2, "o": 8, "x": 16}[prefix], s[2:]
        elif s[0] == "0":
            base, s = 8, s[1:]
        else:
            base = 10
    if not s.isascii() or s.strip(_BASE_DIGITS[base]):  # a character that is no digit of the base
        return None
    if len(s.lstrip("0")) > 64:  # past uint64 in any base (and past Python's int() digit limit)
        return None
    n = int(s, base) if s else 0
    return n if n <= _MAX_UINT64 else None


def _parse_int(s: str, base: int = 0) -> int | None:
    """strconv.ParseInt(s, base, 64)."""
    negative = s[:1] == "-"
    magnitude = _parse_uint(s[1:] if s[:1] in ("+", "-") else s, base)
    if magnitude is None or magnitude > _MAX_INT64 + negative:
        return None
    return -magnitude if negative else magnitude


def _underscores_ok(s: str) -> bool:
    """strconv's underscoreOK for a decimal number: each `_` between two digits."""
    saw = "^"
    for c in s.lstrip("+-"):
        if c.isdigit():
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _base64(text: str) -> str:
    """A !!binary scalar: Go's base64.StdEncoding (newlines ignored, padding required), the bytes
    as encoding/json writes them (each byte that is not UTF-8 becomes U+FFFD)."""
    try:
        data = binascii.a2b_base64(text.replace("\n", "").replace("\r", ""), strict_mode=True)
    except (binascii.Error, ValueError):
        raise NotJSON("!!binary value contains invalid base64 data",
                      "Fix the base64 text, or drop the !!binary tag and keep the text as it is.", decoding=True) from None
    return re.sub("[\udc80-\udcff]", "\ufffd", data.decode("utf-8", "surrogateescape"))


def _json_value(tag: str, out, text: str):
    if type(out) is float:
        return _json_float(out, text)
    return out


def _json_float(number: float, text: str):
    """The number encoding/json writes for a float64, as JSON parses back: integral values
    below 1e21 are written without a fraction (so they are integers), NaN and infinities refuse."""
    if math.isnan(number) or math.isinf(number):
        raise NotJSON(f"`{text}` is {'not a number' if math.isnan(number) else 'infinite'}, which JSON cannot hold, "
                      "so Kubernetes refuses the document (json: unsupported value)",
                      f"Quote it ('{text}') if it is text, or write a finite number.")
    if number == 0:
        return 0
    if number.is_integer() and abs(number) < 1e21:
        return int(Decimal(repr(number)))  # the shortest digits, as Go writes them
    return number


def _key_string(out, text: str) -> str:
    """sigs.k8s.io/yaml's conversion of a decoded key to a JSON key."""
    if type(out) is str:
        return out
    if type(out) is bool:
        return "true" if out else "false"
    if type(out) is int:
        if out > _MAX_INT64:
            raise NotJSON(f"the key {text} is an integer above 2^63-1, a key type Kubernetes does not accept "
                          "(unsupported map key of type: uint64)", f"Quote the key: '{text}'.")
        return str(out)
    if type(out) is float:
        return _format_float32(out)
    raise NotJSON(f"the key {text or '(empty)'} is null; Kubernetes accepts only text, numbers and booleans as keys",
                  "Give the key a name, or quote it if it is meant as text.")


def _format_float32(number: float) -> str:
    """strconv.FormatFloat(number, 'g', -1, 32) with go-yaml's spelling of the specials."""
    if math.isnan(number):
        return ".nan"
    try:
        single = struct.unpack("<f", struct.pack("<f", number))[0]
    except OverflowError:  # Go's float32() conversion overflows to an infinity
        single = math.copysign(math.inf, number)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    digits, point = _shortest_float32_digits(abs(single))
    sign = "-" if single < 0 else ""
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest_float32_digits(single: float) -> tuple[str, int]:
    """The fewest decimal digits that read back as this float32, the nearest if several (a tie:
    the even one, as Go's Dragonbox), and the position of the decimal point
    (value = 0.DIGITS * 10**point)."""
    exact = Fraction(single)
    bits = struct.unpack("<I", struct.pack("<f", single))[0]
    below = struct.unpack("<f", struct.pack("<I", bits - 1))[0] if bits & 0x7FFFFFFF else 0.0
    above = struct.unpack("<f", struct.pack("<I", bits + 1))[0]
    low = (exact + Fraction(below)) / 2
    high = (exact + Fraction(above)) / 2 if not math.isinf(above) else exact + (exact - Fraction(below)) / 2
    inclusive = bits % 2 == 0

    def inside(candidate: Fraction) -> bool:
        return (low <= candidate <= high) if inclusive else (low < candidate < high)

    magnitude = Decimal(single).adjusted()  # 10**magnitude <= value < 10**(magnitude+1)
    for count in range(1, 18):
        scale = Fraction(10) ** (magnitude - count + 1)
        floor = math.floor(exact / scale)
        options = [c for c in (floor, floor + 1) if inside(c * scale)]
        if options:
            best = min(options, key=lambda c: (abs(c * scale - exact), c % 2))
            digits = str(best)
            point = magnitude + 1 + (len(digits) - count)
            return digits.rstrip("0"), point
    raise AssertionError(single)  # pragma: no cover - 9 digits always suffice


def _is_timestamp(s: str) -> bool:
    """go-yaml's parseTimestamp: four digits and `-`, then one of its time.Parse layouts."""
    if len(s) < 5 or not s[:4].isascii() or not s[:4].isdigit() or s[4] != "-":
        return False
    return any(_time_parse(layout, s) for layout in _TIMESTAMP_LAYOUTS)


# go-yaml's allowedTimestampFormats, as the steps of Go's time.Parse:
#   2006-1-2T15:4:5.999999999Z07:00, the same with `t`, 2006-1-2 15:4:5.999999999, 2006-1-2
_TIMESTAMP_LAYOUTS = (
    ("year", "-", "month", "-", "day", "T", "hour", ":", "minute", ":", "second", "fraction", "zone"),
    ("year", "-", "month", "-", "day", "t", "hour", ":", "minute", ":", "second", "fraction", "zone"),
    ("year", "-", "month", "-", "day", " ", "hour", ":", "minute", ":", "second", "fraction"),
    ("year", "-", "month", "-", "day"),
)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _getnum(s: str, fixed: bool) -> tuple[int | None, str]:
    if not s[:1].isascii() or not s[:1].isdigit():
        return None, s
    if not s[1:2].isascii() or not s[1:2].isdigit():
        return (None, s) if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _time_parse(layout: tuple[str, ...], s: str) -> bool:
    fields: dict[str, int] = {}
    for step in layout:
        if step == " ":  # a space in the layout matches one or more spaces
            if s and s[0] != " ":
                return False
            s = s.lstrip(" ")
        elif len(step) == 1 and step != " ":
            if not s.startswith(step):
                return False
            s = s[1:]
        elif step == "year":
            if len(s) < 4 or not s[:4].isascii() or not s[:4].isdigit():
                return False
            fields[step], s = int(s[:4]), s[4:]
        elif step == "fraction":  # optional: `.` or `,` and any number of digits
            if len(s) >= 2 and s[0] in ".," and s[1].isascii() and s[1].isdigit():
                end = 1
                while end < len(s) and s[end].isascii() and s[end].isdigit():
                    end += 1
                s = s[end:]
        elif step == "zone":
            if s[:1] == "Z":
                s = s[1:]
                continue
            if len(s) < 6 or s[3] != ":" or s[0] not in "+-":
                return False
            hours, _ = _getnum(s[1:3], True)
            minutes, _ = _getnum(s[4:6], True)
            if hours is None or minutes is None or hours > 24 or minutes > 60:
                return False
            s = s[6:]
        else:
            number, s = _getnum(s, False)
            limit = {"month": 13, "day": 100, "hour": 24, "minute": 60, "second": 60}[step]
            if number is None or number >= limit or (step == "month" and number == 0):
                return False
            fields[step] = number
    if s:
        return False
    year, month, day = fields["year"], fields["month"], fields["day"]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1] + (month == 2 and leap)
