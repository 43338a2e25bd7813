"""--changed-since and --shard: a generated monorepo, real git, and the checks really run."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import write_repo
from wavegate import pipeline
from wavegate.findings import Finding, Severity
from wavegate.select import SelectError, changed_applications, filter_repo_files, layout, parse_shard, plan, shard

REPO_URL = "https://gitlab.example.com/platform/mono.git"
APPS = 30


def application(n: int) -> str:
    return f"""
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata:
      name: app{n:02d}
      namespace: argocd
      finalizers:
        - resources-finalizer.argocd.argoproj.io
    spec:
      project: mono
      source:
        repoURL: {REPO_URL}
        targetRevision: main
        path: apps/app{n:02d}
      destination:
        server: https://kubernetes.default.svc
        namespace: team-{n:02d}
      syncPolicy:
        syncOptions:
          - {"CreateNamespaces=true" if n % 5 == 0 else "PruneLast=true"}
    """


def app_files(n: int) -> dict[str, str]:
    wave = '"1.5"' if n % 3 == 0 else '"0"'
    ns_wave = '"2"' if n % 4 == 0 else '"-1"'
    return {
        f"argocd/app{n:02d}.yaml": application(n),
        f"apps/app{n:02d}/namespace.yaml": f"""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: team-{n:02d}
              annotations:
                argocd.argoproj.io/sync-wave: {ns_wave}
            """,
        f"apps/app{n:02d}/config.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: team-{n:02d}
              annotations:
                argocd.argoproj.io/sync-wave: {wave}
            data:
              replicas: "{n}"
            """,
    }


def monorepo(root: Path, apps: int = APPS) -> Path:
    files = {
        ".wavegate.yaml": f"repoURL: {REPO_URL}\nrules: {{schema-unknown-kind: off}}\n",
        "argocd/project.yaml": """
            apiVersion: argoproj.io/v1alpha1
            kind: AppProject
            metadata:
              name: mono
              namespace: argocd
              annotations:
                argocd.argoproj.io/sync-wave: "x"
            spec:
              sourceRepos: ["*"]
              destinations: [{server: https://kubernetes.default.svc, namespace: "*"}]
            """,
        "README.md": "# mono\n",
    }
    for n in range(1, apps + 1):
        files.update(app_files(n))
    return write_repo(root, files)


def validate(root: Path, **selection) -> list[Finding]:
    """What `wavegate validate [--changed-since REV] [--shard I/N]` reports (the CLI's code path)."""
    return pipeline.validate(pipeline.Options(root=root, **selection)).findings


def key(f: Finding) -> tuple:
    return (f.rule, f.path, f.line, f.column, f.message)


@pytest.fixture(scope="module")
def mono(tmp_path_factory):
    return monorepo(tmp_path_factory.mktemp("mono"))


@pytest.fixture(scope="module")
def single_run(mono):
    findings = validate(mono)
    assert len(findings) > 20, "the generated monorepo should have findings in many applications"
    return Counter(map(key, findings))


def test_applications_are_the_source_paths_and_their_declaring_files(mono):
    found = layout(mono)
    assert found.dirs == [f"apps/app{n:02d}" for n in range(1, APPS + 1)]
    assert found.application_of("argocd/app07.yaml") == "apps/app07"
    assert found.application_of("apps/app07/config.yaml") == "apps/app07"
    assert found.application_of("argocd/project.yaml") is None


@pytest.mark.parametrize("total", [1, 2, 3, 7])
def test_shards_together_report_exactly_the_single_run(mono, single_run, total):
    union: Counter = Counter()
    for index in range(1, total + 1):
        union.update(map(key, validate(mono, shard=f"{index}/{total}")))
    assert union == single_run  # same findings, none reported twice


@pytest.mark.parametrize("total", [2, 3, 7, 30, 40])
def test_shards_are_disjoint_balanced_and_cover_every_application(total):
    dirs = [f"apps/app{n:02d}" for n in range(1, APPS + 1)]
    parts = [shard(dirs, i, total) for i in range(1, total + 1)]
    assert sorted(d for part in parts for d in part) == sorted(dirs)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert parts == [shard(list(reversed(dirs)), i, total) for i in range(1, total + 1)]  # order-independent


def test_shard_assignment_is_a_stable_hash_not_pythons_salted_one():
    # Fixed expectation: any process, any PYTHONHASHSEED, any machine gives this split.
    import subprocess as sp
    import sys

    code = ("from wavegate.select import shard; "
            "print(shard([f'apps/a{i}' for i in range(10)], 2, 3))")
    outputs = {sp.run([sys.executable, "-c", code], capture_output=True, text=True,
                      env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}).stdout
               for seed in ("1", "2", "random")}
    assert len(outputs) == 1 and outputs.pop().strip() == str(shard([f"apps/a{i}" for i in range(10)], 2, 3))


def test_parse_shard():
    assert parse_shard("2/5") == (2, 5)
    assert parse_shard("auto", {"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}) == (3, 4)
    assert parse_shard("auto", {}) is None
    for bad in ("0/3", "4/3", "x", "1/0", ""):
        with pytest.raises(SelectError):
            parse_shard(bad)


def test_monorepo_without_applications_uses_top_level_dirs_under_apps_and_environments(tmp_path):
    write_repo(tmp_path, {
        "apps/web/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "apps/web/nested/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
        "environments/dev/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "apps/loose.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
        "base/e.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\n",
    })
    found = layout(tmp_path)
    assert found.dirs == ["apps/web", "environments/dev"]
    assert found.application_of("apps/web/nested/b.yaml") == "apps/web"
    assert filter_repo_files(found.files, ["environments/dev"], found) == \
           ["apps/loose.yaml", "base/e.yaml", "environments/dev/c.yaml"]


# -- --changed-since with real git ------------------------------------------------------------------

def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": "/usr/bin:/bin"}).stdout


@pytest.fixture()
def history(tmp_path):
    root = monorepo(tmp_path / "repo", apps=8)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def commit(root: Path, files: dict[str, str], message: str = "change") -> None:
    write_repo(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def test_changed_since_selects_only_touched_applications(history):
    commit(history, {"apps/app03/config.yaml": app_files(3)["apps/app03/config.yaml"].replace('"3"', '"33"')})
    commit(history, {"argocd/app05.yaml": application(5).replace("targetRevision: main", "targetRevision: HEAD")})
    assert changed_applications(history, "main") == {"apps/app03", "apps/app05"}
    # A change on main after the branch point is not ours (REV...HEAD diffs from the merge base).
    git(history, "checkout", "-q", "main")
    commit(history, {"apps/app07/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: team-07}\n"})
    git(history, "checkout", "-q", "feature")
    assert changed_applications(history, "main") == {"apps/app03", "apps/app05"}
    # Uncommitted work counts for local runs; a README does not select anything.
    write_repo(history, {"apps/app01/new.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: team-01}\n",
                         "README.md": "# changed\n"})
    assert changed_applications(history, "main") == {"apps/app01", "apps/app03", "apps/app05"}


def test_changed_since_reports_only_the_touched_applications_findings(history):
    commit(history, {"apps/app03/namespace.yaml": app_files(3)["apps/app03/namespace.yaml"] + "  labels: {a: b}\n"})
    findings = validate(history, changed_since="main")
    everything = validate(history)
    # The shared, unchanged argocd/project.yaml has findings in a full run; they are not this change's.
    assert any(f.path == "argocd/project.yaml" for f in everything)
    assert {f.path for f in findings} == {p for p in {f.path for f in everything}
                                         if p.startswith("apps/app03/") or p == "argocd/app03.yaml"}
    assert Counter(map(key, findings)) == Counter(
        key(f) for f in everything if f.path.startswith("apps/app03/") or f.path == "argocd/app03.yaml")


def test_changed_since_with_nothing_changed_reports_nothing(tmp_path):
    # examples/clean: a full run has no warnings; the selected run used to judge its
    # catalog-info.yaml against no Application at all (the Application file was not loaded).
    import shutil

    from tests.helpers import EXAMPLES

    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "clean", root)
    config = (root / ".wavegate.yaml").read_text()
    (root / ".wavegate.yaml").write_text(config.replace("../../templates/kro", str(EXAMPLES.parent / "templates" / "kro")))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    assert [f for f in validate(root) if f.severity >= Severity.WARNING] == []
    assert validate(root, changed_since="HEAD") == []


@pytest.mark.parametrize("shared", [".wavegate.yaml", "argocd/project.yaml", "schemas/crd.yaml"])
def test_changed_shared_configuration_selects_everything(history, shared):
    write_repo(history, {".wavegate.yaml": f"repoURL: {REPO_URL}\nschemas: [schemas]\nrules: {{schema-unknown-kind: off}}\n"})
    git(history, "add", "-A")
    git(history, "commit", "-q", "-m", "config")
    git(history, "branch", "-f", "base")
    commit(history, {shared: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: changed}\n"})
    assert changed_applications(history, "base", shared_paths=["schemas"]) is None
    selection = plan(history, changed_since="base", shared_paths=[history / "schemas"])
    assert selection.applications == layout(history).dirs and "every application" in selection.description


def test_changed_since_an_unknown_revision_is_a_clear_error(history):
    with pytest.raises(SelectError, match="fatal: .*no-such-branch.*GIT_DEPTH"):
        changed_applications(history, "no-such-branch")
    elsewhere = history.parent / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(SelectError, match="not inside a git work tree"):
        changed_applications(elsewhere, "main")
    with pytest.raises(SelectError, match="give a revision"):
        changed_applications(history, "--output=/tmp/x")


def test_changed_since_and_shard_combine(history):
    commit(history, {f"apps/app0{n}/config.yaml": app_files(n)[f"apps/app0{n}/config.yaml"] + "# touched\n"
                     for n in (1, 2, 4, 6)})
    picked = [plan(history, changed_since="main", shard_spec=f"{i}/2").applications for i in (1, 2)]
    assert sorted(picked[0] + picked[1]) == ["apps/app01", "apps/app02", "apps/app04", "apps/app06"]
    assert not set(picked[0]) & set(picked[1])
