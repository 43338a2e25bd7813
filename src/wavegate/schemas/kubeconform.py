"""The second schema engine: kubeconform, run on the store written as a bundle (`--engine kubeconform`).

    findings = check(repo, store, mapping)  # instead of the built-in engine's instance check

1. The kinds the repository's manifests use are written from the one store as a kubeconform
   schema directory (`bundle.write_bundle`), in a cache directory named by a hash of everything
   the files depend on, so a repeated run writes nothing.
2. `kubeconform -strict -output json -summary -schema-location DIR/<layout>` runs on the
   repository's manifest files: only files holding a manifest wavegate loaded (so wavegate's
   excludes, --changed-since and --shard apply), never the network (no default location), nothing
   skipped.
3. Its JSON results are mapped back to the manifests (file, apiVersion, kind, name) and each
   validation error to a finding of the schema rules at the line of its JSON path
   (`additional properties 'x' not allowed` is schema-unknown-field, `missing property` is
   schema-required, `got string, want integer` is schema-invalid-type, uniqueItems is
   schema-duplicate-item, everything else is schema-invalid-value).

What kubeconform cannot judge, because the bundle is plain JSON Schema: CEL rules
(x-kubernetes-validations), list-type map key uniqueness, defaults feeding later checks (a value
that comes from a default is never checked), RGDs kro cannot build. Kinds no source knows, and
RGD kinds without a CRD, get the same findings as with the built-in engine: those are decided
by the store, not by the engine.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.config import ConfigError
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.record import record
from wavegate.regex import lazy_compile
from wavegate.schemas import bundle
from wavegate.schemas.engine import DUPLICATE, REQUIRED, TYPE, UNKNOWN_FIELD, VALUE, Problem
from wavegate.schemas.store import NOT_APPLIED_GROUPS, Entry, SchemaStore, split_api_version

if TYPE_CHECKING:
    from wavegate.rules import Rule

FILES_PER_RUN = 2000  # keeps the command line far below ARG_MAX
TIMEOUT_SECONDS = 600


class KubeconformError(RuntimeError):
    """kubeconform could not be run, or said something wavegate cannot read."""


class KubeconformMissing(ConfigError):
    """--engine kubeconform without a kubeconform binary: a setup error (exit 2), not a finding."""


def require_binary() -> Path:
    """The kubeconform binary, or KubeconformMissing naming how to install it."""
    from wavegate.tools import ToolNotFoundError, find_tool

    try:
        return find_tool("kubeconform")
    except ToolNotFoundError as error:
        raise KubeconformMissing(f"--engine kubeconform: {error}") from None


@record
class Result:
    """One resource kubeconform reported on (it reports only the ones that are not valid)."""

    filename: str
    kind: str
    name: str
    version: str
    status: str
    msg: str
    errors: list[tuple[str, str]]  # (JSON path, message)


# -- the bundle ------------------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "wavegate" / "kubeconform"
    return Path(tempfile.gettempdir()) / f"wavegate-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / "kubeconform"


def _fingerprint(store: SchemaStore, entries: list[Entry], layout: str) -> str:
    """What the bundle's files depend on: wavegate's converter, the Kubernetes version and
    schema package, and each kind's schema (the schema itself unless it ships with wavegate)."""
    from wavegate import __version__

    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{store.kubernetes_version}\0{layout}\0".encode())
    digest.update(Path(bundle.__file__).read_bytes())
    try:
        import kubernetes_validate

        digest.update(str(getattr(kubernetes_validate, "__version__", "")).encode())
    except ImportError:
        pass
    for entry in entries:
        digest.update(f"\0{entry.key}\0{entry.origin}\0{entry.source}\0".encode())
        if entry.origin not in ("kubernetes", "shipped"):
            digest.update(json.dumps(entry.schema, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def prepare_bundle(store: SchemaStore, entries: list[Entry], root: Path | None = None) -> tuple[Path, str]:
    """The bundle directory holding `entries` and the -schema-location template that finds them."""
    keys = sorted({e.key for e in entries})
    layout = bundle.GROUP_DIRS if bundle.collisions(keys) else bundle.KIND_SUFFIX
    ordered = sorted({e.key: e for e in entries}.values(), key=lambda e: e.key)
    directory = (root or cache_root()) / _fingerprint(store, ordered, layout)
    if not (directory / ".complete").exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".writing-", dir=directory.parent))
        try:
            bundle.write_bundle(store, scratch, keys, layout=layout)
            (scratch / ".complete").write_text("")
            try:
                scratch.rename(directory)
            except OSError:  # another run finished first: its files are the same
                shutil.rmtree(scratch, ignore_errors=True)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)
    return directory, str(directory) + "/" + bundle.LAYOUTS[layout]


# -- running kubeconform ---------------------------------------------------------------------------


def run_kubeconform(root: Path, files: list[str], location: str) -> list[Result]:
    """kubeconform's results for `files` (relative to `root`), checked against `location` only."""
    binary = require_binary()
    results: list[Result] = []
    for start in range(0, len(files), FILES_PER_RUN):
        # -verbose: a result for every document, so one kubeconform could not even decode (and
        # so could not name) is found by elimination instead of going unreported.
        argv = [str(binary), "-strict", "-output", "json", "-summary", "-verbose", "-schema-location", location,
                *files[start:start + FILES_PER_RUN]]
        try:
            done = subprocess.run(argv, cwd=root, capture_output=True, timeout=TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise KubeconformError(f"kubeconform could not run: {error}") from None
        try:
            output = json.loads(done.stdout or b"{}")
        except ValueError:
            text = (done.stderr or done.stdout or b"").decode(errors="replace").strip().splitlines()
            raise KubeconformError(f"kubeconform failed (exit {done.returncode}): "
                                   f"{text[-1] if text else 'no output'}") from None
        for item in output.get("resources") or []:
            results.append(Result(
                filename=item.get("filename", ""), kind=item.get("kind", ""), name=item.get("name", ""),
                version=item.get("version", ""), status=item.get("status", ""), msg=item.get("msg", ""),
                errors=[(e.get("path", ""), e.get("msg", "")) for e in item.get("validationErrors") or []]))
    # kubeconform checks in parallel: its order is not stable. Sorted, the findings are.
    return sorted(results, key=lambda r: (r.filename, r.version, r.kind, r.name, r.errors))


# -- mapping results back --------------------------------------------------------------------------

_QUOTED = lazy_compile(r"'((?:[^'\\]|\\.)*)'")
_TYPE = lazy_compile(r"^got (\S+), want (.+)$")


def _unquote(text: str) -> list[str]:
    out = []
    for raw in _QUOTED.findall(text):
        try:
            out.append(json.loads('"' + raw.replace("\\'", "'") + '"'))
        except ValueError:
            out.append(raw)
    return out


def resolve_pointer(data, pointer: str) -> tuple | None:
    """The manifest path of a kubeconform JSON path (`/spec/containers/0/image`). Keys holding `/`
    (annotations) are matched greedily, since kubeconform does not escape them."""
    parts = pointer.split("/")[1:] if pointer else []
    path: list = []
    node = data
    i = 0
    while i < len(parts):
        if isinstance(node, list):
            try:
                index = int(parts[i])
                node = node[index]
            except (ValueError, IndexError):
                return None
            path.append(index)
            i += 1
        elif isinstance(node, dict):
            for j in range(len(parts), i, -1):
                key = "/".join(parts[i:j])
                if key in node:
                    path.append(key)
                    node = node[key]
                    i = j
                    break
            else:
                return None
        else:
            return None
    return tuple(path)


def _value_at(data, path: tuple):
    for part in path:
        data = data[part]
    return data


def _schema_at(schema: dict | None, path: tuple) -> dict | None:
    """The (bundle) JSON schema that governs `path`, for field suggestions."""
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("items")
        elif isinstance(node.get("properties"), dict) and part in node["properties"]:
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node if isinstance(node, dict) else None


def problems_of(manifest: Manifest, result: Result, schema: dict | None = None) -> list[Problem]:
    """kubeconform's validation errors for one manifest as the built-in engine's Problems."""
    problems: list[Problem] = []
    for pointer, message in result.errors:
        path = resolve_pointer(manifest.data, pointer)
        if path is None:
            path = ()
        value = _value_at(manifest.data, path)
        if message.startswith("additional properties "):
            known = (_schema_at(schema, path) or {}).get("properties") or {}
            for name in _unquote(message[len("additional properties "):]):
                problems.append(Problem(UNKNOWN_FIELD, path + (name,), "unknown field",
                                        suggestions=difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)))
        elif message.startswith("missing propert"):
            for name in _unquote(message):
                problems.append(Problem(REQUIRED, path + (name,), "Required value"))
        elif type_match := _TYPE.match(message):
            want = type_match[2]
            problems.append(Problem(TYPE, path, "Invalid value", value=value, text=f"must be of type {want}"))
        elif message.startswith("items at ") and message.endswith(" are equal"):
            numbers = re.findall(r"\d+", message)
            at = path + (int(numbers[1]),) if len(numbers) == 2 else path
            try:
                problems.append(Problem(DUPLICATE, at, "Duplicate value", value=_value_at(manifest.data, at)))
            except (IndexError, KeyError, TypeError):
                problems.append(Problem(DUPLICATE, path, "Duplicate value", text=message))
        else:
            problems.append(Problem(VALUE, path, "Invalid value", value=value, text=message))
    if not problems and result.status == "statusInvalid":
        problems.append(Problem(VALUE, (), "Invalid value", text=result.msg))
    return problems


def _match(results: list[Result], manifests: list[Manifest]) -> tuple[list[tuple[Manifest, Result]], list[Result]]:
    """Pair each result with the manifest it is about, and the results that fit none.

    By file, apiVersion, kind and name first (two documents with the same identity in one file
    are told apart by where the error paths lead); then by file, apiVersion and kind for a name
    that is not a string (kubeconform reads `name: yes` as "true"); then a result kubeconform
    could not even name (a document it cannot decode) takes the document of its file that holds a
    value JSON cannot (.inf, .nan), or the only one left without a result (with -verbose, every
    document it reads has one)."""
    by_identity: dict[tuple, list[Manifest]] = defaultdict(list)
    for manifest in manifests:
        by_identity[(manifest.path, manifest.api_version, manifest.kind, _name_as_json(manifest))].append(manifest)
    paired: list[tuple[Manifest, Result]] = []
    waiting: list[Result] = []
    for result in results:
        candidates = by_identity.get((result.filename, result.version, result.kind, result.name), [])
        if not candidates:
            waiting.append(result)
            continue
        chosen = next((m for m in candidates
                       if all(resolve_pointer(m.data, p) is not None for p, _ in result.errors)), candidates[0])
        candidates.remove(chosen)
        paired.append((chosen, result))
    left = [m for found in by_identity.values() for m in found]
    unmatched: list[Result] = []
    for result in waiting:
        in_file = [m for m in left if m.path == result.filename]
        if result.kind:  # a name kubeconform typed differently (`name: yes` is "true")
            candidates = [m for m in in_file if (m.api_version, m.kind) == (result.version, result.kind)
                          and not isinstance(m.get("metadata", "name"), str)]
        else:  # a document it could not decode: one JSON cannot hold, else the only one left
            candidates = [m for m in in_file if _first_non_finite(m.data)] or (in_file if len(in_file) == 1 else [])
        if candidates:
            left.remove(candidates[0])
            paired.append((candidates[0], result))
        else:
            unmatched.append(result)
    return paired, unmatched


def _name_as_json(manifest: Manifest) -> str:
    """metadata.name as kubeconform prints it (it reads YAML through JSON: `yes` is "true")."""
    name = manifest.get("metadata", "name")
    if isinstance(name, bool):
        return "true" if name else "false"
    return "" if name is None else str(name)


def _first_non_finite(data, path: tuple = ()) -> tuple:
    """The path of the first .inf or .nan (which JSON cannot hold), or ()."""
    import math

    if isinstance(data, float) and not math.isfinite(data):
        return path
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = _first_non_finite(value, path + (key,))
        if found:
            return found
    return ()


# -- the engine --------------------------------------------------------------------------------------


@record(frozen=True)
class Mapping:
    """How kubeconform's results become findings: the schema check's rules and verdicts, handed
    in by validators.schema (the engine does not import the check that runs it)."""

    check_manifest: Callable[[SchemaStore, Manifest], list[Finding]]  # the store's verdict alone
    finding: Callable[[Entry, Manifest, Problem], Finding]  # one schema problem of one manifest
    store_findings: Callable[[SchemaStore], Iterable[Finding]]  # about the schema sources themselves
    schema_used: Callable[[SchemaStore, Manifest], None]  # compile what judges it (its problems: store_findings)
    undecodable: Rule
    not_checked: Rule
    invalid_value: Rule


def check(repo: Repo, store: SchemaStore, rules: Mapping) -> Iterable[Finding]:
    """What the schema check finds with kubeconform as the engine (see the module docstring)."""
    judged: list[tuple[Manifest, Entry]] = []
    for manifest in repo.manifests:
        group, version = split_api_version(manifest.api_version)
        if group in NOT_APPLIED_GROUPS or not manifest.kind:
            continue
        entry = store.lookup(manifest.api_version, manifest.kind)
        if entry is None or entry.unavailable:
            yield from rules.check_manifest(store, manifest)  # unknown kind / RGD kro cannot build
            continue
        judged.append((manifest, entry))
    if judged:
        entries = [e for _, e in judged]
        # Each schema compiled as the built-in engine compiles it for an object it judges: its own
        # problems (a pattern that is not RE2, a CEL rule that does not compile, which make the API
        # server refuse the CRD) are the store's findings whichever engine judges the objects.
        for manifest, _ in {id(e): (m, e) for m, e in judged}.values():
            rules.schema_used(store, manifest)
        directory, location = prepare_bundle(store, entries)
        files = sorted({m.path for m, _ in judged})
        # A missing binary raises KubeconformMissing (the CLI checks for it first: exit 2); a failed
        # run raises too, and validators.run reports it as an error finding, never as a silent pass.
        results = run_kubeconform(repo.root, files, location)
        entry_of = {id(m): e for m, e in judged}
        schemas: dict[tuple, dict | None] = {}
        with_problems = {p.path for p in repo.problems}
        with_untyped = {d.path for d in repo.untyped}  # documents yaml-not-a-resource reports
        paired, unmatched = _match(results, [m for m, _ in judged])
        for manifest, result in paired:
            entry = entry_of[id(manifest)]
            if result.status == "statusError" and result.msg.startswith(UNDECODABLE_PREFIXES):
                if manifest.path in with_problems:
                    continue  # the loader already reported why
                yield rules.undecodable.at(manifest, _first_non_finite(manifest.data), _undecodable(manifest, result.msg),
                                           hint="Quote the value (a string), or write a finite number; the API "
                                                "server reads YAML the same way and refuses the object too.")
            elif result.status == "statusInvalid":
                if entry.key not in schemas:
                    schemas[entry.key] = _read_schema(directory, location, entry)
                for problem in problems_of(manifest, result, schemas[entry.key]):
                    yield rules.finding(entry, manifest, problem)
            elif result.status == "statusError":
                if manifest.path in with_problems:
                    continue  # kubeconform's strict YAML refuses what the loader already reported
                if result.msg.startswith("could not find schema"):
                    continue  # the store has no JSON schema for it (a CRD version without one)
                yield rules.not_checked.at(manifest, ("kind",),
                                           f"kubeconform could not check {manifest.kind} {manifest.name or ''}: "
                                           f"{result.msg}".replace("  ", " "))
        for result in unmatched:  # never dropped: at the file, when no document can be named
            if result.status not in ("statusError", "statusInvalid") or result.filename in with_problems | with_untyped:
                continue
            rule = rules.undecodable if result.status == "statusError" else rules.invalid_value
            what = " ".join(x for x in (result.kind, result.name) if x)
            yield rule.at_file(result.filename, message=f"kubeconform{' on ' + what if what else ''}: {result.msg}",
                               hint="Fix the document kubeconform names; the API server reads YAML the same way.")
    yield from rules.store_findings(store)


UNDECODABLE_PREFIXES = ("error unmarshalling resource", "error converting YAML", "missing 'kind' key",
                        "missing 'apiVersion' key")


def _undecodable(manifest: Manifest, message: str) -> str:
    what = f"{manifest.kind} {manifest.name}" if manifest.name else manifest.kind or "the document"
    return f"{what} cannot be decoded as the API server decodes YAML (kubeconform: {message})"


def _read_schema(directory: Path, location: str, entry: Entry) -> dict | None:
    layout = bundle.GROUP_DIRS if location.endswith(bundle.LAYOUTS[bundle.GROUP_DIRS]) else bundle.KIND_SUFFIX
    try:
        return json.loads((directory / bundle.layout_path(layout, *entry.key)).read_bytes())
    except (OSError, ValueError):
        return None


__all__ = ["KubeconformError", "Mapping", "Result", "check", "prepare_bundle", "problems_of", "resolve_pointer",
           "run_kubeconform"]
