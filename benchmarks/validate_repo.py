#!/usr/bin/env python3
"""Wall time of the whole `wavegate validate` process on a generated repository.

Budget (issue 16): median under 0.3 s, interpreter start-up included, as a person runs it again
(the cache on, as by default); the median without the cache (--no-cache: a first run) is printed
beside it. Usage:
    python benchmarks/validate_repo.py [REPO] [--runs N]
Prints min / median / max over N runs of each, alternating, with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 0.3
ROOT = Path(__file__).resolve().parents[1]


def wavegate_command() -> list[str]:
    installed = shutil.which("wavegate")
    return [installed] if installed else [sys.executable, "-m", "wavegate"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", nargs="?", type=Path, default=ROOT / "examples" / "clean")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' runs read and write .pyc files
    with tempfile.TemporaryDirectory(prefix="wavegate-cache-") as cache:
        base = wavegate_command() + ["validate", str(args.repo), "--format", "json"]
        sides = {"cached": base + ["--cache-dir", cache], "--no-cache": base + ["--no-cache"]}
        times: dict[str, list[float]] = {name: [] for name in sides}
        for command in sides.values():  # warm the page cache, the .pyc files and the cache
            subprocess.run(command, capture_output=True, check=False, env=env)
        loads = []
        for _ in range(args.runs):
            for name, command in sides.items():
                started = time.perf_counter()
                done = subprocess.run(command, capture_output=True, check=False, env=env)
                times[name].append(time.perf_counter() - started)
                if done.returncode not in (0, 1):
                    print(done.stderr.decode(), file=sys.stderr)
                    return 2
            loads.append(os.getloadavg()[0])
    for name, values in times.items():
        print(f"wavegate validate {args.repo} ({name}): min {min(values):.3f} s, median {statistics.median(values):.3f} s, "
              f"max {max(values):.3f} s over {args.runs} runs")
    median = statistics.median(times["cached"])
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}; budget {BUDGET_SECONDS} s "
          f"(median, cached): {'within' if median <= BUDGET_SECONDS else 'OVER'}")
    return 0 if median <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
