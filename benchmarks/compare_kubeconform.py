#!/usr/bin/env python3
"""wavegate (all static checks) side by side with kubeconform (schema check only), in one run.

    python benchmarks/compare_kubeconform.py [--n 1000 --n 10000] [--runs 5] [--workdir DIR] [--busy]
    python benchmarks/compare_kubeconform.py --n 2000 --clusters 5     # an ApplicationSet per app, 5 clusters

For each N: generate the corpus (benchmarks/corpus.py), build wavegate's schema store for it
(built-in Kubernetes kinds, the shipped Argo CD and Backstage schemas, the platform RGD given with
--schemas) and write it as a kubeconform schema directory with `write_bundle`. Generating the
corpus and writing the bundle happen BEFORE timing and are excluded from both sides (the bundle
time is printed for information). Then, alternating, as whole processes:

    kubeconform -strict -summary -output json \
        -schema-location 'BUNDLE/{{ .ResourceKind }}{{ .KindSuffix }}.json' FILE...
    wavegate validate CORPUS --schemas templates/kro/cicd-pipeline-rgd.yaml --format json --no-cache   # cold
    wavegate validate ... --cache-dir DIR        # warm: the cache of an identical run before (a full hit)
    wavegate validate ... --cache-dir DIR3       # warm, one file touched: rewritten with the same content
    wavegate validate ... --cache-dir DIR2       # one file of N changed since the run before

kubeconform gets exactly the files wavegate reads (`wavegate.load.discover` with the corpus
configuration's excludes, so `.wavegate.yaml` is left out of both), and runs with its default
concurrency (-n 4). One warm-up run each, then --runs timed runs each; the median is reported.
The ratios printed are kubeconform_time / wavegate_time (>= 1.0: wavegate at least as fast).
For "one changed", a Deployment's replicas are toggled before each run, so each run has one file
whose content the cache has not seen in the run before (the whole-run record misses; every
other file's parse and per-object results are reused). "Touched" rewrites one file with its own
content: still a full hit, but the tree's stats differ, so wavegate compares every file's stat
and records them again (what `git checkout` of the same content, or an editor saving an
unchanged file, does). Each side puts the file back as it was, modification time included, so
the others see the corpus untouched.

Every wavegate side must give the same findings (checked), and both verdicts are printed, so a
fast run that judged nothing would show. Beside each median wall time the median CPU time is
printed (user and system, of the process and of the workers it waited for): on a shared machine
it moves less than the wall clock. Peak memory is each process's maximum resident set
(wavegate's worker processes, when it starts any, are not included: see --one-process), and the
load average is printed with every figure (the machine is shared). With --busy a spinning
process keeps one CPU busy throughout: worker processes have to pay on a loaded machine too.

With --clusters K, every app is deployed to K clusters by an ApplicationSet (corpus.py): wavegate
expands the ApplicationSets with Argo CD's generators and checks each of the K copies of every
manifest, where kubeconform reads each file once. The issue's targets are for the default corpus;
for this one the figures show what ApplicationSets cost, and only "the same findings" is required.
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
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

KUBECONFORM = ROOT / ".tools" / "bin" / "kubeconform"


def wavegate_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' runs read and write .pyc files
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def prepare(directory: Path, n: int, clusters: int = 1) -> tuple[Path, Path, list[str], float]:
    """Generate the corpus and write the bundle; returns (corpus, bundle, files, bundle seconds).
    In a process of its own: this one stays small, since a process started from it reports at
    least its size as peak memory (Linux keeps the parent's high-water mark across fork and exec)."""
    done = subprocess.run([sys.executable, __file__, "--prepare", str(directory), str(n), str(clusters)],
                          capture_output=True,
                          env=wavegate_env(), check=True)
    root, bundle, files, seconds = json.loads(done.stdout)
    return Path(root), Path(bundle), files, seconds


def _name(n: int, clusters: int) -> str:
    return f"{n}" if clusters < 2 else f"{n}-x{clusters}"


def _prepare(directory: Path, n: int, clusters: int = 1) -> tuple[Path, Path, list[str], float]:
    from wavegate.config import load_config
    from wavegate.load import discover, load
    from wavegate.schemas.bundle import write_bundle
    from wavegate.schemas.store import SchemaStore

    root = directory / f"corpus-{_name(n, clusters)}"
    corpus.generate(root, n, clusters=clusters)
    config = load_config(root, None)
    started = time.perf_counter()
    repo = load(root, exclude=config.exclude, limits=config.limits)
    store = SchemaStore.build(repo, config, extra_paths=[corpus.rgd_path()])
    bundle = directory / f"bundle-{_name(n, clusters)}"
    write_bundle(store, bundle)
    seconds = time.perf_counter() - started
    files = [str(root / rel) for rel in discover(root, config.exclude)]
    return root, bundle, files, seconds


class Timed(NamedTuple):
    seconds: float  # wall time
    done: subprocess.CompletedProcess
    peak_kb: int  # peak resident set
    cpu: float  # user and system time of the process and of the workers it waited for


def timed(command: list[str], env: dict | None = None) -> Timed:
    """Run `command` to its end and measure it. CPU time varies less than wall time on a shared
    machine (another guest's load stretches the wall clock), so small changes show in it first."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    return Timed(seconds, done, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _changed(path: Path, round_: int, touch_only: bool = False) -> tuple[str, int]:
    """Change `path` (a Deployment's replicas, a value no run has seen; with touch_only, rewrite
    the same text) and return its text and modification time before."""
    text, mtime = path.read_text(encoding="utf-8"), path.stat().st_mtime_ns
    path.write_text(text if touch_only else text.replace("replicas: ", f"replicas: {round_ + 10}", 1),
                    encoding="utf-8")
    return text, mtime


def _put_back(path: Path, before: tuple[str, int]) -> None:
    """The file as it was, modification time included (the same inode: written in place)."""
    text, mtime = before
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime, mtime))


def compare(directory: Path, n: int, runs: int, kubeconform: Path, one_process: bool = False,
            baseline: Path | None = None, clusters: int = 1) -> dict:
    root, bundle, files, bundle_seconds = prepare(directory, n, clusters)
    name = _name(n, clusters)
    base = [sys.executable, "-m", "wavegate", "validate", str(root), "--schemas", str(corpus.rgd_path()),
            "--format", "json"]
    sides = {
        "cold": base + ["--no-cache"],
        "warm": base + ["--cache-dir", str(directory / f"cache-warm-{name}")],
        "warm, one file touched": base + ["--cache-dir", str(directory / f"cache-touched-{name}")],
        "one changed": base + ["--cache-dir", str(directory / f"cache-one-{name}")],
    }
    kc = [str(kubeconform), "-strict", "-summary", "-output", "json",
          "-schema-location", str(bundle) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json", *files]
    env = wavegate_env()
    single = {**env, "WAVEGATE_LOAD_WORKERS": "1", "WAVEGATE_CHECK_WORKERS": "1"}
    old = {**env, "PYTHONPATH": str(baseline / "src")} if baseline is not None else env
    changed = root / "apps" / "app00000" / "manifests" / "deployment-0.yaml"
    if one_process:
        sides["cold, no workers"] = sides["cold"]
    if baseline is not None:
        sides["before (cold)"] = sides["cold"]
    # Warm-up (page cache, .pyc files, and the caches the warm sides start from), and the verdicts.
    k = timed(kc).done
    if k.returncode not in (0, 1):
        raise SystemExit(f"kubeconform failed ({k.returncode}): {k.stderr.decode()[-2000:]}")
    verdicts = {}
    for name, command in sides.items():
        w = timed(command, old if name == "before (cold)" else env).done
        if w.returncode not in (0, 1):
            raise SystemExit(f"wavegate ({name}) failed ({w.returncode}): {w.stderr.decode()[-2000:]}")
        verdicts[name] = json.loads(w.stdout)
    times: dict[str, list[float]] = {"kubeconform": [], **{name: [] for name in sides}}
    memory: dict[str, list[int]] = {name: [] for name in times}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    loads: list[str] = []
    for round_ in range(runs):  # alternate, so drift in machine load hits every side alike
        measured = timed(kc)
        times["kubeconform"].append(measured.seconds)
        memory["kubeconform"].append(measured.peak_kb)
        cpu["kubeconform"].append(measured.cpu)
        for name, command in sides.items():
            before = (_changed(changed, round_, touch_only=name == "warm, one file touched")
                      if name in ("one changed", "warm, one file touched") else None)
            measured = timed(command, single if name == "cold, no workers" else old if name == "before (cold)" else env)
            if before is not None:
                _put_back(changed, before)  # the other sides see the corpus as it was
            times[name].append(measured.seconds)
            memory[name].append(measured.peak_kb)
            cpu[name].append(measured.cpu)
            verdicts.setdefault(name + " (timed)", json.loads(measured.done.stdout))
        loads.append(_load())
    findings = {name: sorted(json.dumps(f, sort_keys=True) for f in v["findings"]) for name, v in verdicts.items()}
    reference = findings["cold"]
    same = all(f == reference for f in findings.values())
    medians = {name: statistics.median(values) for name, values in times.items()}
    k_summary = json.loads(k.stdout).get("summary", {})
    return {"n": n, "clusters": clusters, "files": len(files), "bundle_seconds": bundle_seconds, "medians": medians,
            "times": times, "cpu_medians": {name: statistics.median(values) for name, values in cpu.items()},
            "ratios": {name: medians["kubeconform"] / medians[name] for name in sides},
            "peak_rss_mb": {name: max(values) / 1024 for name, values in memory.items()},
            "load_averages": loads, "same_findings": same,
            "wavegate_summary": verdicts["cold"]["summary"], "kubeconform_summary": k_summary}


def main() -> int:
    if sys.argv[1:2] == ["--prepare"]:
        root, bundle, files, seconds = _prepare(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        print(json.dumps([str(root), str(bundle), files, seconds]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="corpus size (repeatable; default 1000 and 10000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument("--workdir", type=Path, help="where to generate corpora and bundles (default: a temp dir)")
    parser.add_argument("--kubeconform", type=Path, default=KUBECONFORM)
    parser.add_argument("--one-process", action="store_true",
                        help="also time wavegate cold without worker processes (WAVEGATE_LOAD_WORKERS=1, "
                             "WAVEGATE_CHECK_WORKERS=1)")
    parser.add_argument("--busy", action="store_true",
                        help="keep one CPU busy with a spinning process during the whole measurement: a machine "
                             "under load (worker processes must not make wavegate slower there)")
    parser.add_argument("--clusters", type=int, default=1,
                        help="deploy each app of the corpus to this many clusters by an ApplicationSet (corpus.py "
                             "--clusters): wavegate checks every copy, kubeconform each file once (default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON as well")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also time (cold) the wavegate whose sources are in DIR/src, e.g. an older commit "
                             "(git archive COMMIT | tar -x -C DIR): before and after in one run")
    args = parser.parse_args()
    if not args.kubeconform.exists():
        print(f"{args.kubeconform} not found; run scripts/install-tools", file=sys.stderr)
        return 2
    if args.baseline is not None and not (args.baseline / "src" / "wavegate" / "__init__.py").is_file():
        # (else PYTHONPATH would name nothing and the installed wavegate would be timed as the "before")
        print(f"--baseline {args.baseline}: no src/wavegate in it; give the folder that holds src/", file=sys.stderr)
        return 2
    sizes = args.n or [1000, 10000]
    with tempfile.TemporaryDirectory(prefix="wavegate-bench-") as tmp:
        directory = args.workdir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        results = []
        print(f"machine: {os.cpu_count()} CPUs; {args.runs} timed runs per side, median; whole processes; "
              "corpus generation and bundle writing excluded" + ("; one CPU kept busy (--busy)" if args.busy else ""))
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
        try:
            for n in sizes:
                results.append(_report(compare(directory, n, args.runs, args.kubeconform, args.one_process,
                                               args.baseline, args.clusters)))
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
        if args.json:
            print(json.dumps(results, indent=2))
    targets = [r for r in results if r["clusters"] < 2]  # (no target for ApplicationSet copies: kubeconform
    # reads each file once)
    failed = [r for r in results if not r["same_findings"]] + \
        [r for r in targets if (r["n"] >= 10_000 and (r["ratios"]["cold"] < 1.0 or r["ratios"]["warm"] < 10
                                                     or r["ratios"]["one changed"] < 2))
         or (r["n"] >= 1_000 and r["ratios"]["cold"] < 0.8)]
    return 1 if failed else 0


def _report(r: dict) -> dict:
    """Print one corpus size's figures; returns them."""
    ks, ws = r["kubeconform_summary"], r["wavegate_summary"]
    copies = f", each applied to {r['clusters']} clusters" if r["clusters"] > 1 else ""
    print(f"N={r['n']:>6} ({r['files']} files{copies}; bundle written in {r['bundle_seconds']:.2f} s, excluded)  "
          f"load average per round (1/5/15 min): {', '.join(r['load_averages'])}")
    cpu = r["cpu_medians"]
    print(f"  kubeconform  {r['medians']['kubeconform']:7.3f} s  cpu {cpu['kubeconform']:6.3f} s  "
          f"peak {r['peak_rss_mb']['kubeconform']:6.1f} MB  "
          f"(schema only; valid {ks.get('valid')}, invalid {ks.get('invalid')}, errors {ks.get('errors')})")
    for name, ratio in r["ratios"].items():
        print(f"  wavegate {name:<16} {r['medians'][name]:7.3f} s  cpu {cpu[name]:6.3f} s  "
              f"peak {r['peak_rss_mb'][name]:6.1f} MB  "
              f"ratio kubeconform/wavegate = {ratio:5.2f}")
    print(f"  wavegate: {ws.get('errors')} errors, {ws.get('warnings')} warnings, {ws.get('resources')} resources; "
          f"every side the same findings: {'yes' if r['same_findings'] else 'NO'}", flush=True)
    return r


if __name__ == "__main__":
    raise SystemExit(main())
