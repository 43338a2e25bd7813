#!/usr/bin/env python3
"""Random edits of real repositories: after each edit, `wavegate validate` with the cache and
without it must give the same findings. Any difference is a bug: of the cache, or a finding that
changes from one run to the next (a tool's nondeterministic text, a race between renders).

Each repository is copied to a work directory (the original is never touched) and edited step by
step: a digit or a value changed, a key renamed, a comment or blank line added, a file touched,
deleted, moved or added, a document duplicated, YAML broken, an item of a kustomization or values
list dropped, an Argo CD field changed (path, namespace, targetRevision, project, sync wave), or a
file put back as it was. The cache is kept across the steps, as between a developer's runs. On a
difference, the step's history and both outputs are written to the work directory and the next
repository is taken. Usage:
    python benchmarks/random_edits.py [--seed N] [--steps N] [--work DIR] REPO...

Clone each repository with its real remote (Applications name it: a local path as the remote
makes every source look foreign). Set WAVEGATE_TOOLS_DIR when the tools are not on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

EDITABLE = (".yaml", ".yml", ".json")
NEW_FILES = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: random-edit\ndata:\n  a: 1\n",
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: random-edit\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: item-1}\n"
    "- apiVersion: v1\n  kind: Secret\n  metadata: {name: item-2}\n  data: {a: 1}\n",
)
ARGO_FIELDS: tuple[tuple[str, Callable[[re.Match, random.Random], str]], ...] = (
    (r"(path: )(\S+)", lambda m, r: m.group(1) + r.choice([m.group(2) + "x", ".", m.group(2).rsplit("/", 1)[0]])),
    (r"(namespace: )(\S+)", lambda m, r: m.group(1) + r.choice(["default", "other", m.group(2) + "-2"])),
    (r"(targetRevision: )(\S+)", lambda m, r: m.group(1) + r.choice(["HEAD", "main", "v9.9.9"])),
    (r"(project: )(\S+)", lambda m, r: m.group(1) + r.choice(["default", "other"])),
    (r"(sync-wave: )(\S+)", lambda m, r: m.group(1) + r.choice(['"-1"', '"5"', "'x'"])),
)


def wavegate(repo: Path, *options: str) -> dict | str:
    """The findings of one run (without its time), or what went wrong."""
    done = subprocess.run([sys.executable, "-m", "wavegate", "validate", str(repo), "--format", "json", *options],
                          capture_output=True, text=True)
    try:
        found = json.loads(done.stdout)
    except ValueError:
        return f"exit {done.returncode}: {done.stderr[-2000:]}"
    found.get("summary", {}).pop("seconds", None)
    return found


def files_of(repo: Path) -> list[Path]:
    found = []
    for top, folders, names in os.walk(repo):
        folders[:] = sorted(f for f in folders if f not in (".git", ".wavegate_cache"))
        found += [Path(top) / name for name in sorted(names) if name.endswith(EDITABLE)]
    return found


class Editor:
    def __init__(self, repo: Path, rnd: random.Random):
        self.repo, self.rnd = repo, rnd
        self.originals = {p.relative_to(repo).as_posix(): p.read_bytes() for p in files_of(repo)}

    def edit(self) -> str:
        files = files_of(self.repo)
        if not files:
            return "nothing to edit"
        kinds = ("digit", "digit", "value", "key", "comment", "blank", "touch", "delete", "move", "duplicate",
                 "break", "new", "list", "argo", "argo", "revert", "revert")
        kind = self.rnd.choice(kinds)
        path = self.rnd.choice(files)
        return getattr(self, f"_{kind}")(path, files)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.repo).as_posix()

    @staticmethod
    def _text(path: Path) -> str:
        return path.read_text(encoding="utf-8", errors="surrogateescape")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogateescape")

    def _replace_one(self, path: Path, pattern: str, new: Callable[[re.Match], str], what: str) -> str:
        text = self._text(path)
        found = list(re.finditer(pattern, text, re.M))
        if not found:
            return self._blank(path, [])
        match = self.rnd.choice(found)
        self._write(path, text[:match.start()] + new(match) + text[match.end():])
        return f"{what} {self._rel(path)}:{text.count(chr(10), 0, match.start()) + 1}"

    def _digit(self, path: Path, _files) -> str:
        return self._replace_one(path, r"\d", lambda m: str((int(m.group()) + self.rnd.randint(1, 9)) % 10), "digit")

    def _value(self, path: Path, _files) -> str:
        values = ["Yes", "on", "'x'", "1.0", "~", "other-value", "UPPER_case", "0x1F", "2024-01-01"]
        return self._replace_one(path, r"^(\s*[\w.-]+: )([A-Za-z][\w.-]*)\s*$",
                                 lambda m: m.group(1) + self.rnd.choice(values), "value")

    def _key(self, path: Path, _files) -> str:
        return self._replace_one(path, r"^(\s*)([\w.-]+):", lambda m: f"{m.group(1)}{m.group(2)}x:", "key")

    def _comment(self, path: Path, _files) -> str:
        lines = self._text(path).splitlines(True)
        at = self.rnd.randrange(len(lines) + 1)
        self._write(path, "".join([*lines[:at], "# a comment\n", *lines[at:]]))
        return f"comment {self._rel(path)}:{at + 1}"

    def _blank(self, path: Path, _files) -> str:
        self._write(path, "\n" + self._text(path))
        return f"blank line {self._rel(path)}"

    def _touch(self, path: Path, _files) -> str:
        moment = time.time() + self.rnd.randint(1, 100)
        os.utime(path, (moment, moment))
        return f"touch {self._rel(path)}"

    def _delete(self, path: Path, _files) -> str:
        path.unlink()
        return f"delete {self._rel(path)}"

    def _move(self, path: Path, files) -> str:
        target = self.rnd.choice(sorted({f.parent for f in files})) / f"moved-{path.name}"
        shutil.move(path, target)
        return f"move {self._rel(path)} -> {self._rel(target)}"

    def _duplicate(self, path: Path, _files) -> str:
        text = self._text(path)
        self._write(path, text + "\n---\n" + text.split("\n---")[0].replace("name: ", "name: copy-", 1))
        return f"duplicate a document {self._rel(path)}"

    def _break(self, path: Path, _files) -> str:
        self._write(path, self._text(path) + "\nbroken: [unclosed\n")
        return f"break {self._rel(path)}"

    def _new(self, path: Path, _files) -> str:
        target = path.parent / f"new-{self.rnd.randint(0, 999)}.yaml"
        self._write(target, self.rnd.choice(NEW_FILES))
        return f"new {self._rel(target)}"

    def _list(self, path: Path, files) -> str:
        inputs = [f for f in files if f.name in ("kustomization.yaml", "kustomization.yml", "values.yaml")]
        if not inputs:
            return self._digit(path, files)
        path = self.rnd.choice(inputs)
        lines = self._text(path).splitlines(True)
        items = [i for i, line in enumerate(lines) if line.lstrip().startswith("- ")]
        if not items:
            return self._digit(path, files)
        dropped = self.rnd.choice(items)
        self._write(path, "".join(lines[:dropped] + lines[dropped + 1:]))
        return f"drop list item {self._rel(path)}:{dropped + 1}"

    def _argo(self, path: Path, files) -> str:
        kinds = re.compile(r"^kind: (Application|ApplicationSet|AppProject)\s*$", re.M)
        argo = [f for f in files if kinds.search(self._text(f))]
        if not argo:
            return self._digit(path, files)
        pattern, new = self.rnd.choice(ARGO_FIELDS)
        return self._replace_one(self.rnd.choice(argo), pattern, lambda m: new(m, self.rnd), "argo field")

    def _revert(self, path: Path, files) -> str:
        changed = sorted(rel for rel, data in self.originals.items()
                         if not (self.repo / rel).is_file() or (self.repo / rel).read_bytes() != data)
        if not changed:
            return self._digit(path, files)
        rel = self.rnd.choice(changed)
        (self.repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.repo / rel).write_bytes(self.originals[rel])
        return f"revert {rel}"


def differences(cached: dict | str, fresh: dict | str) -> list[str]:
    if isinstance(cached, str) or isinstance(fresh, str):
        return [f"with the cache: {cached}"[:2000], f"without: {fresh}"[:2000]] if cached != fresh else []
    with_cache = {json.dumps(f, sort_keys=True) for f in cached["findings"]}
    without = {json.dumps(f, sort_keys=True) for f in fresh["findings"]}
    only_cached, only_fresh = sorted(with_cache - without), sorted(without - with_cache)
    found = [f"only with the cache: {f}" for f in only_cached] + [f"only without: {f}" for f in only_fresh]
    if not found and cached != fresh:
        found.append(f"summaries differ: {cached.get('summary')} against {fresh.get('summary')}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", type=Path, metavar="REPO")
    parser.add_argument("--seed", type=int, default=1, help="the edits' random seed (default 1)")
    parser.add_argument("--steps", type=int, default=25, help="edits per repository (default 25)")
    parser.add_argument("--work", type=Path, help="where the copies, caches and reports go (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="wavegate-random-edits-"))
    failed = 0
    for source in args.repos:
        name = source.resolve().name
        repo, cache = work / name, work / f"{name}.cache"
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(source, repo, symlinks=True, ignore=shutil.ignore_patterns(".wavegate_cache"))
        editor, history = Editor(repo, random.Random(f"{args.seed}:{name}")), []
        fresh = wavegate(repo, "--cache-dir", str(cache))  # (the cache as a first run leaves it)
        for step in range(1, args.steps + 1):
            history.append(editor.edit())
            cached, fresh = wavegate(repo, "--cache-dir", str(cache)), wavegate(repo, "--no-cache")
            found = differences(cached, fresh)
            if found:
                failed += 1
                report = work / f"{name}.difference.json"
                report.write_text(json.dumps({"edits": history, "differences": found}, indent=1))
                print(f"{name}: DIFFERENT after step {step} ({history[-1]}); see {report}", flush=True)
                break
        else:
            count = len(fresh["findings"]) if isinstance(fresh, dict) else fresh
            print(f"{name}: the same after each of {args.steps} edits ({count} findings at the end)", flush=True)
    print(f"{failed} of {len(args.repos)} repositories differed; work directory {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
