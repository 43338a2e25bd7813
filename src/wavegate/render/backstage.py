"""Backstage Templates kept in a repository: their `fetch:template` skeletons are not manifests.

A skeleton's files hold `${{ values.x }}` placeholders that only Backstage fills. wavegate renders
each skeleton as Backstage would (wavegate.scaffold.render, the renderer `wavegate init` uses)
with the template's parameter defaults (else the first example, else the first enum value) and
validates the result as the repository it becomes; findings point at the skeleton's lines. A value
that cannot be known before the template runs (a parameter with no default, another step's output,
the user) is reported once, and the lines that use it are not judged: a finding there would be
about the missing value, not about the skeleton.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from wavegate.load import Manifest, Repo
from wavegate.record import field, record
from wavegate.regex import lazy_compile
from wavegate.scaffold.render import PLACEHOLDER, RenderError, is_defined, referenced_paths, render_text

TEMPLATE_GROUP = "scaffolder.backstage.io"
_MISSING_ENTRY = lazy_compile(r"^(?P<file>.*):(?P<line>\d+): (?P<path>.+)$")


@record
class Skeleton:
    """One `fetch:template` step of a Template, ready to render."""

    template: Manifest
    step: int  # index in spec.steps
    directory: str  # repository-relative skeleton folder
    values: dict  # input.values, evaluated with the parameters
    unknown: dict[str, str] = field(default_factory=dict)  # context path -> why it is not known
    problems: list[str] = field(default_factory=list)  # what cannot be rendered at all

    @property
    def name(self) -> str:
        return f"{self.template.name or 'template'} ({self.directory})"


def skeletons(repo: Repo) -> list[Skeleton]:
    found = []
    for manifest in repo.by_kind("Template", TEMPLATE_GROUP):
        parameters, unknown = _parameters(manifest)
        steps = manifest.get("spec", "steps", default=[]) or []
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict) or step.get("action") != "fetch:template":
                continue
            url = (step.get("input") or {}).get("url") if isinstance(step.get("input"), dict) else None
            if not isinstance(url, str) or "://" in url:
                continue  # a skeleton elsewhere is not this repository's to check
            directory = posixpath.normpath(posixpath.join(posixpath.dirname(manifest.path), url))
            if directory.startswith("..") or not (repo.root / directory).is_dir():
                continue
            skeleton = Skeleton(manifest, i, directory, {}, dict(unknown))
            skeleton.values = _values(step, parameters, skeleton)
            found.append(skeleton)
    return found


def _parameters(template: Manifest) -> tuple[dict, dict[str, str]]:
    pages = template.get("spec", "parameters", default=[])
    pages = pages if isinstance(pages, list) else [pages]
    values: dict = {}
    unknown: dict[str, str] = {}
    for page in pages:
        properties = page.get("properties") if isinstance(page, dict) else None
        for name, spec in (properties or {}).items():
            if not isinstance(spec, dict):
                continue
            for candidate in (spec.get("default"), _first(spec.get("examples")), _first(spec.get("enum"))):
                if candidate is not None:
                    values[name] = candidate
                    break
            else:
                unknown[f"parameters.{name}"] = f"parameter {name} of the template, which has no default, examples or enum"
    return values, unknown


def _first(value):
    return value[0] if isinstance(value, list) and value else None


def _values(step: dict, parameters: dict, skeleton: Skeleton) -> dict:
    """input.values evaluated as Backstage would, with what is known before the template runs; a
    value made from something unknown is written as PLACEHOLDER_VALUE (and remembered as unknown)."""
    raw = (step.get("input") or {}).get("values") or {}
    context = {"parameters": parameters}
    values: dict = {}
    for key, value in (raw.items() if isinstance(raw, dict) else []):
        if not isinstance(value, str):
            values[key] = value
            continue
        try:
            unknown = [path for path in referenced_paths(value) if not _defined(path, context)]
        except RenderError as error:  # (an expression wavegate cannot read: reported, never a crash)
            skeleton.unknown[f"values.{key}"] = str(error)
            values[key] = PLACEHOLDER_VALUE
            continue
        for path in unknown[:1]:  # (the first value it is made from that is not known)
            why = skeleton.unknown.get(path) or _why(path)
            skeleton.unknown[f"values.{key}"] = f"made from {path}, {why}" if path != f"values.{key}" else why
        try:
            values[key] = render_known(value, context)
        except RenderError as error:
            skeleton.unknown[f"values.{key}"] = str(error)
            values[key] = PLACEHOLDER_VALUE
    return values


# What an unknown value is rendered as: valid as a name, a label and any string, so that it makes
# no finding of its own (findings on the lines that use it are dropped anyway).
PLACEHOLDER_VALUE = "placeholder"


def render_known(text: str, context: dict, where: str = "<text>") -> str:
    """`text` rendered, with every placeholder that reads an unknown value as PLACEHOLDER_VALUE."""
    def known(match: re.Match) -> str:
        try:
            paths = referenced_paths(match.group(0))
        except RenderError:
            return match.group(0)  # (render_text reports it, with its file and line)
        return match.group(0) if all(_defined(p, context) for p in paths) else PLACEHOLDER_VALUE

    return render_text(PLACEHOLDER.sub(known, text), context, where=where)


def _defined(path: str, context: dict) -> bool:
    try:
        return is_defined(path, context)
    except RenderError:
        return False


def _why(path: str) -> str:
    if path.startswith("steps"):
        return "the output of another step of the template"
    if path.startswith("user"):
        return "the user who runs the template"
    if path.startswith("parameters."):
        return f"parameter {path.split('.', 1)[1]}, which the template does not declare"
    return "not known before the template runs"


@record
class Rendered:
    """A skeleton rendered into a folder: which lines used a value that was not known."""

    target: Path
    unknown_lines: dict[tuple[str, int], str] = field(default_factory=dict)  # (skeleton file, line) -> path
    first_use: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (skeleton file, line)
    errors: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, what could not be rendered)
    names: dict[str, str] = field(default_factory=dict)  # rendered file (relative) -> skeleton file (repository)


def render(root: Path, skeleton: Skeleton, target: Path) -> Rendered:
    """Render the skeleton's files into `target` (names may hold placeholders too)."""
    result = Rendered(target)
    source = root / skeleton.directory
    result.names = {}
    context = {"values": skeleton.values}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source).as_posix()
        where = posixpath.join(skeleton.directory, rel)
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files are not manifests
        for number, line in enumerate(text.splitlines(), 1):
            try:
                used_paths = referenced_paths(line)
            except RenderError:
                continue  # (rendering the file below reports it, at its line)
            for used in used_paths:
                if _is_unknown(used, skeleton, context):
                    result.unknown_lines[(where, number)] = used
                    result.first_use.setdefault(used, (where, number))
        try:
            name = render_known(rel, context, where=where)
            rendered = render_known(text, context, where=where)
        except RenderError as error:
            match = re.match(r"^.*?:(\d+): (.*)$", str(error))
            result.errors.append((where, int(match[1]) if match else 1, match[2] if match else str(error)))
            continue
        result.names[name] = where
        out = target / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(rendered, encoding="utf-8")
    return result


def _is_unknown(used: str, skeleton: Skeleton, context: dict) -> bool:
    return used in skeleton.unknown or not _defined(used, context)
