"""The loader resolves plain scalars as sigs.k8s.io/yaml (go-yaml v2) does, not as PyYAML does:
y/n booleans, Go's integer syntax (0o17, 0x1F, 0b101, leading-0 octal), 1e3 and 1E+3 numbers, no
sexagesimal numbers, timestamps kept as text. The short-circuited resolver gives exactly the full
resolution's tags; the differential test against the real library is
tests/integration/test_yaml_differential.py, these are its named cases without the oracle."""

from __future__ import annotations

import itertools
import random

import pytest
import yaml

from wavegate import kube_yaml, load_python
from wavegate import load as loader

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

# (plain scalar, the value JSON gives it as sigs.k8s.io/yaml v1.6.0 reads it)
GO_YAML = [
    ("y", True), ("Y", True), ("yes", True), ("Yes", True), ("YES", True), ("on", True), ("On", True), ("ON", True),
    ("true", True), ("True", True), ("TRUE", True), ("n", False), ("N", False), ("no", False), ("off", False),
    ("false", False), ("yEs", "yEs"), ("tRUE", "tRUE"), ("oN", "oN"),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None), ("nULL", "nULL"),
    ("0", 0), ("-0", 0), ("+12", 12), ("0o17", 15), ("0O17", 15), ("017", 15), ("08", 8), ("09", 9),
    ("0x1F", 31), ("-0x1F", -31), ("0b101", 5), ("-0b101", -5), ("0b+01", 1), ("1_000", 1000), ("_1000", "_1000"),
    ("12:30:00", "12:30:00"), ("190:20:30", "190:20:30"), ("1:30", "1:30"),
    ("1e3", 1000), ("1E+3", 1000), ("1.0", 1), ("1.5", 1.5), ("1.", 1), (".5", 0.5), ("-.5", -0.5), (".5_0", 0.5),
    ("._5", "._5"), ("1e20", 10**20), ("1e21", 1e21), ("1e-7", 1e-7), ("1e400", "1e400"),
    ("9223372036854775807", 2**63 - 1), ("9223372036854775808", 2**63), ("18446744073709551615", 2**64 - 1),
    ("18446744073709551616", 18446744073709552000), ("-9223372036854775809", -9223372036854776000),
    ("+.nan", "+.nan"), ("inf", "inf"), ("0x", "0x"), ("-", "-"),
    ("2001-12-14", "2001-12-14"), ("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"), ("<<", "<<"),
    ("nginx:1.27", "nginx:1.27"), ("100m", "100m"),
]


@pytest.mark.parametrize(("text", "expected"), GO_YAML)
def test_plain_scalars_get_go_yaml_values(text, expected):
    value = kube_yaml.value(kube_yaml.plain_tag(text), text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text", [".inf", "-.Inf", "+.INF", ".nan", ".NaN"])
def test_infinite_and_nan_values_cannot_be_json(text):
    with pytest.raises(kube_yaml.NotJSON, match="JSON cannot hold") as refusal:
        kube_yaml.value(kube_yaml.plain_tag(text), text)
    assert not refusal.value.decoding  # only refused if still in the document at the end


@pytest.mark.parametrize(("text", "key"), [
    ("y", "true"), ("no", "false"), ("1", "1"), ("0x10", "16"), ("1.0", "1"), ("1.5", "1.5"), ("1e7", "1e+07"),
    ("1e3", "1000"), ("3.14159265358979", "3.1415927"), ("-00310_5755.866848", "-3.1057558e+06"), (".inf", ".inf"),
    (".nan", ".nan"), ("1e40", ".inf"), ("-0.0", "-0"), ("2001-12-14", "2001-12-14")])
def test_keys_become_go_strings(text, key):
    assert kube_yaml.key(kube_yaml.plain_tag(text), text) == key


@pytest.mark.parametrize("text", ["~", "null", "", "18446744073709551615"])
def test_null_and_uint64_keys_are_refused(text):
    with pytest.raises(kube_yaml.NotJSON):
        kube_yaml.key(kube_yaml.plain_tag(text), text)


@pytest.mark.parametrize(("tag", "text", "expected"), [
    ("str", "12", "12"), ("int", "12", 12), ("float", "1", 1), ("float", "1.5", 1.5), ("bool", "yes", True),
    ("null", "~", None), ("timestamp", "2001-12-14", "2001-12-14"), ("timestamp", "2001-12-14T21:59:43.10-05:00",
                                                                    "2001-12-14T21:59:43.10-05:00"),
    ("binary", "aGVsbG8=", "hello"), ("binary", "/w==", "\ufffd"), ("merge", "<<", "<<")])
def test_explicit_tags(tag, text, expected):
    value = kube_yaml.value("tag:yaml.org,2002:" + tag, text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("tag", "text"), [
    ("int", "x"), ("int", "1.5"), ("float", "9223372036854775808"), ("bool", "1"), ("null", "x"),
    ("timestamp", "2001-02-29"), ("timestamp", "2001-12-14T21:59:43"), ("binary", "aGVsbG8"), ("binary", "a b")])
def test_explicit_tags_that_do_not_fit_are_refused_while_decoding(tag, text):
    with pytest.raises(kube_yaml.NotJSON) as refusal:
        kube_yaml.value("tag:yaml.org,2002:" + tag, text)
    assert refusal.value.decoding


def _scalars(count: int = 20_000) -> list[str]:
    rnd = random.Random(7)
    vocabulary = [text for text, _ in GO_YAML]
    alphabet = "0123456789+-._:eExXoObB~yYnNtTfF<=aAzZ /é"
    found = list(vocabulary)
    for _ in range(count):
        how = rnd.random()
        if how < 0.4:
            found.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 8))))
        elif how < 0.7:  # a word of the vocabulary, edited
            word = list(rnd.choice(vocabulary) or "x")
            word[rnd.randrange(len(word))] = rnd.choice(alphabet)
            found.append("".join(word))
        else:  # two words joined
            found.append(rnd.choice(vocabulary) + rnd.choice(["", "_", ":", ".", "-", "e"]) + rnd.choice(vocabulary))
    return found


def test_the_short_circuit_gives_the_full_resolution():
    resolving = load_python._Loader("")
    try:
        for value in _scalars():
            for implicit in itertools.product((True, False), repeat=2):
                expected = kube_yaml.plain_tag(value) if implicit[0] else kube_yaml.STR
                assert resolving.resolve(yaml.ScalarNode, value, implicit) == expected, (value, implicit)
        assert resolving.resolve(yaml.SequenceNode, None, (True, False)) == "tag:yaml.org,2002:seq"
        assert resolving.resolve(yaml.MappingNode, None, (True, False)) == "tag:yaml.org,2002:map"
    finally:
        resolving.dispose()


def test_documents_load_with_go_yaml_values_on_both_paths():
    lines = [f"k{i}: {text}" for i, (text, _) in enumerate(GO_YAML) if text not in ("", "<<", "-")]
    expected = {f"k{i}": value for i, (text, value) in enumerate(GO_YAML) if text not in ("", "<<", "-")}
    text = "\n".join(lines) + "\nquoted: 'y'\ndouble: \"1e3\"\nblock: |\n  0o17\n"
    expected.update({"quoted": "y", "double": "1e3", "block": "0o17\n"})
    for lazy in (True, False):
        [document], problems = loader.parse_documents("f.yaml", text, require_object=False, lazy_positions=lazy)
        assert problems == []
        assert document.data == expected
        assert all(type(document.data[k]) is type(v) for k, v in expected.items())
