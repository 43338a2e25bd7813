"""The loader's short-circuited scalar resolver gives exactly PyYAML's SafeLoader tags (YAML 1.1:
yes/no/on/off booleans, octal and sexagesimal numbers, .inf, ~, timestamps, the << merge key)."""

from __future__ import annotations

import itertools
import random

import yaml

from wavegate import load as loader

try:
    from yaml import CSafeLoader as Reference
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Reference

VOCABULARY = [
    "", "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
    "yes", "Yes", "YES", "yEs", "no", "No", "NO", "on", "On", "ON", "oN", "off", "Off", "OFF", "y", "Y", "n", "N",
    "0", "-0", "+0", "00", "007", "0o7", "08", "0x1F", "0X1f", "0xG", "0b101", "0b2", "1_000", "-1_0", "+12", "1:30",
    "190:20:30", "1:60", "-1:30", "1.5", "-1.5", "+1.5e3", "1e3", "1.0e+3", "6.8523015e+5", "685.230_15e+03",
    "685_230.15", "190:20:30.15", ".5", "1.", ".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN",
    ".iNf", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-12-15T02:59:43.1Z",
    "2002-12-14", "2001-1-1", "20011214", "<<", "<", "=", "==", "-", "+", ".", "..", "0.", "nginx:1.27", "v1",
    "apps/v1", "name", "namespace", "template", "targetPort", "onion", "offset", "yesterday", "nope", "trueish",
    "8080", "80/TCP", "1.27.3", "10.0.0.1", "192.168.0.0/16", "100m", "1Gi", "0.5", "-", "- x", "é", "日本",
    "1_", "_1", "0x", "0b", "0o", "1__2", "+", "+.", "-.", "1e", "1e+", "e3", ".e3", "1:2:3:4", "::", "1::2",
]
ALPHABET = "0123456789+-._:eExXoObB~yYnNtTfF<=aAzZ /é"


def _scalars(count: int = 20_000) -> list[str]:
    rnd = random.Random(7)
    found = list(VOCABULARY)
    for _ in range(count):
        how = rnd.random()
        if how < 0.4:
            found.append("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 8))))
        elif how < 0.7:  # a word of the vocabulary, edited
            word = list(rnd.choice(VOCABULARY) or "x")
            word[rnd.randrange(len(word))] = rnd.choice(ALPHABET)
            found.append("".join(word))
        else:  # two words joined
            found.append(rnd.choice(VOCABULARY) + rnd.choice(["", "_", ":", ".", "-", "e"]) + rnd.choice(VOCABULARY))
    return found


def test_resolve_gives_pyyaml_tags_for_every_scalar():
    assert loader._Loader is not Reference  # the fast resolver is in use
    fast, reference = loader._Loader(""), Reference("")
    try:
        for value in _scalars():
            for implicit in itertools.product((True, False), repeat=2):
                assert fast.resolve(yaml.ScalarNode, value, implicit) == \
                    reference.resolve(yaml.ScalarNode, value, implicit), (value, implicit)
        for kind in (yaml.SequenceNode, yaml.MappingNode):
            assert fast.resolve(kind, None, (True, False)) == reference.resolve(kind, None, (True, False))
    finally:
        fast.dispose()
        reference.dispose()


def _tags(node, found):
    found.append((node.tag, node.value if isinstance(node, yaml.ScalarNode) else type(node).__name__))
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _tags(child, found)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _tags(key, found)
            _tags(value, found)
    return found


def test_composed_documents_have_the_same_tags():
    plain = [v for v in _scalars(3000) if v and v.strip() == v and not v.startswith(("-", ":", "<", "~ ", "? "))
             and ": " not in v and " #" not in v and not v.endswith(":")]
    lines = []
    for i, value in enumerate(plain):
        lines.append(f"k{i}: {value}")
        lines.append(f"q{i}: '{value.replace(chr(39), chr(39) * 2)}'")
        lines.append(f"l{i}: [\"{value}\"]")
    text = "\n".join(lines) + "\nbase: &b {a: 1}\nmerged:\n  <<: *b\n  c: 2\nempty:\ntilde: ~\n"
    try:
        expected = _tags(yaml.compose(text, Loader=Reference), [])
    except yaml.YAMLError:  # pragma: no cover - a generated value that is not a plain scalar
        raise
    assert _tags(yaml.compose(text, Loader=loader._Loader), []) == expected
