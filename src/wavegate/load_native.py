"""The loader's native half: wavegate._native_loader (C on libyaml), used by wavegate.load when it
was built (setup.py builds it when a C compiler and libyaml's headers are there).

It reads plain documents (mappings without anchors, aliases, tags, merge keys or duplicate keys,
within the depth and size limits, of scalars Kubernetes accepts) into the same data the Python
path builds, typing scalars with wavegate.kube_yaml, and the position of every node into a side
table. On anything else it answers None and wavegate.load reads the file with the Python path,
which has every check and finding; tests/unit/test_load_native.py and the YAML differential hold
the two paths equal.

Why C on libyaml: libyaml is the parser the Python path already runs (PyYAML's CSafeLoader), and
go-yaml v2, which Kubernetes reads YAML with, is a line-by-line translation of it; the same
scanner and parser keep every syntax decision where the differential test proved it. Only
building the objects is new. WAVEGATE_NATIVE_LOADER=0 turns it off (to compare the two).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from wavegate import kube_yaml

_native_loader: ModuleType | None
try:
    from wavegate import _native_loader
except ImportError:  # not built: no compiler or libyaml headers when wavegate was installed
    _native_loader = None

# libyaml before 0.2.5 parses `?` in flow collections, tags and directives unlike the libyaml
# PyYAML bundles; the Python path stays the reference there.
BUILT = _native_loader is not None and _native_loader.libyaml_version() >= (0, 2, 5)
AVAILABLE = BUILT and os.environ.get("WAVEGATE_NATIVE_LOADER", "").strip() != "0"

_FIRST = "".join(sorted(kube_yaml.RESOLVED_FIRST))
_values: dict = {}
_keys: dict = {}


def _value(text: str):
    return kube_yaml.value(kube_yaml.plain_tag(text), text)


def _key(text: str):
    return kube_yaml.key(kube_yaml.plain_tag(text), text)


def readable(text: str) -> bool:
    """False for text the native loader must not read even when libyaml parses it: the escape
    `\\/`, which libyaml accepts and go-yaml refuses (the Python path refuses it with its finding).
    (A `?` inside a flow collection, read differently by the two, the native loader sends to the
    Python path itself: it knows where the flow collections are.)"""
    return "\\/" not in text


def parse(text: str, max_depth: int, max_nodes: int) -> list[tuple[int, dict, bytes]] | None:
    """[(document index, data, position table)] of the mapping documents of `text` (null documents
    are skipped, as the Python path skips them), or None when the Python path must read it."""
    if _native_loader is None:
        return None
    return _native_loader.parse(text, _value, _key, _values, _keys, _FIRST, max_depth, max_nodes)


class PositionTable:
    """A document's positions as the native loader recorded them: for the root and then each
    mapping entry and list item in document order, (key line, key column, value line, value
    column), 1-based (an item's are its own twice), encoded compactly (_native_loader.c: lines as
    zigzag differences, base-128 varints). The positions dict (wavegate.load.Manifest) is built
    from it when first asked for, by walking the data in the same order."""

    __slots__ = ("table", "data")

    def __init__(self, table: bytes, data: dict):
        self.table, self.data = table, data

    def __reduce__(self):
        return PositionTable, (self.table, self.data)

    def positions_of(self, _doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        nodes = _decoded(self.table)
        if not nodes:
            return {}
        positions = {(): nodes[0]}
        at = 1

        def walk(path: tuple, node) -> None:
            nonlocal at
            pairs: Iterable[tuple[Any, Any]]
            if type(node) is dict:
                pairs = node.items()
            elif type(node) is list:
                pairs = enumerate(node)
            else:
                return
            for key, value in pairs:
                child = path + (key,)
                if at < len(nodes):
                    positions[child] = nodes[at]
                at += 1
                walk(child, value)

        walk((), self.data)
        if at != len(nodes):  # the data no longer has the shape it was read with
            return {(): positions[()]}
        return positions


def _decoded(table: bytes) -> list[tuple[int, int, int, int]]:
    """The table's nodes: (key line, key column, value line, value column) each."""
    raw: list[int] = []
    value = shift = 0
    for byte in table:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        raw.append(value)
        value = shift = 0
    nodes: list[tuple[int, int, int, int]] = []
    line = 0
    for i in range(0, len(raw) - 3, 4):
        key_delta, key_column, value_delta, column = raw[i:i + 4]
        key_line = line + ((key_delta >> 1) ^ -(key_delta & 1))
        line = key_line + ((value_delta >> 1) ^ -(value_delta & 1))
        nodes.append((key_line, key_column, line, column))
    return nodes
