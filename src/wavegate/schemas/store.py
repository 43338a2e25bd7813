"""The one schema store (DESIGN.md invariant 4): every schema wavegate knows, keyed by
(group, version, kind), whatever it came from.

Sources, highest precedence first (the first one that defines a key wins):
1. CustomResourceDefinitions in the repository;
2. CRDs, ResourceGraphDefinitions and schema-bundle files or directories given as extra paths
   (`--schemas`, then `schemas:` in .wavegate.yaml);
3. ResourceGraphDefinitions in the repository, turned into the CRD kro would generate;
4. the schemas wavegate ships (Argo CD, Backstage, kro's ResourceGraphDefinition);
5. Kubernetes' built-in kinds for the chosen version (kubernetes-validate's schemas).

Nothing is fetched from the network. YAML is read only through `wavegate.load`; bundle files are
JSON. Each schema is compiled once, on first use, and kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal, Protocol

from wavegate import data, kube
from wavegate.config import Config, ConfigError
from wavegate.findings import Finding
from wavegate.load import Limits, Manifest, Repo, load, read_yaml
from wavegate.record import field, record
from wavegate.schemas import kubernetes
from wavegate.schemas.cel import RuleCompiler
from wavegate.schemas.engine import BUILTIN, CRD, JSON, Compiler, Node, Problem, SchemaProblem, Validation

GVK = tuple[str, str, str]
FAST_AFTER = 16  # objects of one built-in kind before its compiled fast path is worth compiling

SHIPPED = "wavegate built-in"
DATA = data.FOLDER / "schemas"
# Group -> shipped file. Files load on first use of one of their groups.
SHIPPED_FILES = {
    "argoproj.io": "argocd.yaml",
    "backstage.io": "backstage.yaml",
    "scaffolder.backstage.io": "backstage.yaml",
    "kro.run": "kro.yaml",
}
# Configuration read by tools, never applied to a cluster (no API server serves these groups):
# nothing to check against a schema, and a file of nothing else is no manifest.
NOT_APPLIED_GROUPS = frozenset({
    "kustomize.config.k8s.io", "config.kubernetes.io", "kpt.dev", "fn.kpt.dev",  # kustomize, kpt
    "kind.x-k8s.io", "k3d.io", "ctlptl.dev", "clusterctl.cluster.x-k8s.io", "kubeadm.k8s.io",  # clusters
    "skaffold",  # skaffold.yaml (apiVersion skaffold/v4beta*)
    # the components' own configuration files (kubelet, scheduler, API server, audit policy, ...)
    "kubelet.config.k8s.io", "kubeproxy.config.k8s.io", "kubescheduler.config.k8s.io",
    "apiserver.config.k8s.io", "controllermanager.config.k8s.io", "audit.k8s.io", "kubectl.config.k8s.io",
    "client.authentication.k8s.io", "controller-runtime.sigs.k8s.io",
})


class SchemaSourceError(ConfigError):
    """A schema path that cannot be used (missing, unreadable): a usage error, exit 2."""


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class FastValidator(Protocol):
    """What Entry needs of a compiled validator (jsonschema-rs's)."""

    def is_valid(self, instance: object) -> bool: ...


@record
class Entry:
    """One (group, version, kind) and its schema."""

    group: str
    version: str
    kind: str
    source: str  # "crds/widget.yaml:3", "kubernetes 1.37", "wavegate built-in"
    origin: str  # "crd" (repository), "schemas" (extra path), "rgd", "bundle", "shipped", "kubernetes"
    dialect: str
    scope: str | None = None
    schema: dict | None = None  # the OpenAPI / JSON schema (with $refs for built-in kinds)
    manifest: Manifest | None = None  # the CRD or RGD that defines it, for positions
    schema_path: tuple = ()  # where `schema` sits inside `manifest`
    unavailable: str = ""  # why the kind is known but its schema is not (an RGD kro cannot build)
    _compile: Callable[[Entry], Node | None] | None = field(default=None, repr=False)
    _node: Node | None = field(default=None, repr=False)
    _compiled: bool = field(default=False, repr=False)
    problems: list[SchemaProblem] = field(default_factory=list, repr=False)
    # A compiled validator at least as strict as the engine (built-in kinds), made once a kind has
    # been seen often enough to pay for compiling it: valid objects skip the Python traversal.
    _make_fast: Callable[[], FastValidator | None] | None = field(default=None, repr=False)
    _fast: FastValidator | Literal[False] | None = field(default=None, repr=False)  # False: none to be had
    _seen: int = field(default=0, repr=False)
    # The last results by object (the schema check and the policies' defaults both need them):
    # id(data) -> (data, problems, result); the data is kept, so an id is never reused meanwhile.
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def key(self) -> GVK:
        return (self.group, self.version, self.kind)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def json_schema(self) -> dict | None:
        return self.schema

    def node(self) -> Node | None:
        if not self._compiled:
            self._compiled = True
            if self._compile is not None:
                self._node = self._compile(self)
        return self._node

    def expect(self, count: int) -> None:
        """`count` objects of this kind are to be validated: with FAST_AFTER or more, the fast path
        is compiled now, and the engine's node only if one of them fails it (compiling a
        Deployment's takes 11 ms)."""
        if count >= FAST_AFTER and self._fast is None and self._make_fast is not None:
            self._seen = max(self._seen, FAST_AFTER - 1)

    def validate(self, data: dict, old: dict | None = None) -> tuple[list[Problem], dict | None]:
        """Problems of `data` (never mutated) and the object after pruning and defaulting."""
        if self._make_fast is not None and old is None:
            self._seen += 1
            if self._fast is None and self._seen >= FAST_AFTER:
                self._fast = self._make_fast() or False
                if self._fast is False:
                    self._make_fast = None
            if self._fast and self._fast.is_valid(data):
                return [], data  # (only Kubernetes' own kinds have a fast path, and each has a node)
        node = self.node()
        if node is None:
            return [], None
        if old is None:
            memo = self._memo.get(id(data))
            if memo is not None and memo[0] is data:
                return list(memo[1]), memo[2]
        validation = Validation(self.dialect, cel=True, old=old)
        result = validation.run(node, data)
        if old is None:
            self._memo[id(data)] = (data, tuple(validation.problems), result)
        return validation.problems, result

    def locate(self, spath: tuple) -> tuple:
        """Where a place in the schema is in the defining manifest (RGDs map back to SimpleSchema)."""
        if self.origin == "rgd" and self.manifest is not None:
            out: list = ["spec", "schema"]
            parts = list(spath)
            while parts:
                part = parts.pop(0)
                if part == "properties" and parts:
                    out.append(parts.pop(0))
                elif part in ("items", "additionalProperties"):
                    continue
                else:
                    break
            return tuple(out)
        return self.schema_path + tuple(spath)


class SchemaStore:
    """Every schema wavegate knows. Build with `SchemaStore.build(repo, config, ...)`."""

    def __init__(self, kubernetes_version: str | None = None):
        self.kubernetes_version = kubernetes.resolve_version(kubernetes_version)
        self._k8s: kubernetes.KubernetesSchemas | None = None
        self.entries: dict[GVK, Entry] = {}
        self.by_file_name: dict[tuple[str, str, str], Entry] = {}  # (lowercase kind, group or prefix, version)
        self.load_problems: list[Finding] = []
        self._shipped_loaded: set[str] = set()
        self._compilers: dict[str, Compiler] = {}
        self._reported: set[int] = set()
        self._fingerprint: str | None = None

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, repo: Repo | Path | str | None, config: Config | None = None, extra_paths: Iterable = (),
              kubernetes_version: str | None = None, complete: bool = False) -> SchemaStore:
        """The store for a repository: its CRDs and RGDs, `extra_paths` (CLI --schemas) and the
        configuration's `schemas`, the shipped schemas and Kubernetes' kinds. Raises
        SchemaSourceError (a ConfigError) for a path that does not exist or a version not shipped.

        With `complete=True`, a `repo` loaded from only some of its files (--changed-since,
        --shard) still gets every CRD and RGD of the repository: the other YAML files under
        `repo.root` are scanned, and only those naming one of those kinds are parsed."""
        config = config or Config()
        try:
            store = cls(kubernetes_version or config.kubernetes_version)
        except kubernetes.VersionError as error:
            raise SchemaSourceError(str(error)) from None
        if isinstance(repo, (str, Path)):
            repo = load(Path(repo), exclude=config.exclude, limits=config.limits)
        crds = repo.by_kind("CustomResourceDefinition", kube.CRD_GROUP) if repo is not None else []
        rgds = repo.by_kind("ResourceGraphDefinition", kube.KRO_GROUP) if repo is not None else []
        if complete and repo is not None:
            elsewhere = _definitions_elsewhere(repo, config)
            crds += [m for m in elsewhere if kube.is_crd(m)]
            rgds += [m for m in elsewhere if kube.is_rgd(m)]
        # 1. CRDs in the repository.
        for manifest in crds:
            store.add_crd(manifest, origin="crd")
        # 2. Extra paths: the command line first, then the configuration (whose paths the
        #    configuration loader already made absolute, relative to the file).
        base = config.path.parent if config.path else (repo.root if repo is not None else Path.cwd())
        root = repo.root if repo is not None else None
        written = list(config.raw.get("schemas") or ())  # as the configuration file says them
        given = written if len(written) == len(config.schemas) else list(config.schemas)
        for raw, shown in [(p, p) for p in extra_paths] + list(zip(config.schemas, given, strict=True)):
            path = Path(raw)
            if not path.is_absolute() and raw not in extra_paths:
                path = base / path
            store.add_path(path, display=_display(shown, path, root), limits=config.limits)
        # 3. RGDs in the repository.
        for manifest in rgds:
            store.add_rgd(manifest, origin="rgd")
        # Compile the repository's own CRDs now, so their problems are reported even without instances.
        for entry in list(store.entries.values()):
            if entry.origin in ("crd", "rgd"):
                entry.node()
        store.fingerprint()  # of what was added, before lookups add the kinds wavegate ships
        return store

    def add_path(self, path: Path, display: str | None = None, limits: Limits = Limits()) -> None:
        display = display or str(path)
        if not path.exists():
            raise SchemaSourceError(f"schemas path {display}: no such file or directory")
        if path.is_dir():
            loaded = load(path, limits=limits)
            for manifest in loaded.manifests:
                manifest.path = _join(display, manifest.path)
            self.load_problems.extend(Finding(**{**p.__dict__, "path": _join(display, p.path)})
                                      for p in loaded.problems)
            for manifest in loaded.manifests:
                self._add_document(manifest)
            for json_file in sorted(path.rglob("*.json")):
                self.add_bundle_file(json_file, _join(display, json_file.relative_to(path).as_posix()))
        elif path.suffix == ".json":
            self.add_bundle_file(path, display)
        else:
            documents, problems = read_yaml(path, rel=display, limits=limits)
            self.load_problems.extend(problems)
            for manifest in documents:
                self._add_document(manifest)

    def _add_document(self, manifest: Manifest) -> None:
        if kube.is_crd(manifest):
            self.add_crd(manifest, origin="schemas")
        elif kube.is_rgd(manifest):
            self.add_rgd(manifest, origin="schemas")

    def _put(self, entry: Entry) -> bool:
        if entry.key in self.entries:
            return False
        self.entries[entry.key] = entry
        return True

    def add_crd(self, manifest: Manifest, origin: str) -> list[Entry]:
        """Register every served version of a CustomResourceDefinition."""
        group = manifest.get("spec", "group")
        kind = manifest.get("spec", "names", "kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            return []
        scope = manifest.get("spec", "scope")
        versions = manifest.get("spec", "versions")
        added = []
        if isinstance(versions, list):
            for i, version in enumerate(versions):
                if not isinstance(version, dict) or not isinstance(version.get("name"), str):
                    continue
                if version.get("served") is False:
                    continue
                schema_path: tuple[str | int, ...] = ("spec", "versions", i, "schema", "openAPIV3Schema")
                schema = manifest.get(*schema_path)
                if schema is None:  # v1beta1 CRDs: one schema for every version
                    schema_path = ("spec", "validation", "openAPIV3Schema")
                    schema = manifest.get(*schema_path)
                entry = self._crd_entry(manifest, group, version["name"], kind, scope, schema, schema_path, origin)
                if self._put(entry):
                    added.append(entry)
        elif isinstance(manifest.get("spec", "version"), str):
            schema_path = ("spec", "validation", "openAPIV3Schema")
            entry = self._crd_entry(manifest, group, manifest.get("spec", "version"), kind, scope,
                                    manifest.get(*schema_path), schema_path, origin)
            if self._put(entry):
                added.append(entry)
        return added

    def _crd_entry(self, manifest, group, version, kind, scope, schema, schema_path, origin) -> Entry:
        line, _ = manifest.position(())
        return Entry(group=group, version=version, kind=kind, source=f"{manifest.path}:{line}", origin=origin,
                     dialect=CRD, scope=scope if isinstance(scope, str) else None,
                     schema=schema if isinstance(schema, dict) else None, manifest=manifest,
                     schema_path=schema_path, _compile=self._compile_crd)

    def add_rgd(self, manifest: Manifest, origin: str) -> Entry | None:
        """Register the kind a ResourceGraphDefinition defines, with the CRD kro would generate."""
        spec = manifest.get("spec", "schema")
        if not isinstance(spec, dict):
            return None
        kind, version = spec.get("kind"), spec.get("apiVersion")
        group = spec.get("group") or kube.KRO_GROUP
        if not (isinstance(kind, str) and kind and isinstance(version, str) and version and isinstance(group, str)):
            return None
        line, _ = manifest.position(())
        entry = Entry(group=group, version=version, kind=kind, source=f"{manifest.path}:{line}", origin="rgd",
                      dialect=CRD, scope=spec.get("scope") if isinstance(spec.get("scope"), str) else "Namespaced",
                      manifest=manifest, schema_path=("spec", "schema"))
        crd, why = generate_crd(manifest)
        if crd is None:
            entry.unavailable = why
        else:
            versions = (crd.get("spec") or {}).get("versions") or [{}]
            entry.schema = ((versions[0].get("schema") or {}).get("openAPIV3Schema")
                            if isinstance(versions[0], dict) else None)
            entry._compile = self._compile_crd
        if origin == "schemas":
            entry.origin = "rgd"
        return entry if self._put(entry) else None

    def add_bundle_file(self, path: Path, display: str) -> list[Entry]:
        """A kubeconform-style JSON schema file (`deployment-apps-v1.json`, `group/kind_version.json`,
        or one carrying x-kubernetes-group-version-kind)."""
        if path.name.startswith("_") or path.name == "all.json":
            return []
        try:
            schema = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            from wavegate.load import SYNTAX

            self.load_problems.append(SYNTAX.at_file(display, message=f"{display} is not a readable JSON schema: {error}"))
            return []
        if not isinstance(schema, dict):
            return []
        dialect = given if (given := schema.get("x-wavegate-dialect")) in (CRD, BUILTIN, JSON) else BUILTIN
        keys = _bundle_keys(schema, path)
        added = []
        resolver = _bundle_resolver(path, schema)
        for exact, key in keys:
            entry = Entry(group=key[0], version=key[1], kind=key[2], source=display, origin="bundle",
                          dialect=dialect, schema=schema, _compile=self._compile_bundle(resolver))
            if exact:
                if self._put(entry):
                    added.append(entry)
            else:  # only the file name says which kind: (lowercase kind, group or its first label, version)
                self.by_file_name.setdefault(key, entry)
                added.append(entry)
        return added

    # -- compiling ---------------------------------------------------------------------------

    def _meta(self) -> Node | None:
        return self.k8s.object_meta() if self.k8s is not None else None

    def _compile_crd(self, entry: Entry) -> Node | None:
        if entry.schema is None:
            entry.problems.append(SchemaProblem((), f"the CRD gives no openAPIV3Schema for version {entry.version}",
                                                "Add spec.versions[].schema.openAPIV3Schema."))
            return None
        compiler = Compiler(CRD, resolve=None, cel=RuleCompiler(), object_meta=self._meta)
        node = compiler.compile_root(entry.schema, ())
        compiler.embed_meta(node)
        entry.problems.extend(compiler.problems)
        return node

    def _compile_bundle(self, resolver):
        def compile_entry(entry: Entry) -> Node | None:
            if entry.schema is None:  # (a bundle entry always has one)
                return None
            compiler = Compiler(entry.dialect, resolve=resolver, cel=RuleCompiler(), object_meta=self._meta)
            node = compiler.compile_root(entry.schema, ()) if entry.dialect == CRD else compiler.compile(entry.schema)
            entry.problems.extend(compiler.problems)
            return node
        return compile_entry

    # -- shipped schemas ---------------------------------------------------------------------

    def _load_shipped(self, group: str) -> None:
        name = SHIPPED_FILES.get(group)
        if name is None or name in self._shipped_loaded:
            return
        self._shipped_loaded.add(name)
        for entry in load_shipped(name, self._meta):
            if entry.key not in self.entries:
                self.entries[entry.key] = entry
        if group == kube.KRO_GROUP:
            # The platform's own kinds, from the ResourceGraphDefinitions of wavegate's golden path
            # (templates/kro): a generated repository validates with no configuration. RGDs from
            # the repository, --schemas or the configuration were added first and win.
            for manifest in platform_rgds():
                self.add_rgd(manifest, origin="rgd")

    # -- lookups -----------------------------------------------------------------------------

    @property
    def k8s(self) -> kubernetes.KubernetesSchemas | None:
        if self._k8s is None:
            self._k8s = kubernetes.schemas_for(self.kubernetes_version)
        return self._k8s

    def fingerprint(self) -> str:
        """A hash of what this store answers beyond wavegate's own code and the libraries: the
        Kubernetes version and every schema the repository, --schemas and the configuration added
        (per-object results are kept under it, wavegate.cache). Taken when the store is built."""
        if self._fingerprint is None:
            from wavegate.cache import blake2b  # (CPython's own BLAKE2: hashlib would load OpenSSL into every run)

            digest = blake2b(self.kubernetes_version.encode(), digest_size=16)
            for entries in (self.entries, self.by_file_name):
                for key in sorted(entries, key=repr):
                    entry = entries[key]
                    digest.update(json.dumps([repr(key), entry.origin, entry.source, entry.dialect, entry.scope,
                                              entry.unavailable, entry.schema], sort_keys=True, default=repr).encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def lookup(self, api_version: str, kind: str) -> Entry | None:
        """The entry for an object's apiVersion and kind, or None when no source knows it."""
        group, version = split_api_version(api_version)
        key = (group, version, kind)
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        if group in SHIPPED_FILES and SHIPPED_FILES[group] not in self._shipped_loaded:
            self._load_shipped(group)
            entry = self.entries.get(key)
            if entry is not None:
                return entry
        if self.by_file_name:
            lowered = kind.lower()
            entry = (self.by_file_name.get((lowered, group, version))
                     or self.by_file_name.get((lowered, group.split(".")[0], version)))
            if entry is not None:
                return entry
        k8s = self.k8s
        if k8s is not None and k8s.definition(key) is not None:
            entry = Entry(group=group, version=version, kind=kind, source=k8s.source, origin="kubernetes",
                          dialect=BUILTIN, scope=kube.scope((group, kind)), schema=k8s.schema(key),
                          _compile=lambda _entry: k8s.node(key),
                          _make_fast=lambda: k8s.fast_validator(key))
            self.entries[key] = entry
            return entry
        return None

    def kinds(self) -> list[GVK]:
        """Every (group, version, kind) the store can resolve, sorted."""
        for group in SHIPPED_FILES:
            self._load_shipped(group)
        keys = set(self.entries)
        if self.k8s is not None:
            keys.update(self.k8s.kinds)
        keys.update((e.group, e.version, e.kind) for e in self.by_file_name.values() if e.group)
        return sorted(keys)

    def versions_of(self, group: str, kind: str) -> list[str]:
        """Versions some source knows for (group, kind): what an unknown version is compared with."""
        self._load_shipped(group)
        found = {v for (g, v, k) in self.entries if g == group and k == kind}
        if self.k8s is not None:
            found.update(v for (g, v, k) in self.k8s.kinds if g == group and k == kind)
        return sorted(found)

    def kinds_in_group(self, group: str) -> dict[str, list[str]]:
        """Kinds known in `group`, each with its versions."""
        self._load_shipped(group)
        found: dict[str, set[str]] = {}
        keys = list(self.entries)
        if self.k8s is not None:
            keys += list(self.k8s.kinds)
        for g, v, k in keys:
            if g == group:
                found.setdefault(k, set()).add(v)
        return {k: sorted(v) for k, v in sorted(found.items())}

    def schema_problems(self) -> list[tuple[Entry, SchemaProblem]]:
        """Problems of every schema compiled so far (each reported once per store)."""
        out = []
        seen_manifests: set[tuple] = set()
        for entry in list(self.entries.values()) + list(self.by_file_name.values()):
            if not entry._compiled:
                continue
            for problem in entry.problems:
                where = (id(entry.manifest), entry.locate(problem.spath), problem.message)
                if where in seen_manifests:
                    continue  # the same schema text shared by two versions of one CRD
                seen_manifests.add(where)
                out.append((entry, problem))
        return out


# ---------------------------------------------------------------------------------------------


def store_for(ctx) -> SchemaStore:
    """A checking context's store; built (and kept on the context) when the CLI did not build one."""
    store = getattr(ctx, "schemas", None)
    if store is None:
        store = SchemaStore.build(ctx.repo, ctx.config)
        ctx.schemas = store
    return store


def _definitions_elsewhere(repo: Repo, config: Config) -> list[Manifest]:
    """CRDs and RGDs in the repository's files that `repo` did not load (a partial load)."""
    from wavegate.load import discover, load_file

    loaded = set(repo.files)
    found: list[Manifest] = []
    for rel in discover(repo.root, config.exclude):
        if rel in loaded:
            continue
        try:
            raw = (repo.root / rel).read_bytes()
        except OSError:
            continue
        if b"CustomResourceDefinition" not in raw and b"ResourceGraphDefinition" not in raw:
            continue
        manifests, _ = load_file(repo.root, rel, config.limits)  # its problems belong to its own run
        found += [m for m in manifests if kube.is_crd(m) or kube.is_rgd(m)]
    return found


def _display(raw, path: Path, root: Path | None) -> str:
    """How findings name a schema path: as given when that is absolute, else relative to the
    repository like every other path (`../platform/crds/widget.yaml` for one beside it)."""
    if Path(raw).is_absolute():
        return str(raw)
    if root is not None:
        try:
            return Path(os.path.relpath(path.resolve(), root)).as_posix()
        except ValueError:  # another drive on Windows
            pass
    return str(raw)


def _join(display: str, rel: str) -> str:
    return rel if display in ("", ".") else f"{display.rstrip('/')}/{rel}"


def generate_crd(manifest: Manifest) -> tuple[dict | None, str]:
    """The CRD kro would generate for an RGD (wavegate.kro), or (None, why not); kept between runs
    by the RGD's content (wavegate.cache.derived)."""
    import marshal

    from wavegate.cache import derived

    try:
        written = marshal.dumps(manifest.data)
    except ValueError:  # (not plain data: worked out every time)
        return _generate_crd(manifest)
    crd, why = derived("kro-crd", (written,), lambda: _generate_crd(manifest))
    return crd, why


def _generate_crd(manifest: Manifest) -> tuple[dict | None, str]:
    try:
        from wavegate.kro import SimpleSchemaError, crd_for_rgd
    except ImportError:
        return None, "wavegate.kro (SimpleSchema to CRD) is not available"
    try:
        crd = crd_for_rgd(manifest.data)
    except SimpleSchemaError as error:
        return None, f"kro cannot build its CRD: {error}"
    if not isinstance(crd, dict):
        return None, "kro produced no CRD"
    return crd, ""


def _bundle_keys(schema: dict, path: Path) -> list[tuple[bool, tuple]]:
    """The keys a bundle file serves: exact GVKs when it says so, else what its name implies."""
    gvks = schema.get("x-kubernetes-group-version-kind")
    if isinstance(gvks, dict):
        gvks = [gvks]
    if isinstance(gvks, list) and gvks:
        return [(True, (g.get("group", ""), g.get("version", ""), g.get("kind", "")))
                for g in gvks if isinstance(g, dict) and g.get("kind")]
    props = props if isinstance(props := schema.get("properties"), dict) else {}
    kinds = (props.get("kind") or {}).get("enum") if isinstance(props.get("kind"), dict) else None
    versions = (props.get("apiVersion") or {}).get("enum") if isinstance(props.get("apiVersion"), dict) else None
    if isinstance(kinds, list) and isinstance(versions, list) and kinds and versions:
        return [(True, (*split_api_version(v), k)) for k in kinds for v in versions
                if isinstance(k, str) and isinstance(v, str)]
    stem = path.name[: -len(".json")]
    if "_" in stem:  # CRDs-catalog: <group>/<kind>_<version>.json
        kind, _, version = stem.rpartition("_")
        return [(False, (kind.lower(), path.parent.name, version))]
    parts = stem.split("-")  # kubeconform: <kind>-<group prefix>-<version>.json or <kind>-<version>.json
    if len(parts) == 2:
        return [(False, (parts[0], "", parts[1]))]
    if len(parts) >= 3:
        return [(False, (parts[0], "-".join(parts[1:-1]), parts[-1]))]
    return []


def _bundle_resolver(path: Path, schema: dict):
    cache: dict[Path, dict] = {}

    def resolve(ref: str):
        target, _, pointer = ref.partition("#")
        if target:
            file = path.parent / Path(target).name
            document = cache.get(file)
            if document is None:
                try:
                    document = json.loads(file.read_bytes())
                except (OSError, ValueError):
                    return None
                cache[file] = document
        else:
            file, document = path, schema
        node = document
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return None
        return (f"{file}#{pointer}", node) if isinstance(node, dict) else None

    return resolve


# -- the shipped schemas -------------------------------------------------------------------------


def platform_rgds() -> list[Manifest]:
    """The ResourceGraphDefinitions wavegate's golden path ships (templates/kro)."""
    from wavegate.scaffold.init import templates_root

    directory = templates_root() / "kro"
    repo = load(directory)
    for manifest in repo.manifests:
        manifest.path = f"wavegate built-in templates/kro/{manifest.path}"
    return [m for m in repo.manifests if kube.is_rgd(m)]


def load_shipped(name: str, object_meta: Callable[[], Node | None] | None = None) -> list[Entry]:
    """Entries of one shipped schema file (data/schemas/NAME): a YAML document with `dialect`,
    `definitions` (shared types, referenced as `#/definitions/Name`) and `kinds`, each with its
    `apiVersions`, `kind`, `scope` and `schema`."""
    path = DATA / name
    # (its positions only when a problem of a shipped schema is reported: 8 ms for Argo CD's, every store)
    documents, problems = read_yaml(path, rel=f"wavegate/data/schemas/{name}", lazy_positions=True)
    if problems or not documents:  # a packaging bug; tests keep it from shipping
        raise RuntimeError(f"shipped schema {name} cannot be read: {problems[0].message if problems else 'empty'}")
    document = documents[0]
    data = document.data
    dialect = data.get("dialect", CRD)
    definitions = data.get("definitions") or {}

    def resolve(ref: str):
        prefix = "#/definitions/"
        if ref.startswith(prefix) and ref[len(prefix):] in definitions:
            return ref, definitions[ref[len(prefix):]]
        return None

    compiler_box: dict = {}

    def make(entry: Entry) -> Node | None:
        if entry.schema is None:  # (a shipped kind always has one)
            return None
        compiler = compiler_box.get("compiler")
        if compiler is None:
            compiler = Compiler(dialect, resolve=resolve, cel=RuleCompiler(), object_meta=object_meta)
            compiler_box["compiler"] = compiler
        node = compiler.compile_root(entry.schema, ()) if dialect != JSON else compiler.compile(entry.schema, ())
        if dialect != JSON:
            compiler.embed_meta(node)
        entry.problems.extend(compiler.problems)
        compiler.problems = []
        return node

    entries = []
    for index, spec in enumerate(data.get("kinds") or []):
        for api_version in spec.get("apiVersions", []):
            group, version = split_api_version(api_version)
            entries.append(Entry(group=group, version=version, kind=spec["kind"], source=SHIPPED, origin="shipped",
                                 dialect=dialect, scope=spec.get("scope"), schema=spec["schema"], manifest=document,
                                 schema_path=("kinds", index, "schema"), _compile=make))
    return entries


def resolved_schema(entry: Entry) -> dict | None:
    """The entry's schema with every `$ref` inlined (for bundle export; built-in recursion is cut
    by leaving a recursive reference as an open object)."""
    if entry.schema is None:
        return None
    if entry.origin == "kubernetes":
        from wavegate.schemas.kubernetes import schemas_for

        defs = schemas_for(entry.source.split()[-1]).defs

        def resolve(ref):
            name = ref.rpartition("/")[2]
            return defs.get(name)
    elif entry.origin == "shipped" and entry.manifest is not None:
        definitions = entry.manifest.data.get("definitions") or {}

        def resolve(ref):
            return definitions.get(ref.rpartition("/")[2])
    else:
        def resolve(ref):
            return None

    def inline(schema, stack: tuple):
        if isinstance(schema, list):
            return [inline(x, stack) for x in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in stack:
                return {"type": "object"}
            target = resolve(ref)
            if target is None:
                return {k: inline(v, stack) for k, v in schema.items() if k != "$ref"}
            merged = {**inline(target, stack + (ref,)), **{k: inline(v, stack) for k, v in schema.items() if k != "$ref"}}
            return merged
        return {k: inline(v, stack) for k, v in schema.items()}

    return inline(entry.schema, ())


__all__ = ["Entry", "SchemaStore", "SchemaSourceError", "load_shipped", "resolved_schema", "split_api_version",
           "store_for"]
