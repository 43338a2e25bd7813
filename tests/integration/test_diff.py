"""`wavegate diff` on real git repositories, rendered by the real kustomize and helm
(scripts/install-tools): a revision committed, the working tree changed, the diff read back from
its JSON, text and markdown."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from wavegate.cli import main
from wavegate.cluster.tools import find_tool

pytestmark = pytest.mark.integration

REPO_URL = "https://gitlab.example.com/platform/shop.git"


@pytest.fixture(scope="module", autouse=True)
def tools():
    """kustomize and helm must be installed: a missing one fails the tests (never a skip)."""
    return {name: find_tool(name) for name in ("kustomize", "helm")}


def application(name: str, path: str, namespace: str = "shop", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata:
          name: {name}
          namespace: argocd
        spec:
          project: default
          source:
            repoURL: {REPO_URL}
            targetRevision: main
            path: {path}
          destination:
            server: https://kubernetes.default.svc
            namespace: {namespace}
        """) + textwrap.indent(textwrap.dedent(extra), "  ")


def deployment(name: str = "web", replicas: int = 2, image: str = "registry.example.com/web:1.0", wave: str = "") -> str:
    annotations = f'\n  annotations:\n    argocd.argoproj.io/sync-wave: "{wave}"' if wave else ""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}@@
        spec:
          replicas: {replicas}
          selector:
            matchLabels: {{app: {name}}}
          template:
            metadata:
              labels: {{app: {name}}}
            spec:
              containers:
                - name: {name}
                  image: {image}
        """).replace("@@", annotations)


class Repo:
    """A git repository in `root` with one commit (`main`), then edited in the working tree."""

    def __init__(self, root: Path, files: dict[str, str]):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        (root / ".wavegate.yaml").write_text(f"repoURL: {REPO_URL}\n")
        self.write(files)
        self.commit("base")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.root), "-c", "user.email=t@example.com", "-c", "user.name=t",
                               *args], check=True, capture_output=True, text=True).stdout

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def remove(self, *rels: str) -> None:
        for rel in rels:
            (self.root / rel).unlink()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        return self.git("rev-parse", "HEAD").strip()


def run_diff(repo: Repo, capsys, *args: str, fmt: str = "json") -> tuple[int, str]:
    code = main(["diff", str(repo.root), "--base", "main", "--format", fmt, *args])
    return code, capsys.readouterr().out


def diff_json(repo: Repo, capsys, *args: str) -> dict:
    code, out = run_diff(repo, capsys, *args)
    assert code == 0, out
    return json.loads(out)


def app_of(report: dict, name: str) -> dict:
    return next(a for a in report["applications"] if a["name"] == name)


def test_one_changed_field_is_reported_with_old_and_new_values_and_its_line(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "apps/web"),
                                  "apps/web/deployment.yaml": deployment()})
    repo.write({"apps/web/deployment.yaml": deployment(replicas=5)})
    report = diff_json(repo, capsys)
    assert report["version"] == 1
    web = app_of(report, "web")
    assert web["status"] == "changed"
    [changed] = web["objects"]
    assert (changed["status"], changed["kind"], changed["namespace"], changed["name"]) == ("changed", "Deployment", "shop", "web")
    assert changed["fields"] == [{"pointer": "/spec/replicas", "op": "replace", "old": 2, "new": 5,
                                  "path": "apps/web/deployment.yaml", "line": 6}]
    assert "-  replicas: 2\n+  replicas: 5" in changed["diff"]


def test_an_added_and_a_removed_object_in_sync_order(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {
        "argocd/web.yaml": application("web", "apps/web"),
        "apps/web/deployment.yaml": deployment(),
        "apps/web/old.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\ndata:\n  a: '1'\n"})
    repo.remove("apps/web/old.yaml")
    repo.write({"apps/web/job.yaml": textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations:
            argocd.argoproj.io/hook: PreSync
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: m, image: registry.example.com/migrate:1}]
        """),
        "apps/web/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n"
                                 "    argocd.argoproj.io/sync-wave: '2'\nspec:\n  ports: [{port: 80}]\n"})
    report = diff_json(repo, capsys)
    objects = [(o["status"], o["kind"], o["name"], o["phase"], o["wave"], o["hook"]) for o in app_of(report, "web")["objects"]]
    assert objects == [("added", "Job", "migrate", "PreSync", 0, True), ("added", "Service", "web", "Sync", 2, False),
                       ("removed", "ConfigMap", "old", "Prune", 0, False)]
    steps = [(s["phase"], s["wave"], [(o["kind"], o["status"]) for o in s["objects"]]) for s in app_of(report, "web")["steps"]]
    assert steps == [("PreSync", 0, [("Job", "added")]), ("Sync", 0, [("Deployment", "unchanged")]),
                     ("Sync", 2, [("Service", "added")]), ("Prune", 0, [("ConfigMap", "removed")])]
    code, text = run_diff(repo, capsys, fmt="text")
    assert text.index("PreSync · wave 0") < text.index("Sync · wave 2") < text.index("Prune")
    assert "+ Job.batch shop/migrate (hook)  apps/web/job.yaml:1" in text


def test_a_kustomize_base_change_an_overlay_overrides_is_no_diff(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {
        "argocd/web.yaml": application("web", "kustomize/overlays/prod"),
        "kustomize/base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "kustomize/base/deployment.yaml": deployment(replicas=1),
        "kustomize/overlays/prod/kustomization.yaml": "resources: [../../base]\npatches:\n  - path: replicas.yaml\n",
        "kustomize/overlays/prod/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                                                 "spec:\n  replicas: 4\n"})
    repo.write({"kustomize/base/deployment.yaml": deployment(replicas=2)})
    report = diff_json(repo, capsys)
    assert app_of(report, "web")["status"] == "unchanged"
    assert main(["diff", str(repo.root), "--base", "main", "--exit-code"]) == 0
    capsys.readouterr()
    # ... while a change the overlay does not override is one, at the base's line
    repo.write({"kustomize/base/deployment.yaml": deployment(replicas=2, image="registry.example.com/web:2.0")})
    [changed] = app_of(diff_json(repo, capsys), "web")["objects"]
    [field] = changed["fields"]
    assert (field["pointer"], field["old"], field["new"], field["path"]) == (
        "/spec/template/spec/containers/0/image", "registry.example.com/web:1.0", "registry.example.com/web:2.0",
        "kustomize/base/deployment.yaml")
    assert main(["diff", str(repo.root), "--base", "main", "--exit-code"]) == 1


CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "replicas: 2\nimage: registry.example.com/web:1.0\n",
    "charts/web/templates/deployment.yaml": textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: {{ .Values.image }}
        """),
}


def test_a_helm_values_change_is_a_changed_field(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "charts/web"), **CHART})
    repo.write({"charts/web/values.yaml": "replicas: 3\nimage: registry.example.com/web:1.0\n"})
    [changed] = app_of(diff_json(repo, capsys), "web")["objects"]
    assert changed["kind"] == "Deployment" and changed["name"] == "web"
    [field] = changed["fields"]
    assert (field["pointer"], field["old"], field["new"]) == ("/spec/replicas", 2, 3)
    assert field["path"] == "charts/web/values.yaml" and field["line"] == 1  # the values line a person edits


SECRET_VALUES = ("hunter2", "s3cr3t-new", "aHVudGVyMg==", "czNjcjN0LW5ldw==", "generated-old", "generated-new")


def test_a_secret_change_shows_that_it_changed_never_the_values(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {
        "argocd/web.yaml": application("web", "apps/web"),
        "apps/web/kustomization.yaml": "resources: [secret.yaml]\nsecretGenerator:\n  - name: generated\n"
                                       "    literals: [token=generated-old]\n",
        "apps/web/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
                                "  password: aHVudGVyMg==\n  user: YWRtaW4=\n"})
    repo.write({"apps/web/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
                                        "  password: czNjcjN0LW5ldw==\n  user: YWRtaW4=\n",
                "apps/web/kustomization.yaml": "resources: [secret.yaml]\nsecretGenerator:\n  - name: generated\n"
                                               "    literals: [token=generated-new]\n"})
    report = diff_json(repo, capsys)
    objects = {(o["status"], o["name"].split("-")[0]): o for o in app_of(report, "web")["objects"]}
    db = objects[("changed", "db")]
    assert db["secret"] is True
    assert db["fields"] == [{"pointer": "/data/password", "op": "replace", "hidden": True,
                             "path": "apps/web/secret.yaml", "line": 6}]
    assert "-  password: <hidden>" in db["diff"] and "+  password: '<hidden: changed>'" in db["diff"]
    # kustomize's secretGenerator names the Secret after its content: a new one, and the old one pruned
    assert {("added", "generated"), ("removed", "generated")} <= set(objects)
    for fmt in ("json", "text", "markdown"):
        _, out = run_diff(repo, capsys, fmt=fmt)
        assert not [v for v in SECRET_VALUES if v in out], fmt
        assert "YWRtaW4=" not in out  # an unchanged value is not shown either


def test_ignore_differences_json_pointers_and_jq_path_expressions_are_honoured(tmp_path, capsys):
    ignore = """\
        ignoreDifferences:
          - group: apps
            kind: Deployment
            jsonPointers: [/spec/replicas]
          - group: apps
            kind: Deployment
            jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "web") | .image']
        """
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "apps/web", extra=ignore),
                                  "apps/web/deployment.yaml": deployment()})
    repo.write({"apps/web/deployment.yaml": deployment(replicas=7, image="registry.example.com/web:9.9")})
    assert app_of(diff_json(repo, capsys), "web")["status"] == "unchanged"
    repo.write({"apps/web/deployment.yaml": deployment(replicas=7, image="registry.example.com/web:9.9").replace(
        "spec:\n  replicas", "spec:\n  revisionHistoryLimit: 3\n  replicas")})
    [changed] = app_of(diff_json(repo, capsys), "web")["objects"]
    assert [f["pointer"] for f in changed["fields"]] == ["/spec/revisionHistoryLimit"]


def test_an_application_added_at_head_is_all_added_and_one_removed_all_removed(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {"argocd/old.yaml": application("old", "apps/old"),
                                  "apps/old/deployment.yaml": deployment("old")})
    repo.remove("argocd/old.yaml", "apps/old/deployment.yaml")
    repo.write({"argocd/new.yaml": application("new", "apps/new"), "apps/new/deployment.yaml": deployment("new"),
                "apps/new/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n"})
    report = diff_json(repo, capsys)
    assert app_of(report, "new")["status"] == "added"
    assert {o["status"] for o in app_of(report, "new")["objects"]} == {"added"}
    assert [(o["status"], o["name"]) for o in app_of(report, "old")["objects"]] == [("removed", "old")]
    assert report["summary"]["applications"] == {"added": 1, "removed": 1, "changed": 0, "unchanged": 0}


APPSET = textwrap.dedent("""\
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata:
      name: envs
      namespace: argocd
    spec:
      generators:
        - list:
            elements:
              - env: dev
      template:
        metadata:
          name: 'web-{{env}}'
        spec:
          project: default
          source:
            repoURL: %s
            targetRevision: main
            path: 'envs/{{env}}'
          destination:
            server: https://kubernetes.default.svc
            namespace: 'web-{{env}}'
    """ % REPO_URL)  # noqa: UP031 - the YAML's braces are not placeholders


def appset_repo(tmp_path) -> Repo:
    repo = Repo(tmp_path / "r", {"argocd/root.yaml": application("root", "appsets", namespace="argocd"),
                                  "appsets/envs.yaml": APPSET,
                                  "envs/dev/deployment.yaml": deployment(), "envs/prod/deployment.yaml": deployment()})
    repo.write({"appsets/envs.yaml": APPSET.replace("- env: dev\n", "- env: dev\n          - env: prod\n")})
    return repo


def test_an_applicationset_element_added_is_a_change_of_the_applicationset(tmp_path, capsys):
    [changed] = app_of(diff_json(appset_repo(tmp_path), capsys), "root")["objects"]
    assert (changed["kind"], changed["name"]) == ("ApplicationSet", "envs")
    assert changed["fields"][0]["pointer"] == "/spec/generators/0/list/elements/1"
    assert changed["fields"][0]["new"] == {"env": "prod"}


def test_an_applicationset_element_added_is_a_new_application(tmp_path, capsys):
    report = diff_json(appset_repo(tmp_path), capsys)
    assert app_of(report, "web-prod")["status"] == "added"


def test_nothing_is_checked_out_over_the_working_tree(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "apps/web"),
                                  "apps/web/deployment.yaml": deployment()})
    repo.write({"apps/web/deployment.yaml": deployment(replicas=5), "apps/web/new.yaml": "kind: ConfigMap\n"})
    before = repo.git("status", "--porcelain"), (repo.root / "apps/web/deployment.yaml").read_text()
    diff_json(repo, capsys)
    assert (repo.git("status", "--porcelain"), (repo.root / "apps/web/deployment.yaml").read_text()) == before
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1


def test_head_revision_and_a_folder_of_the_repository(tmp_path, capsys):
    # PATH is read as the repository Argo CD sees (as validate reads it): source paths are relative to it
    repo = Repo(tmp_path / "r", {"gitops/argocd/web.yaml": application("web", "apps/web"),
                                  "gitops/apps/web/deployment.yaml": deployment()})
    repo.write({"gitops/apps/web/deployment.yaml": deployment(replicas=3)})
    head = repo.commit("three replicas")
    repo.write({"gitops/apps/web/deployment.yaml": deployment(replicas=9)})  # not committed: not in --head
    code = main(["diff", str(repo.root / "gitops"), "--base", "main~1", "--head", head, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["head"]["commit"] == head
    assert app_of(report, "web")["objects"][0]["fields"][0]["new"] == 3


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "apps/web"),
                                  "apps/web/deployment.yaml": deployment()})
    assert main(["diff", str(repo.root), "--base", "no-such-branch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--base no-such-branch: no such commit" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["diff", str(plain), "--base", "main"]) == 2
    assert "not in a git repository" in capsys.readouterr().err


def test_progress_goes_to_stderr_only_at_a_terminal(tmp_path):
    repo = Repo(tmp_path / "r", {"argocd/web.yaml": application("web", "apps/web"),
                                  "apps/web/deployment.yaml": deployment()})
    command = [sys.executable, "-m", "wavegate", "diff", str(repo.root), "--base", "main"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""
    leader, follower = pty.openpty()
    at_terminal = subprocess.run(command, stdout=subprocess.PIPE, stderr=follower, text=True, env=env, timeout=120)
    os.close(follower)
    shown = os.read(leader, 65536).decode()
    os.close(leader)
    assert at_terminal.returncode == 0
    assert "rendering the base (main" in shown and "rendered Applications: 1/1" in shown
    assert at_terminal.stdout == piped.stdout  # the report itself is the same
