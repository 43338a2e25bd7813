#!/usr/bin/env python3
"""Two source trees of wavegate compared by the instructions one `validate` executes (valgrind's
callgrind), for changes too small for the wall clock of a shared machine to show.

    python benchmarks/instructions.py BASE_SRC [NEW_SRC] [--n 1000] [--mode cold|one] [--workdir DIR]

BASE_SRC and NEW_SRC are `src` folders (NEW_SRC defaults to this checkout's); a base is made with
`git worktree add /tmp/base REV` (then build its native extensions: `python setup.py build_ext
--inplace` there, or copy this checkout's `src/wavegate/*.so` into it). Each side runs once, in one
process (WAVEGATE_LOAD_WORKERS=1 WAVEGATE_CHECK_WORKERS=1: callgrind counts a process, not its
children), on the corpus of benchmarks/corpus.py:

    cold  `--no-cache`
    one   one Deployment's replicas changed since the run before, with that side's own cache (the
          run before is made first, outside the count)

Why instructions: on a 2-CPU virtual machine shared with other work, medians of whole-process
wall times move by 10-15 % from one minute to the next, more than most single changes; the count
of instructions moves by less than 0.1 % between identical runs. Compare the two sides of one
invocation: with --mode one the count also depends on what the work folder's caches hold from
earlier invocations (the stores keep earlier runs' entries for a while), and both sides share that
history, but the absolute figures of two invocations may differ by several per cent. It counts work, not waiting: a
change that trades CPU for parallelism still needs compare_kubeconform.py. Python-level
profilers are no substitute: cProfile's cost per call inflates many small functions several-fold.
Under valgrind a run is about 50 times slower (1,000 manifests: a minute).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402


def count(src: Path, repo: Path, extra: list[str]) -> int:
    env = dict(os.environ, PYTHONPATH=str(src), WAVEGATE_LOAD_WORKERS="1", WAVEGATE_CHECK_WORKERS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run it: compiled modules read, not compiled again
    command = [sys.executable, "-m", "wavegate", "validate", str(repo), "--schemas", str(corpus.rgd_path()),
               "--format", "json", *extra]
    subprocess.run(command, env=env, capture_output=True)  # outside the count: writes .pyc files, warms the cache
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        if "--no-cache" not in extra:
            _change_one(repo)
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                              env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            sys.exit(f"wavegate failed under valgrind (exit {done.returncode}):\n{done.stderr[-2000:]}")
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            sys.exit(f"valgrind printed no count:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def _change_one(repo: Path) -> None:
    first = sorted((repo / "apps").iterdir())[0] / "manifests" / "deployment-0.yaml"
    text = first.read_text()
    replicas = re.search(r"replicas: (\d+)", text)
    assert replicas is not None, first
    first.write_text(text.replace(replicas.group(0), f"replicas: {int(replicas.group(1)) % 9 + 1}", 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the src folder of the base tree")
    parser.add_argument("new", type=Path, nargs="?", default=ROOT / "src", help="the src folder of the new tree")
    parser.add_argument("--n", type=int, default=1000, help="manifests in the corpus (default 1000)")
    parser.add_argument("--mode", choices=("cold", "one"), default="cold")
    parser.add_argument("--workdir", type=Path, help="where the corpus and caches go (default: a temporary folder)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    for src in (args.base, args.new):
        if not (src / "wavegate" / "__init__.py").is_file():
            sys.exit(f"{src}: not a src folder of wavegate (no wavegate/__init__.py)")
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        counts = {}
        for name, src in (("base", args.base), ("new", args.new)):
            repo = work / f"corpus-{args.n}-{name}"
            if not repo.exists():
                corpus.generate(repo, args.n)
            extra = ["--no-cache"] if args.mode == "cold" else ["--cache-dir", str(work / f"cache-{name}")]
            counts[name] = count(src.resolve(), repo, extra)
            print(f"{name:4s} {counts[name]:>15,} instructions  ({src})", flush=True)
        change = (counts["new"] - counts["base"]) / counts["base"]
        print(f"new / base: {counts['new'] / counts['base']:.4f} ({change:+.2%}), {args.mode}, N = {args.n}")


if __name__ == "__main__":
    main()
