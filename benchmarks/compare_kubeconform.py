#!/usr/bin/env python3
"""wavegate (all static checks) side by side with kubeconform (schema check only), in one run.

    python benchmarks/compare_kubeconform.py [--n 1000 --n 10000] [--runs 5] [--workdir DIR]

For each N: generate the corpus (benchmarks/corpus.py), build wavegate's schema store for it
(built-in Kubernetes kinds, the shipped Argo CD and Backstage schemas, the platform RGD given with
--schemas) and write it as a kubeconform schema directory with `write_bundle`. Generating the
corpus and writing the bundle happen BEFORE timing and are excluded from both sides (the bundle
time is printed for information). Then, alternating, as whole processes:

    wavegate validate CORPUS --schemas templates/kro/cicd-pipeline-rgd.yaml --format json
    kubeconform -strict -summary -output json \
        -schema-location 'BUNDLE/{{ .ResourceKind }}{{ .KindSuffix }}.json' FILE...

kubeconform gets exactly the files wavegate reads (`wavegate.load.discover` with the corpus
configuration's excludes, so `.wavegate.yaml` is left out of both), and runs with its default
concurrency (-n 4). One warm-up run each, then --runs timed runs each; the median is reported.
The ratio printed is kubeconform_time / wavegate_time: >= 1.0 means wavegate is at least as fast
(the budget in DESIGN.md at N = 10,000).

Both verdicts are printed too (wavegate's error count, kubeconform's invalid/error counts), so a
fast run that judged nothing would show.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

KUBECONFORM = ROOT / ".tools" / "bin" / "kubeconform"


def wavegate_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def prepare(directory: Path, n: int) -> tuple[Path, Path, list[str], float]:
    """Generate the corpus and write the bundle; returns (corpus, bundle, files, bundle seconds)."""
    from wavegate.config import load_config
    from wavegate.load import discover, load
    from wavegate.schemas.bundle import write_bundle
    from wavegate.schemas.store import SchemaStore

    root = directory / f"corpus-{n}"
    corpus.generate(root, n)
    config = load_config(root, None)
    started = time.perf_counter()
    repo = load(root, exclude=config.exclude, limits=config.limits)
    store = SchemaStore.build(repo, config, extra_paths=[corpus.rgd_path()])
    bundle = directory / f"bundle-{n}"
    write_bundle(store, bundle)
    seconds = time.perf_counter() - started
    files = [str(root / rel) for rel in discover(root, config.exclude)]
    return root, bundle, files, seconds


def timed(command: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    return time.perf_counter() - started, done


def compare(directory: Path, n: int, runs: int, kubeconform: Path, one_process: bool = False) -> dict:
    root, bundle, files, bundle_seconds = prepare(directory, n)
    wavegate = [sys.executable, "-m", "wavegate", "validate", str(root), "--schemas", str(corpus.rgd_path()),
                "--format", "json"]
    kc = [str(kubeconform), "-strict", "-summary", "-output", "json",
          "-schema-location", str(bundle) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json", *files]
    env = wavegate_env()
    # Warm-up (page cache, .pyc files), and the verdicts.
    _, w = timed(wavegate, env)
    _, k = timed(kc)
    if w.returncode not in (0, 1):
        raise SystemExit(f"wavegate failed ({w.returncode}): {w.stderr.decode()[-2000:]}")
    if k.returncode not in (0, 1):
        raise SystemExit(f"kubeconform failed ({k.returncode}): {k.stderr.decode()[-2000:]}")
    w_summary = json.loads(w.stdout)["summary"]
    k_summary = json.loads(k.stdout).get("summary", {})
    single = {**env, "WAVEGATE_LOAD_WORKERS": "1", "WAVEGATE_CHECK_WORKERS": "1"}
    w_times, k_times, s_times = [], [], []
    for _ in range(runs):  # alternate, so drift in machine load hits both sides alike
        t, _ = timed(wavegate, env)
        w_times.append(t)
        t, _ = timed(kc)
        k_times.append(t)
        if one_process:
            t, _ = timed(wavegate, single)
            s_times.append(t)
    w_median, k_median = statistics.median(w_times), statistics.median(k_times)
    return {"n": n, "files": len(files), "resources": w_summary.get("resources"), "bundle_seconds": bundle_seconds,
            "wavegate": w_median, "kubeconform": k_median, "ratio": k_median / w_median,
            "wavegate_one_process": statistics.median(s_times) if s_times else None,
            "wavegate_times": w_times, "kubeconform_times": k_times, "wavegate_one_process_times": s_times,
            "wavegate_summary": w_summary, "kubeconform_summary": k_summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="corpus size (repeatable; default 1000 and 10000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument("--workdir", type=Path, help="where to generate corpora and bundles (default: a temp dir)")
    parser.add_argument("--kubeconform", type=Path, default=KUBECONFORM)
    parser.add_argument("--one-process", action="store_true",
                        help="also time wavegate without worker processes (WAVEGATE_LOAD_WORKERS=1, "
                             "WAVEGATE_CHECK_WORKERS=1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON as well")
    args = parser.parse_args()
    if not args.kubeconform.exists():
        print(f"{args.kubeconform} not found; run scripts/install-tools", file=sys.stderr)
        return 2
    sizes = args.n or [1000, 10000]
    with tempfile.TemporaryDirectory(prefix="wavegate-bench-") as tmp:
        directory = args.workdir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        results = []
        print(f"machine: {os.cpu_count()} CPUs; {args.runs} timed runs per side, median; whole processes; "
              "corpus generation and bundle writing excluded")
        for n in sizes:
            r = compare(directory, n, args.runs, args.kubeconform, args.one_process)
            results.append(r)
            ks = r["kubeconform_summary"]
            print(f"N={n:>6}: wavegate {r['wavegate']:.3f} s (all checks; {r['wavegate_summary'].get('errors')} errors, "
                  f"{r['wavegate_summary'].get('warnings')} warnings)  kubeconform {r['kubeconform']:.3f} s "
                  f"(schema only; valid {ks.get('valid')}, invalid {ks.get('invalid')}, errors {ks.get('errors')}, "
                  f"skipped {ks.get('skipped')})  ratio kubeconform/wavegate = {r['ratio']:.2f}  "
                  f"[bundle written in {r['bundle_seconds']:.2f} s, excluded]"
                  + (f"  wavegate without workers {r['wavegate_one_process']:.3f} s" if r["wavegate_one_process"] else ""),
                  flush=True)
        if args.json:
            print(json.dumps(results, indent=2))
    failed = [r for r in results if r["n"] >= 10_000 and r["ratio"] < 1.0]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
