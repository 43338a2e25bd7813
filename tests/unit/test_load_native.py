"""The native loader (wavegate._native_loader, C on libyaml) gives exactly the Python path's
manifests (data with its types, positions, missing fields) and findings, and hands every document
it does not read itself to the Python path. The YAML differential (tests/integration) holds both
to sigs.k8s.io/yaml; here they are held to each other, positions included."""

from __future__ import annotations

import math
import pickle
import random
from pathlib import Path

import pytest

from tests.helpers import require_native_loader
from tests.yaml_oracle import generate
from wavegate import load_native
from wavegate.load import Limits, load, parse_documents

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def built():
    require_native_loader()


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is float and math.isnan(a):
        return math.isnan(b)
    return a == b


def _read(text: str, native: bool, lazy: bool = True, require_object: bool = True, limits: Limits = Limits()):
    saved, load_native.AVAILABLE = load_native.AVAILABLE, native
    try:
        manifests, problems = parse_documents("f.yaml", text, limits, require_object=require_object,
                                              lazy_positions=lazy)
    finally:
        load_native.AVAILABLE = saved
    return ([(m.path, m.doc_index, m.data, m.missing, _positions(m.positions)) for m in manifests],
            [(p.rule, p.path, p.line, p.column, p.message, p.hint, p.field) for p in problems])


def _positions(positions: dict) -> dict:
    # (a key Kubernetes refuses stands in the path as an object of its own, compared by its text)
    return {tuple(p if type(p) in (str, int) else ("refused", str(p)) for p in path): value
            for path, value in positions.items()}


def _natively(text: str, limits: Limits = Limits()) -> bool:
    return load_native.readable(text) and load_native.parse(text, 200, limits.max_expanded_nodes) is not None


def _assert_same(text: str, **options) -> None:
    native, python = _read(text, True, **options), _read(text, False, lazy=False,
                                                          **{k: v for k, v in options.items() if k != "lazy"})
    assert _same(native[0], python[0]), text
    assert native[1] == python[1], text


def _texts() -> list[str]:
    texts = [case.text for case in generate(20_000, seed=29)]
    for pattern in ("examples/**/*.yaml", "templates/**/*.yaml", "src/wavegate/**/*.yaml", "tests/fixtures/**/*.yaml"):
        for path in sorted(p for p in ROOT.glob(pattern) if p.is_file()):
            try:
                texts.append(path.read_text(encoding="utf-8-sig"))
            except UnicodeDecodeError:  # (the rule example of invalid UTF-8: never text to parse)
                continue
    return texts


def test_the_native_loader_reads_every_document_as_the_python_path_does():
    texts = _texts()
    natively = 0
    for text in texts:
        _assert_same(text, require_object=True)
        _assert_same(text, require_object=False, lazy=False)
        natively += _natively(text)
    assert natively > len(texts) / 2  # and it read most of them itself


def test_positions_of_real_manifests_are_the_python_paths():
    rnd = random.Random(3)
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if not _natively(text):
            continue
        native, python = _read(text, True), _read(text, False, lazy=False)
        assert [m[4] for m in native[0]] == [m[4] for m in python[0]], path
        for manifest in native[0]:
            for key in rnd.sample(sorted(manifest[4], key=repr), min(5, len(manifest[4]))):
                assert all(isinstance(n, int) and n >= 1 for n in manifest[4][key])


@pytest.mark.parametrize("text", [
    "a: &x {b: 1}\nc: *x\n",  # anchor and alias
    "a: &x 1\n",  # an anchor alone
    "a: !!str 1\n", "a: !custom x\n", "a: ! 1\n", "!!map {a: 1}\n",  # tags
    "base: {a: 1}\nother:\n  <<: {b: 2}\n",  # merge key
    "a: 1\na: 2\n",  # duplicate key
    "? [a, b]\n: 1\n", "? {a: b}\n: 1\n",  # collection keys
    "~: 1\n", ": 1\n", "9223372036854775808: x\n",  # keys Kubernetes refuses
    "a: .inf\n", "a: .nan\n", "a: !!int x\n",  # values it refuses
    "- a\n- b\n", "just text\n", "'quoted'\n",  # documents that are not mappings
    "a: [b\n", "a:\n\tb: 1\n", "a: 'x\n",  # syntax errors
    "a: [b?c]\n", "a: \"x\\/y\"\n",  # what libyaml accepts and go-yaml does not
    "%YAML 1.1\n---\na: 1\n", "%TAG !e! tag:example.com,2000:\n---\na: 1\n",  # directives
    "a: " + "[" * 201 + "]" * 201 + "\n",  # too deep
])
def test_what_the_native_loader_hands_to_the_python_path(text):
    assert not _natively(text)
    _assert_same(text, require_object=False)


def test_the_depth_and_size_limits_are_the_python_paths_at_their_boundaries():
    for depth in (198, 199, 200, 201):
        text = "a: " + "[" * depth + "]" * depth + "\n"
        assert _natively(text) == (depth < 200), depth
        _assert_same(text)
    text = "a: [1, 2, 3]\nb: {c: d}\n"  # 10 nodes
    for limit in range(7, 13):
        limits = Limits(max_expanded_nodes=limit)
        assert _natively(text, limits) == (limit >= 10)
        _assert_same(text, limits=limits)


def test_empty_and_null_documents_are_skipped_with_their_index():
    text = "---\n---\n~\n---\nnull\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n{}\n"
    assert _natively(text)
    manifests, problems = _read(text, True)
    assert [m[1] for m in manifests] == [3] and not problems
    _assert_same(text)


def test_typed_scalars_and_keys():
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
            "data: {a: '1', b: 2, c: yes, d: ~, e: 1.5, f: 0o17, g: 1e3, h: 12:30:00, i: 2001-12-14, j: 0x1F, "
            "k: on, l: -.5, m: '', p: \"\", o: <<}\n1: one\ny: t\n2.5: f\n0x10: hex\n")
    assert _natively(text)
    (manifest,), _ = _read(text, True)
    data = manifest[2]
    assert data["data"] == {"a": "1", "b": 2, "c": True, "d": None, "e": 1.5, "f": 15, "g": 1000, "h": "12:30:00",
                            "i": "2001-12-14", "j": 31, "k": True, "l": -0.5, "m": "", "p": "", "o": "<<"}
    assert type(data["data"]["g"]) is int
    assert list(data)[4:] == ["1", "true", "2.5", "16"]
    _assert_same(text)


def test_positions_fall_back_to_the_document_when_the_data_changed_shape():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
    (manifest,), _ = parse_documents("f.yaml", text, lazy_positions=True)
    assert isinstance(manifest._source, load_native.PositionTable)
    manifest.data["data"]["new"] = "x"
    assert manifest.positions == {(): (1, 1, 1, 1)}


def test_native_manifests_pickle_with_their_positions(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
    repo = load(tmp_path)
    copy = pickle.loads(pickle.dumps(repo.manifests[0]))
    assert copy.data == repo.manifests[0].data
    assert copy.position(("data", "k")) == (6, 3) == repo.manifests[0].position(("data", "k"))


def test_has_null_in_c_answers_what_the_python_walk_answers():
    require_native_loader()
    from wavegate import _native_loader
    from wavegate.schemas.defaults import _has_null

    deep: dict = {"a": 1}
    for _ in range(600):  # (deeper than the C walk goes: it answers yes, the caller's walk decides)
        deep = {"x": [deep]}
    cases = [{}, {"a": None}, {"a": [None]}, {"a": [{"b": None}]}, {"a": {"b": {"c": 1}}, "d": [1, "x", {}]},
             [{"a": None}], [None], {"a": ({"b": None},)}, deep]
    answers = [_native_loader.has_null(case) for case in cases]
    assert answers == [False, True, False, True, False, True, False, False, True]
    assert answers[:-1] == [_has_null(case) for case in cases[:-1]] and _has_null(deep) is False
