#!/usr/bin/env python3
"""Wall time of the whole `wavegate validate` process on a generated repository.

Budget (DESIGN.md): under 0.5 s, interpreter start-up included. Usage:
    python benchmarks/validate_repo.py [REPO] [--runs N]
Prints min / median / max over N runs and whether the median is within budget.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_SECONDS = 0.5
ROOT = Path(__file__).resolve().parents[1]


def wavegate_command() -> list[str]:
    installed = shutil.which("wavegate")
    return [installed] if installed else [sys.executable, "-m", "wavegate"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", nargs="?", type=Path, default=ROOT / "examples" / "clean")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    command = wavegate_command() + ["validate", str(args.repo), "--format", "json"]
    subprocess.run(command, capture_output=True, check=False)  # warm the page cache and .pyc files
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            print(done.stderr.decode(), file=sys.stderr)
            return 2
    median = statistics.median(times)
    print(f"wavegate validate {args.repo}: min {min(times):.3f} s, median {median:.3f} s, "
          f"max {max(times):.3f} s over {args.runs} runs; budget {BUDGET_SECONDS} s: "
          f"{'within' if median <= BUDGET_SECONDS else 'OVER'}")
    return 0 if median <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
