"""What loading produces: Manifest (one Kubernetes object with the position of every key), Repo
(a loaded repository) and the Limits reading stays within. wavegate.load makes them, and re-exports
them (callers import them from there)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wavegate.findings import Finding, ResourceRef
from wavegate.record import field, record

if TYPE_CHECKING:
    from wavegate.discovery import Listing

if TYPE_CHECKING or sys.version_info >= (3, 12):
    from functools import cached_property
else:
    class cached_property:  # (functools' name: the same behaviour, for this module's properties)
        """functools.cached_property without the lock Python 3.11 takes on every first read (3.12
        removed it): a manifest's properties are first read hundreds of thousands of times in a
        run. Two threads reading one at once both compute it; each is worked out from the data
        alone, so both hold the same value."""

        def __init__(self, func):
            self.func, self.attrname, self.__doc__ = func, None, func.__doc__

        def __set_name__(self, owner, name):
            self.attrname = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.attrname] = self.func(instance)
            return value

DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
# A real manifest expands to a few hundred nodes; a billion-laughs file to billions. The bound is
# generous for anything real and is reached in milliseconds by a bomb, since sizes are counted
# per node (memoised), never by expanding.
MAX_EXPANDED_NODES = 1_000_000


class PositionSource(Protocol):
    """What computes a document's positions later (the file's text, the native loader's table, a render)."""

    def positions_of(self, doc_index: int) -> dict[tuple, tuple[int, int, int, int]]: ...


class ListItemSource:
    """The positions of item `index` of a list document, from its file's source
    (wavegate.load._Source); the loader cache and its workers keep `index` to make it again."""

    __slots__ = ("source", "index")

    def __init__(self, source: PositionSource, index: int):
        self.source, self.index = source, index

    def __reduce__(self):
        return ListItemSource, (self.source, self.index)

    def positions_of(self, doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        return self.of(self.source.positions_of(doc_index), self.index)

    @staticmethod
    def of(positions: dict, index: int) -> dict[tuple, tuple[int, int, int, int]]:
        prefix = ("items", index)
        found = {path[2:]: where for path, where in positions.items() if path[:2] == prefix}
        if () in found:  # the item itself: its first line, as a document's
            line, column = found[()][2:]
            found[()] = (line, column, line, column)
        return found


@record
class Manifest:
    """One YAML document that is a Kubernetes object, with the position of every key."""

    path: str
    doc_index: int
    data: dict
    positions: dict[tuple, tuple[int, int, int, int]] = field(repr=False, default_factory=dict)
    # What Kubernetes type metadata the document lacks (apiVersion, kind, metadata.name); a
    # document lacking any is kept apart (Repo.untyped) and judged by the validators.
    missing: tuple[str, ...] = ()
    # The Application whose rendered sync this copy belongs to (wavegate.render), if any.
    app: object = field(default=None, repr=False, compare=False)
    # Set after construction by whoever knows them; never by __init__ (the class's None until then,
    # so a manifest without them carries nothing extra). Where `positions` come from when first
    # asked for (see __getattr__); for an Application an ApplicationSet generated, which one; and
    # for an item of a `kind: *List` document, its index in `items` (see document_id).
    _source: PositionSource | None = field(default=None, init=False, repr=False, compare=False)
    generated_by: str | None = field(default=None, init=False, repr=False, compare=False)
    item: int | None = field(default=None, init=False, repr=False, compare=False)

    # The type metadata, the name, namespace, labels and annotations are read tens of times per
    # object by the checks (a million times on 10,000 manifests): each is computed once and then
    # held as a plain attribute. `data` and its metadata are never changed in place (what changes
    # an object, such as admission's defaults, works on a copy); set_data replaces the data and
    # forgets them.
    @cached_property
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @cached_property
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @cached_property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @cached_property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @cached_property
    def metadata(self) -> dict:
        value = self.data.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def document_id(self) -> tuple[str, int, int | None]:
        """Which written object this is: its file, its YAML document and, for an item of a
        `kind: *List` document (Argo CD applies each item, not the list), the item's index. The
        items of one list share the document's index, so the index alone does not tell them apart."""
        return self.path, self.doc_index, self.item

    def is_copy_of(self, other: Manifest) -> bool:
        """Whether both are the same document of the same file, rendered once for each of two
        Applications that read it (the render's copies share their data)."""
        return self.data is other.data and self.document_id == other.document_id

    def set_data(self, data: dict) -> None:
        """Replace the object's data (the type metadata held are read again from it)."""
        self.data = data
        for name in _FROM_DATA:
            self.__dict__.pop(name, None)

    @cached_property
    def name(self) -> str | None:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else None

    @cached_property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else None

    @cached_property
    def annotations(self) -> dict:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @cached_property
    def labels(self) -> dict:
        value = self.metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.api_version, self.kind, self.namespace, self.name)

    def get(self, *path, default=None):
        """The value at `path` (keys and list indexes), or `default` when any step is missing."""
        node: object = self.data
        for part in path:
            if type(part) is str:  # (the usual step: one lookup, not a test and a lookup)
                if not isinstance(node, dict):
                    return default
                node = node.get(part, _ABSENT)
                if node is _ABSENT:
                    return default
                continue
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return default
            elif not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def __getattr__(self, name: str):
        # `positions` of a manifest from `load` are computed when first asked for (from the file's
        # text, by the same builder), since most manifests never need them; see wavegate.load._Source.
        if name == "positions":
            source = self.__dict__.get("_source")
            if source is not None:
                self.positions = source.positions_of(self.doc_index)
                return self.positions
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def position(self, path: tuple = (), key: bool = True) -> tuple[int, int]:
        """1-based (line, column) of `path`'s key (or of its value with key=False).

        Falls back to the nearest ancestor that exists: a missing field is added under its parent.
        """
        return self.location(path, key)[1:]

    def location(self, path: tuple = (), key: bool = True) -> tuple[str, int, int]:
        """(file, line, column) of `path`, like position(). The file is this document's, except for
        a rendered field that another file sets (a kustomize patch, a Helm values file): then its
        position carries that file as a fifth element."""
        path = tuple(path)
        positions = self.positions
        while path not in positions and path:
            path = path[:-1]
        found: tuple = positions.get(path, (1, 1, 1, 1))  # (a rendered field's may carry its file fifth)
        file = found[4] if len(found) > 4 else self.path
        return (file, found[0], found[1]) if key else (file, found[2], found[3])


_ABSENT = object()  # (Manifest.get: no value there, as opposed to a null one)
_FROM_DATA = ("api_version", "kind", "group", "version", "metadata", "name", "namespace", "annotations", "labels")


def hold_type_metadata(manifests: list[Manifest]) -> None:
    """Work out every manifest's type metadata (the properties in _FROM_DATA) at once, as the
    properties would when first read: for a whole repository, at the start of a run. Read one by
    one, they cost a Python call each, about 80 ms on 10,000 manifests; the native loader's
    function takes a few. The same values either way (tests/unit/test_manifest_accessors.py)."""
    if _native_hold is not None:
        _native_hold(manifests)
        return
    for manifest in manifests:
        data, held = manifest.data, manifest.__dict__
        if type(data) is not dict:
            continue
        for name in _FROM_DATA:
            if name not in held:
                getattr(manifest, name)


_native_hold: Callable[[list], None] | None
try:
    from wavegate._native_loader import hold_type_metadata as _native_hold
except ImportError:  # (built without its native half: the properties work them out)
    _native_hold = None


def kept_document(manifest: Manifest, require_object: bool) -> bool:
    """Whether the loader keeps a parsed mapping document (and, if so, sets its `missing`): with
    require_object, not an empty mapping `{}`, which is as harmless as an empty document."""
    if not require_object:
        return True
    if not manifest.data:
        return False
    manifest.missing = missing_type(manifest)
    return True


def missing_type(manifest: Manifest) -> tuple[str, ...]:
    """The Kubernetes type metadata a document lacks (see Manifest.missing)."""
    data = manifest.data
    missing = [k for k in ("apiVersion", "kind") if not isinstance(data.get(k), str) or not data.get(k)]
    if not manifest.name and "generateName" not in manifest.metadata:
        missing.append("metadata.name")
    return tuple(missing)


@record
class Repo:
    """A loaded repository: its manifests, the YAML files looked at, and what could not be loaded."""

    root: Path
    manifests: list[Manifest] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    untyped: list[Manifest] = field(default_factory=list)
    # Which of `files` hold SKIP_RENDERING_MARKER (None: not known, as in a Repo made by hand).
    skip_marked: set[str] | None = None
    # The content hash of each regular file, when it was loaded with a cache (wavegate.cache).
    digests: dict[str, str] = field(default_factory=dict)
    # The files parsed by this load, not found in the cache (None: every file, as without a cache).
    parsed: set[str] | None = None
    listing: Listing | None = field(default=None, repr=False, compare=False)  # its directories, as read
    # The manifests by kind, for by_kind, with the list (itself, not a copy) and length they were sorted from.
    _kinds: tuple[list[Manifest], int, dict[str, list[tuple[int, Manifest]]]] | None = field(default=None, init=False,
                                                                                 repr=False, compare=False)
    # Where each metadata key and each annotation key occurs (indexes into `manifests`), for having().
    _keys: tuple[list[Manifest], int, dict, dict] | None = field(default=None, init=False, repr=False, compare=False)

    def by_kind(self, kind: str, group: str | None = None) -> list[Manifest]:
        """The manifests of `kind` (and `group`), in order. Sorted by kind once for every caller:
        several checks ask, and a pass over every object costs on a large repository."""
        found = [m for _, m in self._index().get(kind, ())]
        return [m for m in found if m.group == group] if group is not None else found

    def by_kind_indexed(self, kind: str) -> list[tuple[int, Manifest]]:
        """(index in `manifests`, manifest) of each manifest of `kind`, in order."""
        return list(self._index().get(kind, ()))

    def kinds(self) -> list[str]:
        """The kinds of the manifests, in the order first seen."""
        return list(self._index())

    def having(self, *, kinds: tuple = (), metadata: tuple = (), annotations: tuple = ()) -> list[Manifest]:
        """The manifests of any of these kinds, or with any of these keys in their metadata or
        annotations, in order, each once. A check that judges few objects asks for them here
        rather than looking at every object (indexed once for every check)."""
        keys = self._keys
        if keys is None or keys[0] is not self.manifests or keys[1] != len(self.manifests):
            by_metadata: dict = {}
            by_annotation: dict = {}
            for i, manifest in enumerate(self.manifests):
                for key in manifest.metadata:
                    by_metadata.setdefault(key, []).append(i)
                for key in manifest.annotations:
                    by_annotation.setdefault(key, []).append(i)
            keys = self._keys = (self.manifests, len(self.manifests), by_metadata, by_annotation)
        kind_index = self._index()
        found = [i for kind in kinds for i, _ in kind_index.get(kind, ())]
        found += [i for key in metadata for i in keys[2].get(key, ())]
        found += [i for key in annotations for i in keys[3].get(key, ())]
        manifests = self.manifests
        return [manifests[i] for i in sorted(set(found))]

    def _index(self) -> dict[str, list[tuple[int, Manifest]]]:
        kinds = self._kinds
        if kinds is None or kinds[0] is not self.manifests or kinds[1] != len(self.manifests):
            index: dict[str, list[tuple[int, Manifest]]] = {}
            for i, manifest in enumerate(self.manifests):
                index.setdefault(manifest.kind, []).append((i, manifest))
            kinds = self._kinds = (self.manifests, len(self.manifests), index)
        return kinds[2]


@record(frozen=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_expanded_nodes: int = MAX_EXPANDED_NODES
