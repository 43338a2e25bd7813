#!/usr/bin/env python3
"""Generate a benchmark corpus: N manifests across many generated application repositories.

    python benchmarks/corpus.py DIR [--n 10000] [--defects 0.0]

Layout (one monorepo, `apps/<app>/` per generated application repository, 10 manifests each):

    .wavegate.yaml                         repoURL of the corpus; Argo CD settings as generated repos have,
                                           argocd.configMap: the shipped kro health checks
    apps/<app>/catalog-info.yaml           Backstage Component
    apps/<app>/argocd/project.yaml         AppProject
    apps/<app>/argocd/application.yaml     Application, source.path apps/<app>/manifests (this repository)
    apps/<app>/manifests/namespace.yaml    Namespace, sync-wave 0
    apps/<app>/manifests/kro-cicd-pipeline.yaml  CICDPipeline (kro custom resource), sync-wave 1
    apps/<app>/manifests/deployment-{0,1}.yaml   Deployments
    apps/<app>/manifests/configmap-{0,1}.yaml    ConfigMaps
    apps/<app>/manifests/service.yaml            Service

The CICDPipeline kind is defined by the platform RGD `templates/kro/cicd-pipeline-rgd.yaml`, which
is NOT in the corpus: pass it with `--schemas` (what `rgd_path()` returns). Every Application's
source is a plain directory in this repository, so the Argo CD checks (paths, namespaces, which
Application syncs which manifest, waves, hooks) do real work on every manifest.

With `--clusters K` (K >= 2), each application is deployed to K clusters, as platform add-ons are:
`argocd/application.yaml` holds an ApplicationSet whose list generator makes one Application per
cluster, all reading the same `manifests/` folder, so every manifest is applied K times (what
wavegate checks is K times N objects, from N files).

With `--defects F`, a fraction F of the applications get one realistic defect each (a typo in
a field name, a wrong type, a namespace nothing creates), so reports are not empty; the default
corpus is clean, which is what the side-by-side comparison with kubeconform uses.
"""

from __future__ import annotations

import argparse
import random
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO_URL = "https://gitlab.example.com/platform/corpus.git"
PER_APP = 10
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
IMAGES = ("nginx:1.27", "ghcr.io/example/api:2.4.1", "registry.example.com/team/worker:0.9.3",
          "redis:7.4", "ghcr.io/example/frontend:5.1.0")


def rgd_path() -> Path:
    return ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml"


def _labels(app: str, component: str, indent: int) -> str:
    pad = " " * indent
    return (f"{pad}app.kubernetes.io/name: {app}\n{pad}app.kubernetes.io/component: {component}\n"
            f"{pad}app.kubernetes.io/managed-by: argocd\n")


def _destinations(ns: str, clusters: int) -> str:
    servers = ["https://kubernetes.default.svc"] if clusters < 2 else [cluster_url(c) for c in range(clusters)]
    return "".join(f"    - server: {server}\n      namespace: {ns}\n" for server in servers)


def catalog_info(app: str, ns: str, app_name: str = "") -> str:
    return f"""apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {app}-cicd-pipeline
  description: Kro CI/CD pipeline of {app}, managed by Argo CD
  annotations:
    argocd/app-name: {app_name or app + "-cicd"}
    backstage.io/kubernetes-namespace: {ns}
    backstage.io/kubernetes-label-selector: app.kubernetes.io/name={app},app.kubernetes.io/component=cicd-pipeline
    backstage.io/source-location: url:https://gitlab.example.com/platform/corpus/-/tree/main/apps/{app}/
spec:
  type: service
  lifecycle: experimental
  owner: group:default/platform
"""


def project(app: str, ns: str, clusters: int = 1) -> str:
    return f"""apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: {app}-project
  namespace: argocd
spec:
  description: CI/CD pipeline of {app}
  sourceRepos:
    - {REPO_URL}
  destinations:
{_destinations(ns, clusters)}  clusterResourceWhitelist:
    - group: ""
      kind: Namespace
  namespaceResourceWhitelist:
    - group: kro.run
      kind: CICDPipeline
    - group: apps
      kind: Deployment
    - group: ""
      kind: ConfigMap
    - group: ""
      kind: Service
"""


def cluster_url(c: int) -> str:
    return f"https://cluster-{c}.clusters.example.com"


def application_set(app: str, ns: str, clusters: int) -> str:
    """An ApplicationSet whose template is application()'s, one Application per cluster."""
    elements = "".join(f"          - cluster: c{c}\n            url: {cluster_url(c)}\n" for c in range(clusters))
    written = application(app, ns, name=f"'{app}-cicd-{{{{cluster}}}}'", server="'{{url}}'")
    template = "metadata:\n" + written.split("metadata:\n", 1)[1].replace("  namespace: argocd\n", "", 1)
    return f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: {app}-cicd
  namespace: argocd
spec:
  generators:
    - list:
        elements:
{elements}  template:
{textwrap.indent(template, "    ")}"""


def application(app: str, ns: str, name: str = "", server: str = "https://kubernetes.default.svc") -> str:
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name or app + "-cicd"}
  namespace: argocd
  labels:
    app.kubernetes.io/name: {app}
    app.kubernetes.io/component: cicd-pipeline
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: {app}-project
  source:
    repoURL: {REPO_URL}
    targetRevision: main
    path: apps/{app}/manifests
  destination:
    server: {server}
    namespace: {ns}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - PruneLast=true
    retry:
      limit: 5
      backoff:
        duration: 5s
        factor: 2
        maxDuration: 3m
"""


def namespace(app: str, ns: str) -> str:
    return f"""apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
{_labels(app, "cicd-pipeline", 4)}  annotations:
    argocd.argoproj.io/sync-wave: "0"
"""


def pipeline(app: str, ns: str, rnd: random.Random) -> str:
    return f"""apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata:
  name: {app}-cicd-pipeline
  namespace: {ns}
  labels:
{_labels(app, "cicd-pipeline", 4)}  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  name: {app}-cicd
  namespace: {ns}
  aws:
    region: {rnd.choice(REGIONS)}
    accountId: "{rnd.randrange(10**11, 10**12):012d}"
    clusterName: peeks-hub-cluster
    resourcePrefix: peeks
  application:
    name: {app}
    dockerfilePath: "."
    deploymentPath: ./deployment
  gitlab:
    hostname: gitlab.example.com
    username: platform
"""


def deployment(app: str, ns: str, i: int, rnd: random.Random) -> str:
    name = f"{app}-{('web', 'worker')[i % 2]}"
    port = rnd.choice((8080, 8000, 3000, 9000))
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
{_labels(app, name, 4)}  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  replicas: {rnd.randint(1, 4)}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      serviceAccountName: {app}-cicd-sa
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
      containers:
        - name: main
          image: {rnd.choice(IMAGES)}
          imagePullPolicy: IfNotPresent
          args: ["--port", "{port}", "--log-level", "info"]
          ports:
            - name: http
              containerPort: {port}
              protocol: TCP
          env:
            - name: APP_NAME
              value: {app}
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          envFrom:
            - configMapRef:
                name: {app}-config-{i}
          resources:
            requests:
              cpu: {rnd.choice((50, 100, 250))}m
              memory: {rnd.choice((64, 128, 256))}Mi
            limits:
              cpu: "1"
              memory: 512Mi
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 5
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /livez
              port: http
            periodSeconds: 20
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {{}}
"""


def configmap(app: str, ns: str, i: int, rnd: random.Random) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config-{i}
  namespace: {ns}
  labels:
{_labels(app, "config", 4)}  annotations:
    argocd.argoproj.io/sync-wave: "1"
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "search,checkout"
  UPSTREAM_URL: http://{app}-web.{ns}.svc.cluster.local:8080
  CACHE_TTL_SECONDS: "{rnd.choice((30, 60, 300))}"
  settings.yaml: |
    server:
      port: 8080
      gracefulShutdown: 30s
    features:
      - search
      - checkout
"""


def service(app: str, ns: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {app}-web
  namespace: {ns}
  labels:
{_labels(app, "web", 4)}  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {app}-web
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
"""


DEFECTS = (
    ("manifests/deployment-0.yaml", "  revisionHistoryLimit: 5\n", "  revisionHistoryLimt: 5\n"),
    ("manifests/kro-cicd-pipeline.yaml", "    clusterName: peeks-hub-cluster\n", "    clusterNme: peeks-hub-cluster\n"),
    ("manifests/service.yaml", "      port: 80\n", "      port: \"eighty\"\n"),
)


def generate(directory: Path, n: int, defects: float = 0.0, seed: int = 1, clusters: int = 1) -> dict:
    """Write the corpus for `n` manifests (rounded down to whole apps of 10) into `directory`,
    replacing what is there; with `clusters` >= 2, each app's manifests are applied to that many
    clusters (an ApplicationSet). Returns counts."""
    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    rnd = random.Random(seed)
    apps = max(1, n // PER_APP)
    (directory / ".wavegate.yaml").write_text(
        "# wavegate configuration of the benchmark corpus (benchmarks/corpus.py)\n"
        f"repoURL: {REPO_URL}\nargocd:\n  version: 3\n  requireResourcesFinalizer: true\n"
        f"  configMap: {ROOT / 'templates' / 'argocd' / 'argocd-cm-kro-health.yaml'}  # kro health checks\n",
        encoding="utf-8")
    broken = 0
    for a in range(apps):
        app = f"app{a:05d}"
        ns = f"team-{app}"
        base = directory / "apps" / app
        files = {
            "catalog-info.yaml": catalog_info(app, ns, f"{app}-cicd-c0" if clusters > 1 else ""),
            "argocd/project.yaml": project(app, ns, clusters),
            "argocd/application.yaml": application_set(app, ns, clusters) if clusters > 1 else application(app, ns),
            "manifests/namespace.yaml": namespace(app, ns),
            "manifests/kro-cicd-pipeline.yaml": pipeline(app, ns, rnd),
            "manifests/deployment-0.yaml": deployment(app, ns, 0, rnd),
            "manifests/deployment-1.yaml": deployment(app, ns, 1, rnd),
            "manifests/configmap-0.yaml": configmap(app, ns, 0, rnd),
            "manifests/configmap-1.yaml": configmap(app, ns, 1, rnd),
            "manifests/service.yaml": service(app, ns),
        }
        if defects and rnd.random() < defects:
            rel, old, new = DEFECTS[broken % len(DEFECTS)]
            files[rel] = files[rel].replace(old, new, 1)
            broken += 1
        for rel, text in files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    applied = apps * (PER_APP - 3) * max(clusters, 1) + apps * 3
    return {"apps": apps, "manifests": apps * PER_APP, "files": apps * PER_APP, "defects": broken, "applied": applied}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--n", type=int, default=10_000, help="number of manifests (default 10000)")
    parser.add_argument("--defects", type=float, default=0.0, help="fraction of apps with one defect (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clusters", type=int, default=1,
                        help="clusters each application is deployed to, by an ApplicationSet (default 1: an Application)")
    args = parser.parse_args()
    counts = generate(args.directory, args.n, args.defects, args.seed, args.clusters)
    print(f"{args.directory}: {counts['manifests']} manifests in {counts['files']} files, "
          f"{counts['apps']} applications, {counts['defects']} with a defect; "
          f"pass --schemas {rgd_path()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
