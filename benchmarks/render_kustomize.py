"""Time `wavegate validate` on a repository of N Kustomize Applications (DESIGN.md budget, issue 11:
50 Applications render and validate in under 5 s cold on 2 cores).

    python benchmarks/render_kustomize.py [--apps 50] [--runs 5] [--workdir DIR]

Each Application syncs an overlay of one shared base (Namespace, Deployment, Service, ConfigMap
generator) with a strategic-merge patch, a JSON 6902 patch and a name prefix, as an environment-
per-folder repository does. Cold runs pass --no-cache (every kustomize build runs); warm runs keep
the cache of the previous run (no kustomize build runs). Whole processes, interpreter start
included; the medians are printed with the number of findings (0: the repository is clean).
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

REPO_URL = "https://gitlab.example.com/team/shop.git"


def generate(root: Path, apps: int) -> None:
    files = {
        ".wavegate.yaml": f"repoURL: {REPO_URL}\n",
        "argocd/project.yaml": PROJECT,
        "base/kustomization.yaml": "resources:\n  - deployment.yaml\n  - service.yaml\nconfigMapGenerator:\n"
                                   "  - name: settings\n    literals: [mode=normal]\n",
        "base/deployment.yaml": DEPLOYMENT,
        "base/service.yaml": SERVICE,
    }
    for i in range(apps):
        name = f"env{i:03d}"
        files[f"argocd/{name}.yaml"] = APPLICATION.format(name=name, repo=REPO_URL)
        files[f"overlays/{name}/kustomization.yaml"] = (
            f"namespace: shop-{name}\nnamePrefix: {name}-\nresources:\n  - ../../base\npatches:\n  - path: replicas.yaml\n"
            "  - path: image.yaml\n    target: {kind: Deployment, name: shop}\n")
        files[f"overlays/{name}/replicas.yaml"] = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  replicas: {1 + i % 5}\n")
        files[f"overlays/{name}/image.yaml"] = (
            f"- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: registry.example.com/shop:1.{i}.0\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run(root: Path, cache_dir: Path, cold: bool) -> tuple[float, int]:
    argv = [sys.executable, "-m", "wavegate", "validate", str(root), "--format", "json", "--cache-dir", str(cache_dir)]
    if cold:
        argv.append("--no-cache")
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"wavegate failed: {done.stderr}")
    return elapsed, len(json.loads(done.stdout)["findings"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wavegate-bench-render-"))
    root = workdir / "repo"
    generate(root, args.apps)
    cache = workdir / "cache"
    run(root, cache, cold=False)  # warm-up: imports compiled, the cache filled
    cold, warm = [], []
    for _ in range(args.runs):
        cold.append(run(root, cache, cold=True))
        warm.append(run(root, cache, cold=False))
    findings = {n for _, n in cold + warm}
    print(f"{args.apps} Kustomize Applications, {args.runs} runs each, load average {os.getloadavg()[0]:.1f}")
    print(f"  cold (--no-cache): median {statistics.median(t for t, _ in cold):.2f} s  "
          f"(min {min(t for t, _ in cold):.2f} s)")
    print(f"  warm (cache hit):  median {statistics.median(t for t, _ in warm):.2f} s  "
          f"(min {min(t for t, _ in warm):.2f} s)")
    print(f"  findings: {sorted(findings)}")


PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: shop
  namespace: argocd
spec:
  sourceRepos: [https://gitlab.example.com/team/shop.git]
  destinations:
    - {server: https://kubernetes.default.svc, namespace: shop-*}
  clusterResourceWhitelist:
    - {group: "", kind: Namespace}
"""
APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop-{name}
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: shop
  source: {{repoURL: {repo}, targetRevision: main, path: overlays/{name}}}
  destination: {{server: https://kubernetes.default.svc, namespace: shop-{name}}}
  syncPolicy: {{syncOptions: [CreateNamespace=true]}}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: registry.example.com/shop:1.0.0
          ports: [{containerPort: 8080}]
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
"""

if __name__ == "__main__":
    main()
