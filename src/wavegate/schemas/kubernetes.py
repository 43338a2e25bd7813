"""Kubernetes built-in kinds, from the JSON schemas the `kubernetes-validate` package ships.

The package stores, per Kubernetes minor version, a directory `v1.N.0-local-strict/` (objects with
`additionalProperties: false`, as the API server's strict field validation sees them) holding one
file per type and `_definitions.json`, where every type lives under `$defs` with `$ref`s between
them. The kinds one can apply carry `x-kubernetes-group-version-kind`. We read only
`_definitions.json`, index the kinds, and compile a kind's node graph (once, following `$ref`s into
shared nodes) the first time a manifest of that kind is checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from wavegate.cache import derived, runtime_identity
from wavegate.regex import lazy_compile
from wavegate.schemas.engine import BUILTIN, Compiler, Node

_jsonschema_rs: ModuleType | None
try:
    import jsonschema_rs as _jsonschema_rs
except ImportError:  # pragma: no cover - a declared dependency; without it every object takes the engine
    _jsonschema_rs = None

_PACKAGE = "kubernetes_validate"
_DIR = "kubernetes-json-schema"
_VERSION = lazy_compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_NOT_INSTALLED = "no Kubernetes schemas are installed (the kubernetes-validate package is missing)"


class VersionError(ValueError):
    """A --kubernetes-version this installation cannot serve; the message lists what it can."""


def _root() -> Path | None:
    # find_spec locates the package without importing it (its import pulls in jsonschema and
    # friends, which would cost more than everything else wavegate does on a small repository).
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a declared dependency
        return None
    return Path(list(spec.submodule_search_locations)[0]) / _DIR


@lru_cache(maxsize=1)
def available_versions() -> tuple[str, ...]:
    """Minor versions with schemas, oldest first, as "1.N"."""
    root = _root()
    if root is None or not root.is_dir():
        return ()
    found = set()
    for child in root.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", child.name)
        if match and (child / "_definitions.json").is_file():
            found.add((int(match[1]), int(match[2])))
    return tuple(f"{a}.{b}" for a, b in sorted(found))


def resolve_version(requested: str | None) -> str:
    """"1.33", "v1.33.2" or None (the newest shipped) -> "1.33"; VersionError if not shipped."""
    versions = available_versions()
    if not versions:
        raise VersionError(_NOT_INSTALLED)
    if requested is None or str(requested).strip() == "":
        return versions[-1]
    match = _VERSION.match(str(requested).strip())
    if not match or match[1] != "1":
        raise VersionError(f"--kubernetes-version {requested!r}: write it as 1.N or v1.N.P, for example {versions[-1]}")
    minor = f"1.{int(match[2])}"
    if minor not in versions:
        raise VersionError(f"no schemas for Kubernetes {minor}; this installation has {versions[0]} to {versions[-1]}")
    return minor


def _definitions(path: Path) -> dict:
    with open(path, "rb") as handle:  # JSON, not YAML: the one loader is for YAML
        return json.load(handle)["$defs"]


class KubernetesSchemas:
    """The built-in kinds of one Kubernetes minor version."""

    def __init__(self, version: str):
        self.version = version
        self.source = f"kubernetes {version}"
        root = _root()
        if root is None:  # pragma: no cover - a declared dependency
            raise VersionError(_NOT_INSTALLED)
        path = root / f"v{version}.0-local-strict" / "_definitions.json"
        status = os.stat(path)  # (a file of an installed package: its version, size and time say which)
        self.defs: dict = derived("kubernetes-definitions",
                                  (runtime_identity(), str(path), status.st_size, status.st_mtime_ns),
                                  lambda: _definitions(path))
        self.kinds: dict[tuple[str, str, str], str] = {}
        for name, schema in self.defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
                self.kinds.setdefault(key, name)
        self.compiler = Compiler(BUILTIN, resolve=self._resolve, object_meta=self.object_meta)
        self._roots: dict[str, Node] = {}

    def _resolve(self, ref: str):
        name = ref.rpartition("/")[2]
        schema = self.defs.get(name)
        return None if schema is None else (name, schema)

    def object_meta(self) -> Node | None:
        if OBJECT_META not in self.defs:
            return None
        node = self.compiler.memo.get(OBJECT_META)
        if node is None:
            node = self.compiler.compile({"$ref": "#/$defs/" + OBJECT_META}, ("$defs", OBJECT_META))
        return node

    def definition(self, key: tuple[str, str, str]) -> str | None:
        return self.kinds.get(key)

    def node(self, key: tuple[str, str, str]) -> Node | None:
        name = self.kinds.get(key)
        if name is None:
            return None
        root = self._roots.get(name)
        if root is None:
            schema = dict(self.defs[name])
            schema["type"] = "object"  # a whole object is never null
            root = self.compiler.compile(schema, ("$defs", name))
            self._roots[name] = root
        return root

    def fast_validator(self, key: tuple[str, str, str]):
        """A compiled jsonschema-rs validator for the kind, or None.

        For built-in kinds it is at least as strict as the built-in engine (same schema; it also
        checks formats the engine leaves alone), so `is_valid` being true means the engine would
        find nothing, 10 to 20 times faster. Only what fails it goes through the engine, for
        paths and messages.
        """
        name = self.kinds.get(key)
        if name is None or _jsonschema_rs is None:
            return None
        reachable = self._reachable(name)
        schema = {**self.defs[name], "type": "object", "$defs": {n: self.defs[n] for n in reachable}}
        try:
            return _jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        except Exception:  # noqa: BLE001 - a schema it cannot compile just means no fast path
            return None

    def _reachable(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = [self.defs[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    target = ref.rpartition("/")[2]
                    if target not in seen and target in self.defs:
                        seen.add(target)
                        stack.append(self.defs[target])
                stack.extend(v for k, v in node.items() if k != "description" and isinstance(v, (dict, list)))
            elif isinstance(node, list):
                stack.extend(node)
        return seen

    def schema(self, key: tuple[str, str, str]) -> dict | None:
        """The kind's JSON schema with `$ref`s into `#/$defs` (self-contained with `defs_for`)."""
        name = self.kinds.get(key)
        return None if name is None else self.defs[name]


@lru_cache(maxsize=4)
def schemas_for(version: str) -> KubernetesSchemas:
    return KubernetesSchemas(version)
