"""The one-pass builder for plain documents (`_Builder._plain_document`, used when positions are
computed lazily) gives exactly the general path's data, missing fields and problems, and hands
everything unusual (aliases, merge keys, duplicates, non-string keys, depth, size) to it."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from wavegate import load as loader
from wavegate import load_python
from wavegate.load import Limits, parse_documents

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

ROOT = Path(__file__).resolve().parents[2]

DOCUMENTS = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: '1', b: 2, c: yes, d: ~, e: 1.5, f: 0o17}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v, k: w}\n",  # duplicate
    "a: &x {b: 1}\nc: *x\n",  # alias
    "base: {a: 1}\nother:\n  <<: {b: 2}\n  c: 3\n",  # merge key
    "? [a, b]\n: 1\n",  # non-scalar key
    "1: one\ntrue: yes\n~: null\n2.5: x\n0x10: hex\n",  # keys of other types
    "{}\n", "[]\n", "- a\n- b\n", "just text\n", "~\n",
    "when: 2001-12-14\nbin: !!binary aGVsbG8=\ntagged: !custom x\nstr: !!str 1\nint: !!int '7'\nbad: !!int x\n",
    "a: {b: {c: {d: [1, [2, [3, {e: f}]]]}}}\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  labels: {a: b}\nspec:\n  replicas: 3\n",
    "metadata: {generateName: x-}\napiVersion: v1\nkind: Pod\n",
    "kind: Pod\n",
    "'quoted key': 1\n\"k\": \"v\"\nempty:\nlist: [a, 'b', \"c\", 1, -2, +3, 1_000, 1:30, .inf, -.Inf, .nan, on, off]\n",
]


def _deep(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def _block_deep(depth: int) -> str:
    return "a:\n" + "".join("  " * i + "- \n" for i in range(1, depth)) + "  " * depth + "- x\n"


def _outcome(text: str, lazy: bool, limits: Limits = Limits(), require_object: bool = True):
    manifests, problems = parse_documents("f.yaml", text, limits, require_object, lazy_positions=lazy)
    return [(m.doc_index, m.data, m.missing) for m in manifests], problems


@pytest.mark.parametrize("require_object", [True, False])
def test_documents_build_the_same_on_both_paths(require_object):
    texts = DOCUMENTS + [_deep(loader.MAX_DEPTH - 1), _deep(loader.MAX_DEPTH), _deep(loader.MAX_DEPTH + 1),
                         _block_deep(loader.MAX_DEPTH - 1), _block_deep(loader.MAX_DEPTH + 1),
                         "---\n".join(DOCUMENTS)]
    for text in texts:
        assert _outcome(text, True, require_object=require_object) == \
            _outcome(text, False, require_object=require_object), text


def test_the_size_limit_is_the_same_at_its_boundary():
    text = "a: [1, 2, 3]\nb: {c: d}\n"  # 1 + (a, [..], 1, 2, 3) + (b, {..}, c, d) = 10 nodes
    for limit in range(7, 13):
        limits = Limits(max_expanded_nodes=limit)
        assert _outcome(text, True, limits) == _outcome(text, False, limits), limit
    assert _outcome(text, True, Limits(max_expanded_nodes=9))[1]  # over the limit: a finding
    assert not _outcome(text, True, Limits(max_expanded_nodes=10))[1]


def test_plain_documents_take_the_one_pass_and_unusual_ones_do_not(monkeypatch):
    monkeypatch.setattr(loader.load_native, "AVAILABLE", False)  # the Python path's builder
    used = []
    plain = load_python._Builder._plain_document

    def spy(self, node):
        data = plain(self, node)
        used.append(data is not None)
        return data

    monkeypatch.setattr(load_python._Builder, "_plain_document", spy)
    parse_documents("f.yaml", DOCUMENTS[0], lazy_positions=True)
    for unusual in DOCUMENTS[1:5]:
        parse_documents("f.yaml", unusual, lazy_positions=True)
    parse_documents("f.yaml", DOCUMENTS[0], lazy_positions=False)  # positions wanted: general path
    assert used == [True, False, False, False, False, False]


def test_random_documents_and_the_examples_build_the_same():
    rnd = random.Random(5)
    scalars = ["a", "'1'", "1", "yes", "~", "1.5", "0x1F", "2001-12-14", "\"q\"", "-", "x y", "on", "!!str 3"]

    def value(depth):
        roll = rnd.random()
        if depth > 3 or roll < 0.5:
            return rnd.choice(scalars)
        if roll < 0.75:
            return "[" + ", ".join(value(depth + 1) for _ in range(rnd.randint(0, 3))) + "]"
        keys = [rnd.choice(["a", "b", "c", "1", "true", "~", "'a'"]) for _ in range(rnd.randint(0, 3))]
        return "{" + ", ".join(f"{k}: {value(depth + 1)}" for k in keys) + "}"

    texts = ["\n".join(f"{k}: {value(0)}" for k in rnd.sample("abcdefgh", rnd.randint(1, 5))) + "\n"
             for _ in range(400)]
    texts += [path.read_text() for path in sorted((ROOT / "examples").rglob("*.yaml"))]
    for text in texts:
        try:
            expected = _outcome(text, False)
        except Exception:  # noqa: BLE001 - not for this test
            continue
        assert _outcome(text, True) == expected, textwrap.shorten(text, 200)
