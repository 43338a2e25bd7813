#!/usr/bin/env python3
"""Wall time of the whole `wavegate diff --base main` process on a generated repository.

Budget (issue 17): under 5 s, interpreter start-up included, against argocd-diff-preview's 60-90 s
of kind and Argo CD bootstrap per run. The repository is the examples/clean generated repository
(Namespace, CICDPipeline, Application, catalog entity) plus --apps more Applications of each source
type (plain directory, Kustomize overlay with a patch, Helm chart with values), one commit on main,
then a merge request's worth of edits in the working tree (a field in each kind of source, an object
added, one removed). Cold: --no-cache (what a CI job without a kept cache pays); warm: the render
cache kept between runs. Usage:
    python benchmarks/diff_repo.py [--apps N] [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[1]
REPO_URL = "https://gitlab.example.com/platform/web-cicd.git"


def wavegate_command() -> list[str]:
    installed = shutil.which("wavegate")
    return [installed] if installed else [sys.executable, "-m", "wavegate"]


def application(name: str, path: str) -> str:
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n"
            f"spec:\n  project: web-project\n  source:\n    repoURL: {REPO_URL}\n    targetRevision: main\n"
            f"    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n")


def deployment(name: str, replicas: int = 2, image: str = "1.0") -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n"
            f"  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n"
            f"    spec:\n      containers:\n        - name: {name}\n          image: registry.example.com/{name}:{image}\n")


def generate(root: Path, apps: int) -> None:
    shutil.copytree(ROOT / "examples" / "clean", root)
    shutil.copytree(ROOT / "templates" / "kro", root.parent.parent / "templates" / "kro", dirs_exist_ok=True)
    files: dict[str, str] = {}
    for i in range(apps):
        files[f"argocd/plain-{i}.yaml"] = application(f"plain-{i}", f"apps/plain-{i}")
        files[f"apps/plain-{i}/deployment.yaml"] = deployment(f"plain-{i}")
        files[f"apps/plain-{i}/config.yaml"] = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-{i}\ndata:\n  a: '1'\n"
        files[f"argocd/kust-{i}.yaml"] = application(f"kust-{i}", f"kustomize/kust-{i}/overlays/prod")
        files[f"kustomize/kust-{i}/base/kustomization.yaml"] = "resources: [deployment.yaml]\n"
        files[f"kustomize/kust-{i}/base/deployment.yaml"] = deployment(f"kust-{i}")
        files[f"kustomize/kust-{i}/overlays/prod/kustomization.yaml"] = ("resources: [../../base]\n"
                                                                          "patches:\n  - path: patch.yaml\n")
        files[f"kustomize/kust-{i}/overlays/prod/patch.yaml"] = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kust-{i}\nspec:\n  replicas: 3\n")
        files[f"argocd/helm-{i}.yaml"] = application(f"helm-{i}", f"charts/helm-{i}")
        files[f"charts/helm-{i}/Chart.yaml"] = f"apiVersion: v2\nname: helm-{i}\nversion: 0.1.0\n"
        files[f"charts/helm-{i}/values.yaml"] = "replicas: 2\ntag: '1.0'\n"
        files[f"charts/helm-{i}/templates/deployment.yaml"] = deployment(f"helm-{i}").replace(
            "replicas: 2", "replicas: {{ .Values.replicas }}").replace(":1.0", ":{{ .Values.tag }}")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    subprocess.run(git + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "generated"], check=True)
    # The merge request: one edit per kind of source, an object added and one removed.
    edit = root / "manifests" / "kro-cicd-pipeline.yaml"
    edit.write_text(edit.read_text().replace("region: us-west-2", "region: eu-west-1"))
    (root / "apps/plain-0/deployment.yaml").write_text(deployment("plain-0", replicas=4))
    (root / "kustomize/kust-0/overlays/prod/patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kust-0\nspec:\n  replicas: 5\n")
    (root / "charts/helm-0/values.yaml").write_text("replicas: 2\ntag: '1.1'\n")
    (root / "apps/plain-1/config.yaml").unlink()
    (root / "apps/plain-1/extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n")


def measure(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"wavegate diff failed ({done.returncode}): {done.stderr.strip()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=5, help="Applications of each source type (default: 5)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wavegate-diff-bench-") as tmp:
        root = Path(tmp) / "examples" / "repo"
        generate(root, args.apps)
        base = wavegate_command() + ["diff", str(root), "--base", "main", "--format", "json"]
        cache = ["--cache-dir", str(Path(tmp) / "cache")]
        subprocess.run(wavegate_command() + ["--version"], capture_output=True, check=False)  # .pyc files
        cold = measure(base + ["--no-cache"], args.runs)
        measure(base + cache, 1)  # fill the cache
        warm = measure(base + cache, args.runs)
    apps = 1 + 3 * args.apps
    for name, times in (("cold (--no-cache)", cold), ("warm (render cache kept)", warm)):
        median = statistics.median(times)
        print(f"wavegate diff, {apps} Applications, {name}: min {min(times):.2f} s, median {median:.2f} s, "
              f"max {max(times):.2f} s over {len(times)} runs -> {'within' if median < BUDGET_SECONDS else 'OVER'} "
              f"the {BUDGET_SECONDS:g} s budget (argocd-diff-preview: 60-90 s of bootstrap alone)")
    return 0 if statistics.median(cold) < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
