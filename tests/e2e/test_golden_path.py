"""The golden path as a user runs it: `wavegate init`, then `wavegate validate`, in real processes;
and the origin's skeleton rendered by the same renderer, to show which of its defects ours avoids."""

import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.helpers import REPO_ROOT, shared
from wavegate.load import parse_documents, read_yaml
from wavegate.scaffold.render import render_text, render_tree

ORIGIN = shared("reference", "appmod-blueprints", "at-7e8ddfab", "platform", "backstage", "templates", "cicd-pipeline")
KRO_SCHEMAS = REPO_ROOT / "templates" / "kro"


def run(*args, cwd=None, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})}
    environment.pop("CI_PROJECT_URL", None)
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=120)


def init_command() -> list[str]:
    return ["-m", "wavegate", "init"]


def write_values(path, **values):
    path.write_text("".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items()))
    return path


MATRIX = [
    ("single", dict(appname="web", aws_region="us-west-2", aws_account_id="123456789012",
                    gitlab_hostname="gitlab.example.com", argocd_hostname="argocd.example.com",
                    git_username="platform", cluster_name="peeks-hub-cluster",
                    dockerfile_path=".", deployment_path="./deployment")),
    ("single", dict(appname="a1", aws_region="eu-central-1", aws_account_id="000000000001",
                    gitlab_hostname="git.internal:8443", argocd_hostname="cd.internal",
                    git_username="team/sub-group", cluster_name="1234", aws_resource_prefix="acme",
                    dockerfile_path="./services/api", deployment_path="./deploy/k8s", created_by="jane.doe",
                    namespace="payments")),
    ("single", dict(appname="x" * 49, aws_region="eu-west-1", aws_account_id="999999999999",
                    gitlab_hostname="gitlab.com", argocd_hostname="argocd.example.org",
                    git_username="u", cluster_name="c", dockerfile_path="./a", deployment_path="./b")),
    ("environments", dict(appname="orders", aws_region="us-east-1", aws_account_id="210987654321",
                          gitlab_hostname="gitlab.example.com", argocd_hostname="argocd.example.com",
                          git_username="platform", cluster_name="hub-east",
                          dockerfile_path=".", deployment_path="./deployment")),
    ("environments", dict(appname="yes", aws_region="eu-west-1", aws_account_id="012345678901",
                          gitlab_hostname="gitlab.example.com", argocd_hostname="argocd.example.com",
                          git_username="true", cluster_name="no", created_by="null",
                          dockerfile_path="./on", deployment_path="./off")),
]


@pytest.mark.parametrize("variant, values", MATRIX, ids=[f"{v}-{d['appname'][:8]}" for v, d in MATRIX])
def test_init_output_passes_validate_with_nothing_at_warning_or_above(tmp_path, variant, values):
    target = tmp_path / "repo"
    done = run(*init_command(), target, "--values", write_values(tmp_path / "values.yaml", **values),
               "--variant", variant)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    done = run("-m", "wavegate", "validate", target, "--schemas", KRO_SCHEMAS, "--format", "json", "--fail-on", "warning")
    report = json.loads(done.stdout)
    serious = [f"{f['rule']} {f['path']}:{f['line']}: {f['message']}" for f in report["findings"]
               if f["severity"] in ("error", "warning")]
    assert serious == [] and done.returncode == 0, serious or done.stderr
    # YAML-lookalike values (yes, true, no, null, 1234, leading zeros) stay strings where they land.
    pipelines = sorted(target.rglob("kro-cicd-pipeline.yaml"))
    for path in pipelines:
        spec = read_yaml(path)[0][0].data["spec"]
        assert spec["aws"]["accountId"] == values["aws_account_id"]
        assert spec["aws"]["clusterName"] == values["cluster_name"]
        assert spec["gitlab"]["username"] == values["git_username"]


def test_every_region_the_template_offers_passes_the_default_policies(tmp_path):
    from wavegate.scaffold.init import AWS_REGIONS

    for region in AWS_REGIONS:
        target = tmp_path / region
        values = write_values(tmp_path / f"{region}.yaml", **{**MATRIX[0][1], "aws_region": region})
        assert run(*init_command(), target, "--values", values).returncode == 0
        done = run("-m", "wavegate", "validate", target, "--schemas", KRO_SCHEMAS, "--format", "json", "--fail-on", "never")
        rules = {f["rule"] for f in json.loads(done.stdout)["findings"] if f["rule"].startswith("policy")}
        assert not rules, (region, rules)


def test_init_errors_are_one_line_each_and_exit_2(tmp_path):
    values = write_values(tmp_path / "values.yaml", appname="Web", aws_region="mars-1", aws_account_id="1",
                          gitlab_hostname="https://gitlab.example.com", argocd_hostname="argocd.example.com",
                          git_username="platform", cluster_name="c", dockerfile_path="src",
                          deployment_path="./deployment")
    done = run(*init_command(), tmp_path / "repo", "--values", values)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("wavegate init: ") for line in lines)
    assert not (tmp_path / "repo").exists()  # nothing written when anything is wrong


def test_init_refuses_a_non_empty_directory(tmp_path):
    values = write_values(tmp_path / "values.yaml", **MATRIX[0][1])
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "x").write_text("x")
    done = run(*init_command(), tmp_path / "repo", "--values", values)
    assert done.returncode == 2 and "--force" in done.stderr
    assert run(*init_command(), tmp_path / "repo", "--values", values, "--force").returncode == 0


def test_lint_template_command(tmp_path):
    done = run(*init_command(), "--lint-template")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(*init_command(), "--lint-template", ORIGIN / "template-cicd-pipeline-gitops.yaml")
    assert done.returncode == 1 and "values.gituser" in done.stdout and "[value-not-passed]" in done.stdout


def test_an_sdist_carries_the_skeletons_including_dotfiles(tmp_path):
    """The package data reaches templates/ through symbolic links; a build copies the files behind them."""
    source = tmp_path / "src-tree"
    subprocess.run(["cp", "-a", str(REPO_ROOT / "pyproject.toml"), str(REPO_ROOT / "README.md"), str(tmp_path)], check=True)
    source.mkdir()
    for rel in ("pyproject.toml", "README.md"):
        (source / rel).write_bytes((REPO_ROOT / rel).read_bytes())
    subprocess.run(["cp", "-a", str(REPO_ROOT / "src"), str(source / "src")], check=True)
    subprocess.run(["cp", "-a", str(REPO_ROOT / "templates"), str(source / "templates")], check=True)
    done = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                           "print(b.build_sdist(sys.argv[1]))", str(tmp_path / "dist")],
                          cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    archive = tmp_path / "dist" / done.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
    prefix = "src/wavegate/scaffold/templates/"
    expected = [f"{prefix}backstage/template-cicd-pipeline-gitops.yaml",
                f"{prefix}backstage/skeleton/manifests/kro-cicd-pipeline.yaml",
                f"{prefix}backstage/skeleton/.gitlab-ci.yml",
                f"{prefix}backstage/skeleton/.wavegate.yaml",
                f"{prefix}backstage/skeleton-environments/environments/prod/namespace.yaml",
                f"{prefix}kro/cicd-pipeline-rgd.yaml",
                f"{prefix}argocd/argocd-cm-kro-health.yaml"]
    missing = [name for name in expected if name not in names]
    assert not missing, f"missing from the sdist (pyproject package-data needs \"scaffold/**/.*\"?): {missing}"
    assert all(members[name].isfile() for name in expected)  # real files, not links


# --- the origin, rendered by the same renderer -------------------------------------------------------

ORIGIN_CONTEXT = {
    "values": dict(appname="web", namespace="team-web", aws_region="us-west-2", aws_account_id="123456789012",
                   gitlab_hostname="gitlab.example.com", argocd_hostname="argocd.example.com",
                   git_username="platform", cluster_name="peeks-hub-cluster", aws_resource_prefix="peeks",
                   dockerfile_path=".", deployment_path="./deployment", created_by="jdoe",
                   # Backstage renders a value the template never passes as an empty string.
                   gituser=""),
    "parameters": dict(appname="web", aws_region="us-west-2", cluster_name="peeks-hub-cluster",
                       dockerfile_path=".", deployment_path="./deployment"),
    "steps": {"fetchSystem": {"output": {"entity": {"spec": {
        "aws_account_id": "123456789012", "gitlab_hostname": "gitlab.example.com",
        "argocd_hostname": "argocd.example.com", "gituser": "platform"}}}}},
    "user": {"entity": {"metadata": {"name": "jdoe"}}},
}


def render_origin(target):
    """The origin repository as Backstage would produce it, plus the Argo CD objects its template
    applies inline (written to argocd/ so they are checked too)."""
    render_tree(ORIGIN / "skeleton", target, ORIGIN_CONTEXT)
    template = read_yaml(ORIGIN / "template-cicd-pipeline-gitops.yaml")[0][0].data
    (target / "argocd").mkdir()
    for step in template["spec"]["steps"]:
        if step["action"] == "kubernetes:apply":
            (target / "argocd" / f"{step['id']}.yaml").write_text(render_text(step["input"]["manifest"], ORIGIN_CONTEXT))
    (target / ".wavegate.yaml").write_text(
        "repoURL: https://gitlab.example.com/platform/web-cicd.git\nargocd:\n  version: 3\n  requireResourcesFinalizer: true\n")
    return target


def ours(target):
    values = {k: v for k, v in ORIGIN_CONTEXT["values"].items() if k != "gituser"}
    values_path = write_values(target.parent / "values.yaml", **values)
    assert run(*init_command(), target, "--values", values_path).returncode == 0
    return target


def validate(target) -> list[dict]:
    done = run("-m", "wavegate", "validate", target, "--schemas", KRO_SCHEMAS, "--format", "json", "--fail-on", "never")
    return json.loads(done.stdout)["findings"]


def objects(root):
    found = []
    for path in sorted(root.rglob("*.yaml")):
        documents, _ = parse_documents(path.name, path.read_text(), require_object=False)
        found += [(path.relative_to(root).as_posix(), d.data) for d in documents]
    return found


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    origin = render_origin(tmp_path_factory.mktemp("origin") / "repo")
    our = ours(tmp_path_factory.mktemp("ours") / "repo")
    return (origin, validate(origin)), (our, validate(our))


# Defects wavegate's rules find in the origin and must not find in ours: (rule, file it points at).
RULE_DEFECTS = [
    ("kro-instance-as-hook", "manifests/kro-cicd-pipeline.yaml"),             # Sync hook + BeforeHookCreation
    ("argocd-finalizer-as-annotation", "argocd/create-argocd-app.yaml"),      # finalizer written as an annotation
    ("argocd-tracking-label-in-git", "manifests/namespace.yaml"),             # argocd.argoproj.io/instance by hand
    ("object-duplicate", "manifests/workflow-rbac.yaml"),                     # the Namespace, twice
    ("yaml-duplicate-key", "manifests/workflow-rbac.yaml"),                   # a missing `---` merges two objects
]


@pytest.mark.parametrize("rule, path", RULE_DEFECTS, ids=[r for r, _ in RULE_DEFECTS])
def test_rule_found_defects_of_the_origin_that_ours_avoids(both, rule, path):
    (_, origin_findings), (_, our_findings) = both
    assert any(f["rule"] == rule and f["path"] == path for f in origin_findings), \
        sorted({(f["rule"], f["path"]) for f in origin_findings})
    assert not [f for f in our_findings if f["rule"] == rule]


def test_structural_defects_of_the_origin_that_ours_avoids(both):
    (origin, _), (our, _) = both
    origin_objects, our_objects = objects(origin), objects(our)

    def apps(found):
        return [(p, d) for p, d in found if d.get("kind") == "Application"]

    def projects(found):
        return [d for _, d in found if d.get("kind") == "AppProject"]

    # 1. Applications inside the synced folder (manifests/): an Application managing its siblings.
    assert any(p.startswith("manifests/") for p, _ in apps(origin_objects))
    assert apps(our_objects) and not any(p.startswith("manifests/") for p, _ in apps(our_objects))
    # 2. project: default
    assert any(d["spec"]["project"] == "default" for _, d in apps(origin_objects))
    assert all(d["spec"]["project"] != "default" for _, d in apps(our_objects))
    # 3. an AppProject that allows every cluster-scoped (and namespaced) kind
    origin_project, our_project = projects(origin_objects)[0], projects(our_objects)[0]
    assert {"group": "*", "kind": "*"} in origin_project["spec"]["clusterResourceWhitelist"]
    assert our_project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace", "name": "team-web"}]
    assert our_project["spec"]["namespaceResourceWhitelist"] == [{"group": "kro.run", "kind": "CICDPipeline"}]
    assert [d["namespace"] for d in our_project["spec"]["destinations"]] == ["team-web"]
    assert any(d["namespace"] == "argocd" for d in origin_project["spec"]["destinations"])
    # 4. values.gituser, never passed, renders to an empty path segment in the repoURL
    assert any("https://gitlab.example.com//web" in d["spec"]["source"]["repoURL"] for _, d in apps(origin_objects))
    assert all("//" not in d["spec"]["source"]["repoURL"].split("://", 1)[1] for _, d in apps(our_objects))
    # 5. CreateNamespace=true next to a Namespace manifest, and ignoreDifferences on /status (Argo CD 3 ignores it)
    origin_app = next(d for p, d in apps(origin_objects) if p.startswith("argocd/"))
    assert "CreateNamespace=true" in origin_app["spec"]["syncPolicy"]["syncOptions"]
    assert origin_app["spec"]["ignoreDifferences"][0]["jsonPointers"] == ["/status"]
    our_app = apps(our_objects)[0][1]
    assert "CreateNamespace=true" not in our_app["spec"]["syncPolicy"].get("syncOptions", [])
    assert "ignoreDifferences" not in our_app["spec"]
    # 6. the finalizer is in metadata.finalizers
    assert "argocd.argoproj.io/finalizer" in origin_app["metadata"]["annotations"]
    assert our_app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    # 7. the account id lands as a string the RGD's pattern accepts (the origin never passes it to the instance)
    origin_pipeline = next(d for _, d in origin_objects if d.get("kind") == "CICDPipeline")
    our_pipeline = next(d for _, d in our_objects if d.get("kind") == "CICDPipeline")
    assert "accountId" not in origin_pipeline["spec"]["aws"]
    assert our_pipeline["spec"]["aws"]["accountId"] == "123456789012"
