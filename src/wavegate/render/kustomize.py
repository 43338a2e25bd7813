"""`kustomize build`, run as Argo CD's repo-server runs it (util/kustomize/kustomize.go Build).

For an Application's `kustomize:` options Argo CD first edits the kustomization in its checkout:
`kustomize edit set nameprefix|namesuffix|image|replicas|namespace`, `edit add label|annotation
|component`, and appends `patches` to the file. Then it runs `kustomize build <path>` (with the
argocd-cm `kustomize.buildOptions` when configured) in the repository root. wavegate does the same
in the workspace mirror, and adds `buildMetadata: [originAnnotations]` to the kustomization so
that each object says which file it came from; the annotation is removed again from what is
checked.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate.load import read_yaml
from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.render.sourcetype import envsubst
from wavegate.render.workspace import ToolResult, Workspace

if TYPE_CHECKING:
    import subprocess  # imported where the helper starts, to keep startup light

ORIGIN = "config.kubernetes.io/origin"
_BUILD_METADATA = lazy_compile(r"^buildMetadata\s*:", re.MULTILINE)


@record
class Built:
    """What one build produced: the objects (with the origin kustomize recorded) or the failure."""

    objects: list[tuple[dict, dict | None]] = field(default_factory=list)  # (object, origin)
    command: str = ""
    error: str = ""
    timed_out: bool = False
    stdout: str = ""  # kustomize's output as it was (what the cache keeps)
    ours: bool = False  # whether the origin annotations are wavegate's (removed from the objects)


def edit_commands(options: dict, env: dict[str, str]) -> list[list[str]]:
    """The `kustomize edit` arguments for an Application's kustomize options, in Argo CD's order."""
    commands: list[list[str]] = []
    if _text(options.get("namePrefix")):
        commands.append(["edit", "set", "nameprefix", "--", options["namePrefix"]])
    if _text(options.get("nameSuffix")):
        commands.append(["edit", "set", "namesuffix", "--", options["nameSuffix"]])
    images = [envsubst(str(i), env) for i in options.get("images") or [] if isinstance(i, (str, int))]
    if images:
        commands.append(["edit", "set", "image", *images])
    replicas = [f"{r.get('name')}={_count(r.get('count'))}" for r in options.get("replicas") or []
                if isinstance(r, dict)]
    if replicas:
        commands.append(["edit", "set", "replicas", *replicas])
    labels = options.get("commonLabels")
    if isinstance(labels, dict) and labels:
        args = ["edit", "add", "label"]
        if options.get("forceCommonLabels") is True:
            args.append("--force")
        if options.get("labelWithoutSelector") is True:
            args.append("--without-selector")
        if options.get("labelIncludeTemplates") is True:
            args.append("--include-templates")
        commands.append(args + [f"{k}:{envsubst(str(v), env)}" for k, v in labels.items()])
    annotations = options.get("commonAnnotations")
    if isinstance(annotations, dict) and annotations:
        args = ["edit", "add", "annotation"]
        if options.get("forceCommonAnnotations") is True:
            args.append("--force")
        substitute = options.get("commonAnnotationsEnvsubst") is True
        commands.append(args + [f"{k}:{envsubst(str(v), env) if substitute else v}" for k, v in annotations.items()])
    if _text(options.get("namespace")):
        commands.append(["edit", "set", "namespace", "--", options["namespace"]])
    return commands


def build(binary: Path, workspace: Workspace, rel_dir: str, kustomization_file: str, options: dict,
          build_options: str, env: dict[str, str], kube_version: str, api_versions: list[str],
          batch: BatchBuilder | None = None, reads: Iterable[str] = ()) -> Built:
    """Build the kustomization in `rel_dir` of the workspace mirror with the Application's
    `options`, the way Argo CD does, and read back each object's origin. With `batch`, the build
    itself runs in the kustomize-batch process (kustomize's own build command, without a process
    start per build); the edits always run the kustomize binary. `reads`: the directories of the
    other kustomizations it reads (its bases, components): no other build rewrites them meanwhile."""
    mirror = workspace.path
    directory = mirror / rel_dir if rel_dir else mirror
    with workspace.locked((rel_dir, *reads)):
        try:
            for args in edit_commands(options, env):
                workspace.writable(kustomization_file)
                done = workspace.run([str(binary), *args], cwd=directory)
                if done.returncode != 0:
                    return _failed(done)
            _append_patches(workspace, kustomization_file, options)
            components = _components(options, workspace.root, rel_dir)
            if components:
                workspace.writable(kustomization_file)
                done = workspace.run([str(binary), "edit", "add", "component", *components], cwd=directory)
                if done.returncode != 0:
                    return _failed(done)
            ours = _add_origin_annotations(workspace, kustomization_file)
            if "--enable-helm" in build_options:
                workspace.private(rel_dir)
            args = [str(directory), *build_options.split()]
            if "--enable-helm" in build_options:
                if "--helm-command" not in build_options:  # (kustomize looks for helm on PATH, not where wavegate's is)
                    args += _helm_command()
                if kube_version:
                    args += ["--helm-kube-version", kube_version]
                for version in api_versions:
                    args += ["--helm-api-versions", version]
            done = batch.build(args) if batch is not None else workspace.run([str(binary), "build", *args], cwd=mirror)
        finally:
            workspace.restore(kustomization_file)
    if done.returncode != 0:
        return _failed(done)
    return Built(objects=objects_of(done.stdout, ours), command=done.command, stdout=done.stdout, ours=ours)


def _helm_command() -> list[str]:
    from wavegate.tools import ToolNotFoundError, find_tool

    try:
        return ["--helm-command", str(find_tool("helm"))]
    except ToolNotFoundError:
        return []  # (kustomize says it cannot run helm)


class BatchBuilder:
    """One kustomize-batch process (scripts/tools/kustomize-batch) for a whole render: it runs the
    kustomize CLI's build command for each request, so its output and errors are kustomize's."""

    def __init__(self, binary: Path, workspace: Workspace):
        self.binary = binary
        self.workspace = workspace
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def build(self, args: list[str]) -> ToolResult:
        import subprocess

        shown = "kustomize build " + " ".join(self.workspace.display(a) for a in args)
        with self._lock:
            try:
                if self._process is None:
                    self._process = subprocess.Popen([str(self.binary)], cwd=self.workspace.path, text=True,
                                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                     stderr=subprocess.DEVNULL, bufsize=1)
                stdin, stdout = self._process.stdin, self._process.stdout
                assert stdin is not None and stdout is not None, "started with both pipes"
                stdin.write(json.dumps({"args": args}) + "\n")
                stdin.flush()
                line = stdout.readline()
            except OSError as error:
                self.close()
                return ToolResult(-1, "", f"kustomize-batch: {error}", shown)
        if not line:
            self.close()
            return ToolResult(-1, "", "kustomize-batch stopped unexpectedly", shown)
        answer = json.loads(line)
        if "error" in answer:
            return ToolResult(1, "", self.workspace.display(answer["error"]), shown)
        return ToolResult(0, answer.get("yaml", ""), "", shown)

    def close(self) -> None:
        from wavegate.tools import stop_helper

        process, self._process = self._process, None
        stop_helper(process)


def _failed(done: ToolResult) -> Built:
    message = done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}"
    return Built(command=done.command, error=message, timed_out=done.timed_out)


def _append_patches(workspace: Workspace, kustomization_file: str, options: dict) -> None:
    """Argo CD appends the Application's kustomize.patches to the kustomization's patches (there is
    no `kustomize edit` for them) and writes the file back as YAML."""
    patches = options.get("patches")
    if not isinstance(patches, list) or not patches:
        return
    target = workspace.writable(kustomization_file)
    documents, _ = read_yaml(target, rel=kustomization_file)
    data = dict(documents[0].data) if documents else {}
    existing = data.get("patches")
    data["patches"] = (existing if isinstance(existing, list) else []) + patches
    target.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML; kustomize reads either


def _components(options: dict, root: Path, rel_dir: str) -> list[str]:
    components = [c for c in options.get("components") or [] if isinstance(c, str)]
    if options.get("ignoreMissingComponents") is True:
        base = root / rel_dir
        components = [c for c in components if (base / c).resolve().is_relative_to(root.resolve())
                      and (base / c).exists()]
    return components


def _add_origin_annotations(workspace: Workspace, kustomization_file: str) -> bool:
    """Ask kustomize to record each object's origin; False when the kustomization already does
    (then the annotation is the person's and stays on the objects)."""
    target = workspace.writable(kustomization_file)
    text = target.read_text(encoding="utf-8")
    documents, problems = read_yaml(target, rel=kustomization_file)
    data = documents[0].data if documents and not problems else None
    if data is None:
        return False  # kustomize reports what is wrong with the file
    metadata = data.get("buildMetadata")
    if isinstance(metadata, list) and "originAnnotations" in metadata:
        return False
    if metadata is None and not _BUILD_METADATA.search(text) and not text.lstrip().startswith(("{", "[")):
        target.write_text(text.rstrip("\n") + "\nbuildMetadata: [originAnnotations]\n", encoding="utf-8")
        return True
    updated = dict(data)
    updated["buildMetadata"] = (metadata if isinstance(metadata, list) else []) + ["originAnnotations"]
    target.write_text(json.dumps(updated), encoding="utf-8")
    return True


def objects_of(text: str, strip_origin: bool) -> list[tuple[dict, dict | None]]:
    """The objects of kustomize's output with their origins (removed when they are wavegate's)."""
    from wavegate.load import parse_documents

    documents, _ = parse_documents("<kustomize build>", text, require_object=False)
    found = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict):
            continue
        annotations = (data.get("metadata") or {}).get("annotations") if isinstance(data.get("metadata"), dict) else None
        origin = None
        if isinstance(annotations, dict) and isinstance(annotations.get(ORIGIN), str):
            origin_docs, _ = parse_documents("<origin>", annotations[ORIGIN], require_object=False)
            origin = origin_docs[0].data if origin_docs else None
            if strip_origin:
                del annotations[ORIGIN]
                if not annotations:
                    del data["metadata"]["annotations"]
        found.append((data, origin))
    return found


def _text(value) -> bool:
    return isinstance(value, str) and value != ""


def _count(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value))
    return str(value)
