"""`helm template`, with the arguments Argo CD's repo-server passes (reposerver helmTemplate,
util/helm/cmd.go template): release name (helm.releaseName, else the Application's name),
namespace (helm.namespace, else the destination namespace), --kube-version, --set,
--set-string, --set-file, --values for each value file and last for helm.values/valuesObject,
--api-versions, --include-crds unless skipCrds, --skip-schema-validation, --skip-tests. A chart
whose dependencies are missing gets `helm dependency build` and a second try, as in Argo CD.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from pathlib import Path

from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.render.sourcetype import envsubst
from wavegate.render.workspace import Workspace

_SOURCE_COMMENT = lazy_compile(r"^# Source: (?P<file>.+?)\s*$", re.MULTILINE)
_MISSING_DEPENDENCY = ("found in requirements.yaml, but missing in charts",
                       "found in Chart.yaml, but missing in charts/ directory")


class ValuesError(ValueError):
    """A value file Argo CD would not find (ComparisonError), with the source field that names it."""

    def __init__(self, message: str, field_path: tuple):
        super().__init__(message)
        self.field_path = field_path


@record
class ValueFile:
    """A value file helm reads: where it is in this repository, or why it cannot be read here."""

    written: str  # as written in valueFiles
    rel: str | None  # repository-relative file, when it is in this repository
    remote: str | None = None  # a URL or another repository's file: not readable offline
    field_path: tuple = ()  # where the Application names it


@record
class Template:
    """The helm invocation for one source."""

    chart_dir: str  # repository-relative
    release: str
    namespace: str
    kube_version: str
    api_versions: list[str]
    value_files: list[ValueFile] = field(default_factory=list)
    inline_values: str | None = None  # helm.values / valuesObject as YAML or JSON text
    inline_field: tuple = ()
    set: list[tuple[str, str]] = field(default_factory=list)
    set_string: list[tuple[str, str]] = field(default_factory=list)
    set_file: list[tuple[str, str]] = field(default_factory=list)
    include_crds: bool = True
    skip_schema_validation: bool = False
    skip_tests: bool = False


@record
class Rendered:
    documents: list[tuple[str, str]] = field(default_factory=list)  # (chart-relative source file, YAML text)
    command: str = ""
    error: str = ""
    timed_out: bool = False


def template_for(source_raw: dict, source_yaml_path: tuple, chart_dir: str, root: Path, app_name: str,
                 destination_namespace: str, kube_version: str, api_versions: list[str], env: dict[str, str],
                 refs: dict[str, str | None]) -> Template:
    """The `helm template` of a source (`refs`: ref name -> repository-relative root of that ref
    source when it is this repository, None when it is another)."""
    helm = helm if isinstance(helm := source_raw.get("helm"), dict) else {}
    release = release if isinstance(release := helm.get("releaseName"), str) and release else app_name
    namespace = (namespace if isinstance(namespace := helm.get("namespace"), str) and namespace
                 else destination_namespace)
    version = (version if isinstance(version := helm.get("kubeVersion"), str) and version
               else kube_version)
    apis = apis if isinstance(apis := helm.get("apiVersions"), list) and apis else api_versions
    template = Template(chart_dir=chart_dir, release=release, namespace=namespace or "",
                        kube_version=_kube_version(version), api_versions=[str(a) for a in apis],
                        include_crds=helm.get("skipCrds") is not True,
                        skip_schema_validation=helm.get("skipSchemaValidation") is True,
                        skip_tests=helm.get("skipTests") is True)
    helm_path = (*source_yaml_path, "helm")
    ignore_missing = helm.get("ignoreMissingValueFiles") is True
    for i, written in enumerate(helm.get("valueFiles") or []):
        if isinstance(written, str):
            template.value_files.extend(_value_files(written, (*helm_path, "valueFiles", i), chart_dir, root, env,
                                                     refs, ignore_missing))
    if isinstance(helm.get("valuesObject"), dict) and helm["valuesObject"]:
        template.inline_values = json.dumps(helm["valuesObject"])
        template.inline_field = (*helm_path, "valuesObject")
    elif isinstance(helm.get("values"), str) and helm["values"].strip():
        template.inline_values = helm["values"]
        template.inline_field = (*helm_path, "values")
    for parameter in helm.get("parameters") or []:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            value = envsubst(_string(parameter.get("value")), env)
            target = template.set_string if parameter.get("forceString") is True else template.set
            target.append((parameter["name"], value))
    for parameter in helm.get("fileParameters") or []:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str) and isinstance(parameter.get("path"), str):
            files = _value_files(parameter["path"], (*helm_path, "fileParameters"), chart_dir, root, env, refs, False)
            if files and files[0].rel:
                template.set_file.append((parameter["name"], files[0].rel))
    return template


def _value_files(written: str, field_path: tuple, chart_dir: str, root: Path, env: dict[str, str],
                 refs: dict[str, str | None], ignore_missing: bool) -> list[ValueFile]:
    if written.startswith("$"):
        name, _, rest = written.partition("/")
        if name[1:] not in refs:
            raise ValuesError(f"value file {written!r} names source ${name[1:]}, but no source has ref: {name[1:]}",
                              field_path)
        base = refs[name[1:]]
        if base is None:
            return [ValueFile(written, None, remote=written, field_path=field_path)]
        relative = envsubst(rest, env)
        start = base
    else:
        relative = envsubst(written, env)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", relative):
            return [ValueFile(written, None, remote=relative, field_path=field_path)]
        start = "" if relative.startswith("/") else chart_dir
    rel = posixpath.normpath(posixpath.join(start, relative.lstrip("/")))
    if rel == ".." or rel.startswith("../"):
        raise ValuesError(f"value file {written!r} is outside the repository", field_path)
    rel = "" if rel == "." else rel
    if any(c in rel for c in "*?["):
        import glob

        matches = sorted(glob.glob(str(root / rel), recursive=True))
        if not matches:
            if ignore_missing:
                return []
            raise ValuesError(f"values file glob {written!r} matched no files", field_path)
        return [ValueFile(written, os.path.relpath(m, root).replace(os.sep, "/"), field_path=field_path)
                for m in matches]
    if not (root / rel).is_file():
        if ignore_missing:
            return []
        raise ValuesError(f"value file {written!r} does not exist ({rel})", field_path)
    return [ValueFile(written, rel, field_path=field_path)]


def arguments(template: Template, mirror: Path, inline_file: Path | None) -> list[str]:
    args = ["template", ".", "--name-template", template.release]
    if template.namespace:
        args += ["--namespace", template.namespace]
    if template.kube_version:
        args += ["--kube-version", template.kube_version]
    for key, value in template.set:
        args += ["--set", f"{key}={_clean(value)}"]
    for key, value in template.set_string:
        args += ["--set-string", f"{key}={_clean(value)}"]
    for key, rel in template.set_file:
        args += ["--set-file", f"{key}={_clean(str(mirror / rel))}"]
    for value_file in template.value_files:
        if value_file.rel is not None:
            args += ["--values", str(mirror / value_file.rel)]
    if inline_file is not None:
        args += ["--values", str(inline_file)]
    for version in template.api_versions:
        args += ["--api-versions", version]
    if template.include_crds:
        args.append("--include-crds")
    if template.skip_schema_validation:
        args.append("--skip-schema-validation")
    if template.skip_tests:
        args.append("--skip-tests")
    return args


def render(binary: Path, workspace: Workspace, template: Template) -> Rendered:
    chart = workspace.private(template.chart_dir)
    inline_file = None
    if template.inline_values is not None:
        inline_file = workspace.path / f".wavegate-values-{abs(hash((template.chart_dir, template.release)))}.yaml"
        inline_file.write_text(template.inline_values, encoding="utf-8")
    env = _helm_env(workspace)
    try:
        with workspace.lock_for(template.chart_dir):
            argv = [str(binary), *arguments(template, workspace.path, inline_file)]
            done = workspace.run(argv, cwd=chart, env=env)
            if done.returncode != 0 and any(m in done.stderr for m in _MISSING_DEPENDENCY):
                built = workspace.run([str(binary), "dependency", "build"], cwd=chart, env=env)
                if built.returncode != 0:
                    return Rendered(command=built.command, error=built.stderr.strip() or built.stdout.strip(),
                                    timed_out=built.timed_out)
                done = workspace.run(argv, cwd=chart, env=env)
    finally:
        if inline_file is not None:
            inline_file.unlink(missing_ok=True)
    # As a person would run it from the repository root (the chart as a path, not the working folder).
    command = done.command.replace("helm template . ", f"helm template {template.chart_dir or '.'} ", 1)
    if inline_file is not None:
        command = command.replace(workspace.display(str(inline_file)), "<values from helm.values/valuesObject>")
    if done.returncode != 0:
        return Rendered(command=command, error=done.stderr.strip() or done.stdout.strip() or
                        f"exit code {done.returncode}", timed_out=done.timed_out)
    return Rendered(documents=split(done.stdout), command=command)


@record
class Pulled:
    chart_dir: str = ""  # relative to the workspace mirror
    error: str = ""


def pull(binary: Path, workspace: Workspace, chart: str, repo_url: str, version: str) -> Pulled:
    """`helm pull --untar` of a chart from a chart repository (repoURL http(s)) or an OCI
    registry (repoURL without a scheme, or oci://), into the workspace mirror."""
    name = re.sub(r"[^\w.-]", "_", f"{repo_url}_{chart}_{version}")
    target = workspace.path / ".wavegate-charts" / name
    if (target / chart.rsplit("/", 1)[-1]).is_dir():
        return Pulled(chart_dir=f".wavegate-charts/{name}/{chart.rsplit('/', 1)[-1]}")
    target.mkdir(parents=True, exist_ok=True)
    if re.match(r"^https?://", repo_url):
        argv = [str(binary), "pull", chart, "--repo", repo_url]
    else:
        argv = [str(binary), "pull", f"oci://{repo_url.removeprefix('oci://').rstrip('/')}/{chart}"]
    if version:
        argv += ["--version", version]
    done = workspace.run(argv + ["--untar", "--untardir", str(target)], cwd=target, env=_helm_env(workspace),
                         timeout=60)
    if done.returncode != 0:
        return Pulled(error=done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}")
    charts = [p for p in target.iterdir() if p.is_dir()]
    if not charts:
        return Pulled(error=f"helm pull of {chart} gave no chart")
    return Pulled(chart_dir=f".wavegate-charts/{name}/{charts[0].name}")


def _helm_env(workspace: Workspace) -> dict[str, str]:
    """helm's cache, configuration and data in the mirror: nothing of the person's helm setup is
    read or written."""
    helm_home = workspace.path / ".helm"
    return {"HELM_CACHE_HOME": str(helm_home / "cache"), "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data")}


def split(text: str) -> list[tuple[str, str]]:
    """helm's output as (source file as helm names it, document text) pairs."""
    documents = []
    for chunk in re.split(r"^---[ \t]*$", text, flags=re.MULTILINE):
        if not chunk.strip():
            continue
        match = _SOURCE_COMMENT.search(chunk)
        documents.append((match["file"] if match else "", chunk))
    return documents


def _clean(value: str) -> str:
    """Argo CD's cleanSetParameters: commas are escaped unless already escaped or inside {}."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _kube_version(version: str) -> str:
    """Argo CD's parseKubeVersion (apimachinery's ParseGeneric, then String()): the numeric
    components only, without a leading v: 'v1.30.2+k3s' -> '1.30.2', '1.30' -> '1.30'."""
    match = re.match(r"^\s*v?(\d+(?:\.\d+)+)", version or "")
    return match.group(1) if match else (version or "")


def _string(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
