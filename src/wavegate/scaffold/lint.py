"""Lint a Backstage template against its skeletons: values used but never passed, and the reverse.

Backstage renders `${{ values.x }}` that no fetch:template step passes as an empty string (or
fails), so a repository is generated with holes (the origin's `values.gituser`, used by its
Applications' repoURL, is such a hole). A parameter the template asks for but never uses is a
question the user answers for nothing.
"""

from __future__ import annotations

from pathlib import Path

from wavegate.load import read_yaml
from wavegate.record import record
from wavegate.regex import lazy_compile
from wavegate.scaffold.render import RenderError, placeholders, referenced_paths

_PARAMETER = lazy_compile(r"\bparameters(?:\.([A-Za-z_][\w-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_VALUE = lazy_compile(r"^values(?:\.([A-Za-z_][\w-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


@record(frozen=True)
class Problem:
    kind: str  # value-not-passed | value-not-used | parameter-not-used | skeleton-missing | template-invalid
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def lint_template(template: Path) -> list[Problem]:
    """Every problem of the template at `template` and the skeletons its fetch:template steps name."""
    template = Path(template)
    documents, problems = read_yaml(template, rel=str(template))
    if problems:
        return [Problem("template-invalid", p.path, p.line, p.message) for p in problems]
    if len(documents) != 1:
        return [Problem("template-invalid", str(template), 1, "a template file holds exactly one Template")]
    doc = documents[0]
    spec = spec if isinstance(spec := doc.data.get("spec"), dict) else {}
    found: list[Problem] = []
    steps = steps if isinstance(steps := spec.get("steps"), list) else []
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("action") != "fetch:template":
            continue
        inputs = inputs if isinstance(inputs := step.get("input"), dict) else {}
        url = inputs.get("url")
        passed = passed if isinstance(passed := inputs.get("values"), dict) else {}
        step_line = doc.position(("spec", "steps", index))[0]
        if not isinstance(url, str) or "://" in url:
            continue  # remote skeletons cannot be checked locally
        skeleton = (template.parent / url).resolve()
        if not skeleton.is_dir():
            found.append(Problem("skeleton-missing", str(template), step_line,
                                 f"step {step.get('id', index)!r} fetches {url!r}, which is not a directory beside the template"))
            continue
        used: dict[str, tuple[str, int]] = {}
        for name, rel, line in _values_used(skeleton):
            used.setdefault(name, (rel, line))
        for name, (rel, line) in sorted(used.items()):
            if name not in passed:
                found.append(Problem("value-not-passed", f"{skeleton.name}/{rel}", line,
                                     f"values.{name} is used by the skeleton but step {step.get('id', index)!r} "
                                     f"does not pass it (it passes: {', '.join(sorted(passed)) or 'nothing'})"))
        for name in sorted(passed):
            if name not in used:
                line = doc.position(("spec", "steps", index, "input", "values", name))[0]
                found.append(Problem("value-not-used", str(template), line,
                                     f"step {step.get('id', index)!r} passes values.{name}, which {url} never uses"))
    text = template.read_text(encoding="utf-8")
    referenced = {a or b for expression in placeholders(text) for a, b in _PARAMETER.findall(expression)}
    parameters = spec.get("parameters")
    pages = parameters if isinstance(parameters, list) else [parameters] if isinstance(parameters, dict) else []
    for page_index, page in enumerate(pages):
        properties = props if isinstance(page, dict) and isinstance(props := page.get("properties"), dict) else {}
        for name in properties:
            if name not in referenced:
                prefix = ("spec", "parameters") + ((page_index,) if isinstance(spec.get("parameters"), list) else ())
                line = doc.position(prefix + ("properties", name))[0]
                found.append(Problem("parameter-not-used", str(template), line,
                                     f"parameter {name!r} is asked for but no step or output uses it"))
    return found


def _values_used(skeleton: Path):
    """(value name, file, line) for every `values.x` a skeleton's file names and contents read."""
    for path in sorted(p for p in skeleton.rglob("*") if p.is_file()):
        rel = path.relative_to(skeleton).as_posix()
        for name in _names(referenced_paths(rel)):
            yield name, rel, 1
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                paths = referenced_paths(line)
            except RenderError:
                continue
            for name in _names(paths):
                yield name, rel, number


def _names(paths: list[str]):
    for path in paths:
        match = _VALUE.match(path)
        if match:
            yield match.group(1) or match.group(2)
