"""Every rule's bad and good example, as small repositories that really are bad and good.

They live in the package, one folder per rule, `wavegate/data/rule-examples/<rule-id>/`:

    bad/          a repository in which the rule fires
    good/         the same repository, fixed: the rule does not fire
    expect.yaml   where the bad example's finding points (`at: FILE:LINE`), and how to run them

`wavegate explain`, `wavegate rules --format json|markdown` (so docs/rules.md) print them, and
tests/integration/test_rule_examples.py runs each one through the command that raises its rule.
CONTRIBUTING.md describes expect.yaml.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from wavegate import data
from wavegate.record import record

ROOT = data.FOLDER / "rule-examples"
# The examples are checked as this repository (its Applications name it as their repoURL).
REPO_URL = "https://gitlab.example.com/team/web.git"
RUNS = ("validate", "dry-run", "merge-request")
_KEYS = {"at", "run", "engine", "today", "repoURL", "links", "fifos", "double", "note"}


class ExampleError(ValueError):
    """An example folder that does not follow the convention (a bug in wavegate's data)."""


@record(frozen=True)
class File:
    """One path of an example: a file's text, or a symbolic link, or a named pipe."""

    path: str
    text: str = ""
    link: str | None = None
    fifo: bool = False

    def as_json(self) -> dict:
        if self.link is not None:
            return {"path": self.path, "symlink": self.link}
        if self.fifo:
            return {"path": self.path, "fifo": True}
        return {"path": self.path, "text": self.text}

    def shown(self) -> str:
        """How a person reads it: the text, or what the path is."""
        if self.link is not None:
            return f"(a symbolic link to {self.link})"
        if self.fifo:
            return "(a named pipe, made with mkfifo)"
        return self.text.rstrip("\n")


@record(frozen=True)
class Example:
    folder: Path
    files: tuple[File, ...]

    def write(self, root: Path) -> Path:
        """The example as a repository at `root` (its files, links and pipes)."""
        root.mkdir(parents=True, exist_ok=True)
        if self.folder.is_dir():
            shutil.copytree(self.folder, root, dirs_exist_ok=True)
        for file in self.files:
            target = root / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.link is not None:
                os.symlink(file.link, target)
            elif file.fifo:
                os.mkfifo(target)
        return root


@record(frozen=True)
class RuleExamples:
    rule: str
    bad: Example
    good: Example
    at: tuple[tuple[str, int], ...]  # where the bad example's findings of the rule point
    run: str = "validate"  # the command that raises the rule: validate, dry-run or merge-request
    engine: str = "builtin"  # the command's --engine (builtin or kubeconform)
    today: str | None = None  # the day it is checked on, YYYY-MM-DD (exceptions expire relative to it)
    repo_url: str | None = REPO_URL  # the repository's own URL as the command learns it (None: unknown)
    double: str | None = None  # the test double the example needs (tests/integration/test_rule_examples.py)
    note: str = ""  # what the files alone cannot show (a missing helper program, a fault in wavegate)

    def changed(self) -> tuple[File, ...]:
        """The good example's files that differ from the bad one's (what the fix changes)."""
        return tuple(f for f in self.good.files if f not in self.bad.files)

    def removed(self) -> list[str]:
        """The bad example's paths the good one no longer has."""
        kept = {f.path for f in self.good.files}
        return [f.path for f in self.bad.files if f.path not in kept]

    def where(self) -> str:
        return ", ".join(f"{path}:{line}" for path, line in self.at)

    def as_json(self) -> dict:
        found: dict[str, object] = {"bad": {"findingAt": [{"path": p, "line": n} for p, n in self.at],
                         "files": [f.as_json() for f in self.bad.files]},
                 "good": {"files": [f.as_json() for f in self.good.files]}}
        if self.note:
            found["note"] = self.note
        return found


def rule_ids() -> list[str]:
    """The rules that have an example folder."""
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir()) if ROOT.is_dir() else []


@functools.cache
def examples(rule_id: str) -> RuleExamples | None:
    """The examples of a rule, or None when it has none (a test fails then)."""
    folder = ROOT / rule_id
    if not (folder / "expect.yaml").is_file():
        return None
    from wavegate.load import read_yaml

    documents, problems = read_yaml(folder / "expect.yaml", rel=f"{rule_id}/expect.yaml")
    if problems or len(documents) != 1:
        raise ExampleError(f"{rule_id}/expect.yaml: not one YAML mapping")
    expect = documents[0].data
    unknown = set(expect) - _KEYS
    if unknown:
        raise ExampleError(f"{rule_id}/expect.yaml: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    run = expect.get("run", "validate")
    if run not in RUNS:
        raise ExampleError(f"{rule_id}/expect.yaml: run {run!r} is not one of {', '.join(RUNS)}")
    links, fifos = expect.get("links") or {}, expect.get("fifos") or []
    return RuleExamples(
        rule=rule_id,
        bad=_example(folder / "bad", "bad", links, fifos),
        good=_example(folder / "good", "good", links, fifos),
        at=tuple(_location(rule_id, text) for text in _as_list(expect.get("at"))),
        run=run,
        engine=expect.get("engine", "builtin"),
        today=str(expect["today"]) if expect.get("today") else None,
        repo_url=expect.get("repoURL", REPO_URL),
        double=expect.get("double"),
        note=" ".join(str(expect.get("note", "")).split()),
    )


def _example(folder: Path, variant: str, links: dict, fifos: list) -> Example:
    files = [File(p.relative_to(folder).as_posix(), p.read_text(encoding="utf-8", errors="backslashreplace"))
             for p in sorted(folder.rglob("*")) if p.is_file()] if folder.is_dir() else []
    prefix = variant + "/"
    files += [File(path[len(prefix):], link=str(target)) for path, target in links.items() if path.startswith(prefix)]
    files += [File(path[len(prefix):], fifo=True) for path in fifos if path.startswith(prefix)]
    return Example(folder, tuple(sorted(files, key=lambda f: f.path)))


def _location(rule_id: str, text) -> tuple[str, int]:
    path, _, line = str(text).rpartition(":")
    if not path or not line.isdigit():
        raise ExampleError(f"{rule_id}/expect.yaml: at {text!r} is not FILE:LINE")
    return path, int(line)


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_text(found: RuleExamples) -> str:
    """The examples for a terminal (`wavegate explain`): each file under its path, with line
    numbers, the lines the bad example's finding points at marked with `>`."""
    lines = [f"Bad: the finding points at {found.where()}" if found.at else "Bad (it does not fire here: see the note):", ""]
    if found.today:
        lines = [f"Checked as on {found.today}.", ""] + lines
    lines += _text_files(found.bad.files, set(found.at))
    lines += [_good_heading(found), ""] + _text_files(found.changed(), set())
    if found.note:
        lines += [f"Note: {found.note}", ""]
    return "\n".join(lines)


def _good_heading(found: RuleExamples) -> str:
    """What the good example changes; its other files are the bad example's."""
    removed = found.removed()
    gone = f"; {', '.join(removed)} removed" if removed else ""
    same = len(found.good.files) - len(found.changed())
    return f"Good (the other {same} file{'s' if same != 1 else ''} as above{gone}):" if same or gone else "Good:"


def _text_files(files: tuple[File, ...], marked: set[tuple[str, int]]) -> list[str]:
    out = []
    for file in files:
        out.append(f"  {file.path}")
        if file.link is not None or file.fifo:
            out += [f"      {file.shown()}", ""]
            continue
        body = file.shown().split("\n")
        width = len(str(len(body)))
        for number, text in enumerate(body, 1):
            mark = ">" if (file.path, number) in marked else " "
            out.append(f"   {mark} {number:>{width}}  {text}".rstrip())
        out.append("")
    return out


def as_markdown(found: RuleExamples) -> list[str]:
    """The examples for docs/rules.md: each file under its path, in a fenced block."""
    where = ", ".join(f"`{path}:{line}`" for path, line in found.at)
    lines = [f"Bad (the finding points at {where}):" if found.at else "Bad (it does not fire here: see the note):", ""]
    if found.today:
        lines = [f"Checked as on {found.today}.", ""] + lines
    lines += _markdown_files(found.bad.files)
    lines += [_good_heading(found), ""] + _markdown_files(found.changed())
    if found.note:
        lines += [f"*{found.note}*", ""]
    return lines[:-1]


def _markdown_files(files: tuple[File, ...]) -> list[str]:
    out = []
    for file in files:
        if file.link is not None or file.fifo:
            out += [f"`{file.path}`: {file.shown()[1:-1]}", ""]
            continue
        language = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(Path(file.path).suffix, "text")
        out += [f"`{file.path}`", "", f"```{language}", file.shown(), "```", ""]
    return out
