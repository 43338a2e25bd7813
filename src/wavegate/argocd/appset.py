"""ApplicationSets expanded offline into the Applications Argo CD's ApplicationSet controller
would create, by Argo CD's own code (the appset-batch helper, scripts/tools/appset-batch).

The helper runs Argo CD v3.5.1's generators (list, git directories and files, clusters, matrix,
merge), its fasttemplate and Go-template rendering (sprig, goTemplateOptions), templatePatch and
the controller's GenerateApplications loop. What would need a live system is replaced: the
repo-server reads the working tree at `root` (the files git lists, tracked or not ignored), the
clusters generator sees the cluster Secrets found in the repository or listed in .wavegate.yaml,
and every AppProject exists. Generators that need a live system (scmProvider, pullRequest,
clusterDecisionResource, plugin, clusters when none is known, git in another repository) are not
expanded: one info finding each says so.

Each generated Application keeps the element that produced it and, for each of its fields, the
place in the ApplicationSet that wrote it (`origins`), so a finding on a generated Application
points at the template line a person edits.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Generator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.argocd.model import ARGOCD_GROUP
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo, parse_documents
from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.rules import declare

if TYPE_CHECKING:
    import subprocess  # imported where the helper starts, to keep startup light

    from wavegate.cache import Cache

TOOL = "appset-batch"
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"

_F = "argocd"

GENERATION_FAILED = declare(
    id="applicationset-generation-failed", family=_F, severity="error",
    title="Argo CD cannot generate an ApplicationSet's Applications",
    rationale="""The ApplicationSet controller renders the template once per generator element. When a
    generator fails (a git file that is not YAML, a matrix child that generates nothing) or a
    template does not render (a Go template syntax error, a key an element lacks under
    `goTemplateOptions: ["missingkey=error"]`, a templatePatch that is not an Application), it
    sets an ErrorOccurred condition and creates, updates and deletes none of the ApplicationSet's
    Applications until it is fixed. wavegate expands ApplicationSets with Argo CD's own generator
    and template code, so the error here is the one Argo CD would report.""")
DUPLICATE_NAME = declare(
    id="applicationset-duplicate-name", family=_F, severity="error",
    title="Two elements of an ApplicationSet generate the same Application",
    rationale="""Application names are unique in a namespace. When two generator elements render the same
    name, the ApplicationSet controller reports "contains applications with duplicate name" and
    creates or updates neither of them. It usually means the name template lacks the parameter
    that tells the elements apart.""")
NOT_EXPANDED = declare(
    id="applicationset-not-expanded", family=_F, severity="info",
    title="An ApplicationSet generator needs a live system and was not expanded",
    rationale="""Some generators ask something only a running Argo CD can reach: a Git hosting API (scmProvider,
    pullRequest), a plugin service, cluster resources (clusterDecisionResource), the registered
    clusters, or another Git repository. wavegate does not guess what they return: the Applications
    they generate are not checked here. The clusters generator is expanded when the repository holds
    the cluster Secrets or .wavegate.yaml lists the clusters.""")
UNRECOGNIZED = declare(
    id="applicationset-generator-unrecognized", family=_F, severity="warning",
    title="An ApplicationSet generator has no generator Argo CD knows",
    rationale="""Argo CD reads a generator entry by its known keys (list, clusters, git, matrix, merge,
    scmProvider, pullRequest, clusterDecisionResource, plugin). An entry with none of them (a typo,
    an indentation slip) generates nothing; the controller only logs "contains unrecognized
    generators", and the Applications it was meant to create never appear.""")

_LIVE = {
    "scmProvider": "a Git hosting API (scmProvider)",
    "pullRequest": "a Git hosting API (pullRequest)",
    "clusterDecisionResource": "cluster resources (clusterDecisionResource)",
    "plugin": "a plugin service",
}


@record
class Generated:
    """One Application the ApplicationSet controller would create."""

    appset: Manifest
    data: dict  # apiVersion, kind, metadata (name, namespace, labels, annotations, finalizers), spec
    element: dict  # the generator's parameters for it
    # Field path here -> path in the ApplicationSet that wrote it; worked out when first asked for
    # (known_origins), since most generated Applications never need a position.
    origins: dict[tuple, tuple] | None = None
    generator: int = 0  # index in spec.generators
    patch: str | None = None  # the templatePatch as rendered for this element
    _patch_lines: dict[tuple, tuple[int, int]] = field(default_factory=dict, repr=False)
    _patch_block: _PatchBlock | None = field(default=None, repr=False)
    _key_order: dict[str, int] | None = field(default=None, repr=False)  # (the ApplicationSet's, shared)

    @property
    def name(self) -> str:
        value = (self.data.get("metadata") or {}).get("name")
        return value if isinstance(value, str) else ""

    @cached_property
    def element_text(self) -> str:
        order = self._key_order if self._key_order is not None else key_order(self.appset.get("spec", "generators"))
        return describe_element(self.element, order=order)

    def known_origins(self) -> dict[tuple, tuple]:
        if self.origins is None:
            self.origins = _origins(self.appset, self)
            if self.patch is not None and self._patch_block is not None and \
                    any(o == ("spec", "templatePatch") for o in self.origins.values()):
                self._patch_lines = self._patch_block.lines(self.patch)
        return self.origins

    def origin(self, path: tuple) -> tuple:
        """The ApplicationSet path that wrote `path` (or its nearest ancestor that has one)."""
        origins = self.known_origins()
        path = tuple(path)
        while path and path not in origins:
            path = path[:-1]
        return origins.get(path, ("spec", "template"))

    def location(self, path: tuple = (), key: bool = True) -> tuple[str, int, int]:
        """(file, line, column) in the ApplicationSet's file of the template line that wrote `path`:
        inside a templatePatch, the patch's own line for it."""
        path = tuple(path)
        origin = self.origin(path)
        if origin == ("spec", "templatePatch"):
            for prefix in (path[:n] for n in range(len(path), 0, -1)):
                if prefix in self._patch_lines:
                    line, column = self._patch_lines[prefix]
                    return self.appset.path, line, column
        return self.appset.location(origin, key)

    def manifest(self) -> Manifest:
        """The generated Application as a Manifest of the ApplicationSet's file whose every field
        is positioned at the template line that wrote it: checks run on it unchanged and their
        findings point into the ApplicationSet. The positions are worked out when first asked for
        (positions_of)."""
        manifest = Manifest(self.appset.path, self.appset.doc_index, self.data)
        del manifest.positions
        manifest._source = self
        return manifest

    def positions_of(self, _doc_index: int) -> dict[tuple, tuple[int, int, int, int]]:
        positions = {}
        for path, _ in _walk(self.data):
            _, line, column = self.location(path)
            _, value_line, value_column = self.location(path, key=False)
            positions[path] = (line, column, value_line, value_column)
        return positions


@record
class Expansion:
    """What one ApplicationSet generates, and what Argo CD would report about it.

    `complete` is False when Argo CD would stop at a generation error: it then creates or updates
    none of the ApplicationSet's Applications; `generated` still holds those that rendered, so
    that they are checked before the error is fixed."""

    generated: list[Generated] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    complete: bool = True


def is_applicationset(manifest: Manifest) -> bool:
    return manifest.kind == "ApplicationSet" and manifest.group == ARGOCD_GROUP


class Expander:
    """One appset-batch process for many ApplicationSets of the repository at `root`.

    `clusters`: the known clusters (known_clusters()), each {name, server, project?, labels?,
    annotations?}. Thread-safe; close() (or `with`) stops the process."""

    def __init__(self, root: Path | str, repo_url: str | None, clusters: list[dict], binary: Path | None = None,
                 cache: Cache | None = None):
        """`cache`: where the answers are kept between runs (those of ApplicationSets without a git
        generator, by everything they depend on: the request, the ApplicationSet's file, the helper)."""
        self.root = Path(root).resolve()
        self.repo_url = repo_url or ""
        self.clusters = clusters
        self.binary = binary
        self.cache = cache
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._pipelining: int | None = None  # the thread that expand_all is answering, between two answers
        self._files: dict[str, dict[tuple, dict]] = {}  # file -> its documents' data, by Manifest.document_id

    def __enter__(self) -> Expander:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def expand(self, appset: Manifest, loaded: bool = False) -> Expansion:
        """`loaded`: the caller knows `appset` is a document of its file as the loader read it (so
        written as is, without reading the file again here)."""
        request = self._request(appset, loaded)
        key = self._key(appset, request)
        answer = self._kept(key)
        if answer is None:
            answer = self._keep(key, self.ask(request))
        return _expansion(appset, answer, self.root)

    def expand_all(self, appsets: list[Manifest], loaded: Callable[[Manifest], bool] = lambda _: False
                   ) -> Generator[Expansion, None, None]:
        """The expansion of each of `appsets`, in order. Every request the cache cannot answer is
        sent at once, so the helper works on the next ApplicationSets while the caller uses each
        answer. Until the caller has taken the last one (or closed the iterator), this Expander
        takes no other request."""
        requests = [self._request(appset, loaded(appset)) for appset in appsets]
        keys = [self._key(appset, request) for appset, request in zip(appsets, requests, strict=True)]
        kept = [self._kept(key) for key in keys]
        asked = [i for i, answer in enumerate(kept) if answer is None]
        if len(asked) < 2:
            for appset, request, key, answer in zip(appsets, requests, keys, kept, strict=True):
                yield _expansion(appset, answer if answer is not None else self._keep(key, self.ask(request)),
                                 self.root)
            return
        lines = [json.dumps(requests[i], default=str) + "\n" for i in asked]
        with self._lock:
            self._pipelining = threading.get_ident()
            taken = 0
            try:
                process = self._started()
                stdin, stdout = process.stdin, process.stdout
                assert stdin is not None and stdout is not None, "started with both pipes"
                writer = threading.Thread(target=_write_lines, args=(stdin, lines), daemon=True)
                writer.start()  # (while this thread reads: neither pipe fills up and blocks the helper)
                for appset, key, answer in zip(appsets, keys, kept, strict=True):
                    if answer is None:
                        reply = stdout.readline()
                        if not reply:
                            raise ExpanderError(f"{TOOL} stopped unexpectedly; run scripts/install-tools --only {TOOL}")
                        taken += 1
                        answer = self._keep(key, _answer(reply))
                    yield _expansion(appset, answer, self.root)
                writer.join()
            finally:
                self._pipelining = None
                if taken < len(asked):  # answers left in the pipe would answer the next request
                    self._stop()

    def _key(self, appset: Manifest, request: dict) -> str | None:
        """The cache key of the helper's answer to `request`, or None when it is not kept: no cache,
        or a git generator (which reads the repository's files)."""
        if self.cache is None or not self.cache.enabled or _reads_files(appset.get("spec", "generators")):
            return None
        from wavegate.cache import Key, tool_identity

        key = Key("appset", tool_identity(TOOL, self.binary), json.dumps(request, sort_keys=True, default=str))
        if "source" in request:  # (the helper reads the ApplicationSet from its file)
            key.add_file(self.root, appset.path)
        return key.hexdigest()

    def _kept(self, key: str | None) -> dict | None:
        if key is None or self.cache is None:
            return None
        answer = self.cache.get_value("appset", key)
        return answer if isinstance(answer, dict) else None

    def _keep(self, key: str | None, answer: dict) -> dict:
        if key is not None and self.cache is not None:
            self.cache.put_value("appset", key, answer)
        return answer

    def _request(self, appset: Manifest, loaded: bool) -> dict:
        request = {"applicationSet": appset.data, "root": str(self.root), "repoURL": self.repo_url,
                   "clusters": self.clusters}
        if loaded or self._written_as_is(appset):
            request["source"] = {"file": str(self.root / appset.path), "apiVersion": appset.api_version,
                                 "kind": appset.kind, "name": appset.name or "", "namespace": appset.namespace or ""}
        return request

    def _written_as_is(self, appset: Manifest) -> bool:
        """Whether `appset` is a document of its file as written (not rendered from a template):
        then the helper reads it from the file as Argo CD reads manifests, with sigs.k8s.io/yaml's
        typing of every scalar (`y` and `1e3` are a boolean and a number there, `12:30:00` a
        string), which wavegate's loader does not give."""
        key = appset.path
        if key not in self._files:
            try:
                text = (self.root / appset.path).read_text(encoding="utf-8")
                documents, _ = parse_documents(appset.path, text)
            except (OSError, UnicodeDecodeError):
                documents = []
            self._files[key] = {d.document_id: d.data for d in documents}
        return self._files[key].get(appset.document_id) == appset.data

    def ask(self, request: dict) -> dict:
        """One request to the helper (see scripts/tools/appset-batch/main.go), its answer."""
        if self._pipelining == threading.get_ident():  # (between two answers of expand_all: it would wait forever)
            raise RuntimeError("an Expander takes no request until every expansion of expand_all is taken")
        line = json.dumps(request, default=str) + "\n"
        with self._lock:
            process = self._started()
            stdin, stdout = process.stdin, process.stdout
            assert stdin is not None and stdout is not None, "started with both pipes"
            try:
                stdin.write(line)
                stdin.flush()
                reply = stdout.readline()
            except OSError as error:
                self._stop()
                raise ExpanderError(f"{TOOL}: {error}") from error
            if not reply:
                self._stop()
                raise ExpanderError(f"{TOOL} stopped unexpectedly; run scripts/install-tools --only {TOOL}")
        return _answer(reply)

    def _started(self) -> subprocess.Popen[str]:
        """The helper process, started when first needed (under the lock)."""
        if self._process is None:
            import subprocess

            from wavegate.tools import find_tool

            binary = self.binary or find_tool(TOOL)
            self._process = subprocess.Popen([str(binary)], text=True, encoding="utf-8", stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1)
        return self._process

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        from wavegate.tools import stop_helper

        process, self._process = self._process, None
        stop_helper(process)


class ExpanderError(RuntimeError):
    """The helper failed (not the ApplicationSet): a setup problem."""


def _reads_files(generators) -> bool:
    """Whether a git generator is among `generators`, at any depth (matrix, merge): it reads files
    of the repository, which a key of the request alone does not cover."""
    if isinstance(generators, dict):
        return "git" in generators or any(_reads_files(value) for value in generators.values())
    if isinstance(generators, list):
        return any(_reads_files(item) for item in generators)
    return False


def _answer(reply: str) -> dict:
    answer = json.loads(reply)
    if answer.get("error"):
        raise ExpanderError(f"{TOOL}: {answer['error']}")
    return answer


def _write_lines(stream, lines: list[str]) -> None:
    try:
        for line in lines:
            stream.write(line)
        stream.flush()
    except OSError:  # the helper died: the reader sees its output end and says so
        pass


def expand(appset: Manifest, root: Path | str, repo_url: str | None, clusters: list[dict]) -> Expansion:
    """The Applications `appset` generates (one helper process; for many ApplicationSets keep an
    Expander)."""
    with Expander(root, repo_url, clusters) as expander:
        return expander.expand(appset)


# -- known clusters -------------------------------------------------------------------------------


def known_clusters(repo: Repo, configured: list[dict] | tuple = ()) -> list[dict]:
    """The clusters the clusters generator sees: the Argo CD cluster Secrets of the repository
    (label argocd.argoproj.io/secret-type: cluster; `stringData` over `data`, as the API server
    merges them), then the `clusters:` of .wavegate.yaml."""
    found: list[dict] = []
    for manifest in repo.manifests:
        if manifest.kind != "Secret" or manifest.api_version != "v1":
            continue
        if manifest.labels.get(CLUSTER_SECRET_LABEL) != "cluster":
            continue
        values = _secret_values(manifest.data)
        entry = {"name": values.get("name", ""), "server": values.get("server", ""),
                 "labels": {k: str(v) for k, v in manifest.labels.items()},
                 "annotations": {k: str(v) for k, v in manifest.annotations.items()}}
        if "project" in values:
            entry["project"] = values["project"]
        found.append(entry)
    for cluster in configured:
        entry = {"name": cluster.get("name", ""), "server": cluster.get("server", ""),
                 "labels": dict(cluster.get("labels") or {}), "annotations": dict(cluster.get("annotations") or {})}
        if "project" in cluster:
            entry["project"] = cluster["project"]
        found.append(entry)
    return found


def _secret_values(data: dict) -> dict[str, str]:
    values: dict[str, str] = {}
    encoded = encoded if isinstance(encoded := data.get("data"), dict) else {}
    for key, value in encoded.items():
        try:
            values[key] = base64.b64decode(str(value), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
    plain = plain if isinstance(plain := data.get("stringData"), dict) else {}
    values.update({key: str(value) for key, value in plain.items()})
    return values


# -- the helper's answer as an Expansion ---------------------------------------------------------


def _expansion(appset: Manifest, answer: dict, root: Path) -> Expansion:
    result = Expansion()
    name = appset.name or "(unnamed)"
    patch_block = _PatchBlock(appset, root)
    order = key_order(appset.get("spec", "generators"))
    for item in answer.get("applications") or []:
        result.generated.append(Generated(appset=appset, data=item["application"], element=item.get("params") or {},
                                          generator=item.get("generator", 0), patch=item.get("patch"),
                                          _patch_block=patch_block, _key_order=order))
    for error in answer.get("errors") or []:
        result.complete = False
        result.problems.append(_generation_failed(appset, name, error))
    for skipped in answer.get("notExpanded") or []:
        result.problems.append(_not_expanded(appset, name, skipped))
    _drop_duplicates(appset, name, result)
    return result


def _generation_failed(appset: Manifest, name: str, error: dict) -> Finding:
    where = tuple(error.get("field") or ())
    message = error.get("message", "")
    element = describe_element(error.get("params") or {}, order=key_order(appset.get("spec", "generators")))
    element_part = f" (element {element})" if element else ""
    text = f"ApplicationSet {name}{element_part}: {message}"
    if where == ("spec", "templatePatch"):
        hint = "Make the templatePatch render, for every element, to YAML of an Application's fields."
    elif "map has no entry for key" in message or "can't evaluate field" in message:
        hint = ("Give every element the key the template uses, or guard it (`{{ .key | default \"x\" }}`, "
                "`{{ if hasKey . \"key\" }}`).")
    elif "failed to parse template" in message:
        hint = "Fix the Go template syntax at this line."
    else:
        hint = "Fix the generator or the template so that every element renders."
    hint += " Until then Argo CD creates or updates none of this ApplicationSet's Applications."
    return GENERATION_FAILED.at(appset, where or ("spec", "generators"), message=text, hint=hint)


def _not_expanded(appset: Manifest, name: str, skipped: dict) -> Finding:
    kind, reason, index = skipped.get("kind", ""), skipped.get("reason", ""), skipped.get("generator", 0)
    where = ("spec", "generators", index)
    if reason == "unrecognized":
        return UNRECOGNIZED.at(appset, where, message=f"ApplicationSet {name}: generator {index} has no generator "
                               "Argo CD knows and generates nothing",
                               hint="Use one of list, clusters, git, matrix, merge, scmProvider, pullRequest, "
                                    "clusterDecisionResource, plugin (check spelling and indentation).")
    if reason == "no known clusters":
        message = (f"ApplicationSet {name}: the clusters generator was not expanded, no cluster is known here; "
                   "the Applications it generates are not checked")
        hint = ("Add the cluster Secrets (label argocd.argoproj.io/secret-type: cluster) to the repository, or list "
                "the clusters under `clusters:` in .wavegate.yaml.")
    elif reason == "another repository":
        message = (f"ApplicationSet {name}: the git generator reads {skipped.get('url')}, not this repository; "
                   "it was not expanded and the Applications it generates are not checked")
        hint = "Set repoURL in .wavegate.yaml if that URL is this repository."
    elif reason == "nothing here":
        message = (f"ApplicationSet {name}: the git generator of {skipped.get('url')} matches nothing in this "
                   "repository; taken as another repository, it was not expanded")
        hint = "Set repoURL in .wavegate.yaml so that wavegate knows which repository this is."
    else:
        message = (f"ApplicationSet {name}: the {kind} generator needs {_LIVE.get(kind, 'a live system')}; it was "
                   "not expanded and the Applications it generates are not checked")
        hint = "Nothing to fix here; check its Applications in Argo CD."
    return NOT_EXPANDED.at(appset, where, message=message, hint=hint)


def _drop_duplicates(appset: Manifest, name: str, result: Expansion) -> None:
    """Argo CD creates neither of two Applications with one name (validateGeneratedApplications
    keys its errors by the name, so the first one is refused as well)."""
    by_name: dict[tuple, list[Generated]] = {}
    for generated in result.generated:
        namespace = (generated.data.get("metadata") or {}).get("namespace") or ""
        by_name.setdefault((namespace, generated.name), []).append(generated)
    for (_, app_name), group in by_name.items():
        if len(group) < 2:
            continue
        elements = " and ".join(f"element {g.element_text or '{}'}" for g in group[:3])
        more = f" and {len(group) - 3} more" if len(group) > 3 else ""
        first = group[0]
        _, line, column = first.location(("metadata", "name"))
        result.problems.append(DUPLICATE_NAME.at_file(
            appset.path, line, column, resource=appset.ref, field="spec.template.metadata.name",
            message=f"ApplicationSet {name} generates {len(group)} Applications named {app_name} ({elements}{more}); "
                    "Argo CD creates none of them",
            hint="Put the parameter that tells the elements apart into the name template."))
        for generated in group:
            result.generated.remove(generated)


# -- origins ---------------------------------------------------------------------------------------


def _origins(appset: Manifest, generated: Generated) -> dict[tuple, tuple]:
    templates: list[tuple[tuple, object]] = []
    generator = (appset.get("spec", "generators") or [None])[generated.generator] \
        if generated.generator < len(appset.get("spec", "generators") or []) else None
    if isinstance(generator, dict):
        for kind, body in generator.items():
            if isinstance(body, dict) and isinstance(body.get("template"), dict):
                templates.append((("spec", "generators", generated.generator, kind, "template"), body["template"]))
    template = appset.get("spec", "template")
    if isinstance(template, dict):
        templates.append((("spec", "template"), template))
    patch = _patch_data(generated.patch)
    origins: dict[tuple, tuple] = {}
    for path, _ in _walk(generated.data):
        if not path:
            continue
        if path[:2] == ("metadata", "namespace"):  # the controller sets the ApplicationSet's namespace
            origins[path] = ("metadata", "namespace")
            continue
        if patch is not None and _has(patch, path):
            origins[path] = ("spec", "templatePatch")
            continue
        # the generator's own template wins where it sets the field (Argo CD merges the
        # ApplicationSet's into it); else the deepest ancestor found, the ApplicationSet's on a tie
        best, depth = ("spec", "template"), 0
        for prefix, tree in templates:
            mapped, complete = _map_path(tree, path, generated.data)
            if complete:
                best = prefix + mapped
                break
            if len(mapped) >= depth:
                best, depth = prefix + mapped, len(mapped)
        origins[path] = best
    return origins


def _map_path(tree, path: tuple, generated_data) -> tuple[tuple, bool]:
    """`path` of a generated Application followed through a template: the template path that
    wrote it, and whether all of it was found (else the deepest ancestor that was)."""
    mapped: list = []
    node, rendered = tree, generated_data
    for step in path:
        if isinstance(step, int):
            if isinstance(node, list) and step < len(node):
                mapped.append(step)
                node, rendered = node[step], rendered[step] if isinstance(rendered, list) else None
                continue
            return tuple(mapped), False
        if not isinstance(node, dict):
            return tuple(mapped), False
        key = step if step in node else _templated_key(node, step, rendered)
        if key is None:
            return tuple(mapped), False
        mapped.append(key)
        node = node[key]
        rendered = rendered.get(step) if isinstance(rendered, dict) else None
    return tuple(mapped), True


def _templated_key(node: dict, key: str, rendered) -> str | None:
    """The template key that rendered to `key` (a key written as `{{...}}`)."""
    candidates = [k for k in node if isinstance(k, str) and "{{" in k
                  and not (isinstance(rendered, dict) and k in rendered)]
    for candidate in candidates:
        literal = re.split(r"\{\{.*?\}\}", candidate)
        pattern = ".*".join(re.escape(part) for part in literal)
        if re.fullmatch(pattern, key, re.DOTALL):
            return candidate
    return None


def _patch_data(patch: str | None):
    if not patch or not patch.strip():
        return None
    documents, problems = parse_documents("templatePatch", patch, require_object=False)
    return documents[0].data if documents and not problems else None


def _has(data, path: tuple) -> bool:
    for step in path:
        if isinstance(step, int):
            # lists are replaced whole by a strategic merge patch of an Application
            return isinstance(data, list)
        if not isinstance(data, dict) or step not in data:
            return False
        data = data[step]
    return True


class _PatchBlock:
    """Lines of the templatePatch block in the ApplicationSet's file, to point inside it: a field
    set by the patch is found by its key names, in order, in the patch text as written."""

    def __init__(self, appset: Manifest, root: Path):
        self.appset = appset
        self.root = root
        self._lines: list[tuple[int, str]] | None = None

    def _block(self) -> list[tuple[int, str]]:
        if self._lines is None:
            self._lines = []
            if not isinstance(self.appset.get("spec", "templatePatch"), str):
                return self._lines
            start, _ = self.appset.position(("spec", "templatePatch"), key=False)
            try:
                text = (self.root / self.appset.path).read_text(encoding="utf-8")
            except OSError:
                return self._lines
            lines = text.splitlines()
            indent = None
            for number in range(start, len(lines)):  # the block's lines follow its `|` line
                line = lines[number]
                if line.strip():
                    width = len(line) - len(line.lstrip())
                    if indent is None:
                        indent = width
                    elif width < indent:
                        break
                self._lines.append((number + 1, line))
        return self._lines

    def lines(self, rendered: str) -> dict[tuple, tuple[int, int]]:
        data = _patch_data(rendered)
        block = self._block()
        found: dict[tuple, tuple[int, int]] = {}
        if data is None or not block:
            return found
        for path, _ in _walk(data):
            keys = [step for step in path if isinstance(step, str)]
            if not keys or len(keys) != len(path) and not isinstance(path[-1], int):
                continue
            at, hit = 0, None
            for key in keys:
                pattern = re.compile(r"^(\s*(?:-\s+)?)" + re.escape(key) + r"\s*:")
                for i in range(at, len(block)):
                    match = pattern.match(block[i][1])
                    if match:
                        hit, at = (block[i][0], len(match.group(1)) + 1), i + 1
                        break
                else:
                    hit = None
                    break
            if hit is not None:
                found[path] = hit
        return found


def _walk(data, prefix: tuple = ()):
    yield prefix, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk(value, prefix + (i,))


# -- elements in messages --------------------------------------------------------------------------

# Parameters Argo CD derives from another one: left out of an element's description.
_DERIVED = lazy_compile(r"(^|\.)(basename|basenameNormalized|filename|filenameNormalized|segments|nameNormalized)$"
                      r"|\[\d+\]$")


def describe_element(params: dict, limit: int = 3, order: dict[str, int] | None = None) -> str:
    """`env=staging region=eu`: the parameters that tell an element apart, for messages; its own
    top-level values first (in `order`, the order keys are written in the ApplicationSet), then
    nested ones, never those Argo CD derives from another."""
    order = order or {}
    pairs: list[tuple[int, int, str]] = []
    for key, value in _flat(params):
        if _DERIVED.search(key) or value in ("", None) or key.startswith("metadata.labels.argocd.argoproj.io/"):
            continue
        if key.endswith("path.path"):  # goTemplate's path parameter: {path: {path: ...}}
            key = key[: -len(".path")]
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) > 40:
            text = text[:37] + "..."
        first = re.split(r"[.\[]", key, maxsplit=1)[0]
        pairs.append((key.count(".") + key.count("["), order.get(first, len(order)), f"{key}={text}"))
    pairs.sort(key=lambda pair: pair[:2])  # stable: alphabetical (as Argo CD gives them) otherwise
    return " ".join(text for _, _, text in pairs[:limit])


def key_order(data) -> dict[str, int]:
    """Every mapping key of `data`, numbered in the order it is first written."""
    order: dict[str, int] = {}
    for path, _ in _walk(data):
        if path and isinstance(path[-1], str):
            order.setdefault(path[-1], len(order))
    return order


def _flat(params, prefix: str = ""):
    if isinstance(params, dict):
        for key, value in params.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)) and value:
                yield from _flat(value, name)
            else:
                yield name, value
    elif isinstance(params, list):
        for i, value in enumerate(params):
            yield from _flat(value, f"{prefix}[{i}]")
    else:
        yield prefix, params
