"""ApplicationSets expanded offline with Argo CD's own generators and templates (appset-batch).

The fixture repository tests/fixtures/appset/platform holds an ApplicationSet per generator kind,
in Go-template and fasttemplate flavours; the defects are written per test.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, write_repo
from wavegate.argocd.appset import Expander, describe_element, is_applicationset, known_clusters
from wavegate.config import ConfigError, load_config
from wavegate.findings import Severity
from wavegate.load import load
from wavegate.tools import find_tool

PLATFORM = REPO_ROOT / "tests" / "fixtures" / "appset" / "platform"
URL = "https://gitlab.example.com/platform/gitops.git"
IN_CLUSTER = "https://kubernetes.default.svc"


@pytest.fixture(scope="module", autouse=True)
def tool():
    """appset-batch must be installed: a missing one fails the tests (never a skip)."""
    return find_tool("appset-batch")


@pytest.fixture(scope="module")
def platform():
    repo = load(PLATFORM)
    with Expander(PLATFORM, URL, known_clusters(repo)) as expander:
        yield {Path(m.path).stem: (m, expander.expand(m)) for m in repo.manifests if is_applicationset(m)}


def summary(expansion) -> dict:
    """name -> (source path, destination server or name, destination namespace)."""
    found = {}
    for generated in expansion.generated:
        spec = generated.data["spec"]
        destination = spec["destination"]
        found[generated.name] = (spec["source"]["path"], destination.get("server") or destination.get("name"),
                                 destination.get("namespace"))
    return found


# What Argo CD v3.5.1 generates from each fixture: git directories in the repo-server's walk order
# without hidden folders or excluded paths, git files sorted by path, the clusters generator adding
# in-cluster when no selector is set and no Secret names it, merge overriding by its keys.
EXPECTED = {
    "list-go": {"web-staging": ("apps/web", IN_CLUSTER, "web-staging"),
                "web-prod": ("apps/web", IN_CLUSTER, "web-prod")},
    "list-fast": {"api-staging": ("apps/api", IN_CLUSTER, "api-staging"),
                  "api-prod": ("apps/api", IN_CLUSTER, "api-prod")},
    "git-directories-go": {"api-apps": ("apps/api", IN_CLUSTER, "api"), "web-apps": ("apps/web", IN_CLUSTER, "web")},
    "git-directories-fast": {"web-apps": ("apps/web", IN_CLUSTER, "web")},
    "git-files-go": {"web-prod": ("apps/web", "prod-eu", "web-eucentral1"),
                     "web-staging": ("apps/web", "staging", "web-euwest1")},
    "git-files-fast": {"api-prod": ("apps/api", "prod-eu", "api-prod"),
                       "api-staging": ("apps/api", "staging", "api-staging")},
    "clusters-go": {"monitoring-prod-eu": ("apps/web", "https://prod-eu.k8s.example.com", "monitoring-eu-central-1"),
                    "monitoring-staging": ("apps/web", "https://staging.k8s.example.com", "monitoring-eu-west-1")},
    "clusters-fast": {"ingress-prod-eu": ("apps/api", "https://prod-eu.k8s.example.com", "ingress-prod")},
    "matrix-go": {"api-staging": ("apps/api", IN_CLUSTER, "api-staging"),
                  "api-prod": ("apps/api", IN_CLUSTER, "api-prod"),
                  "web-staging": ("apps/web", IN_CLUSTER, "web-staging"),
                  "web-prod": ("apps/web", IN_CLUSTER, "web-prod")},
    "matrix-fast": {"api-prod": ("apps/api", "prod-eu", "api-prod"), "web-prod": ("apps/web", "prod-eu", "web-prod"),
                    "api-staging": ("apps/api", "staging", "api-staging"),
                    "web-staging": ("apps/web", "staging", "web-staging")},
    "merge-go": {"agent-prod-eu": ("apps/web", "https://prod-eu.k8s.example.com", "agent"),
                 "agent-staging": ("apps/web", "https://staging.k8s.example.com", "agent"),
                 "agent-in-cluster": ("apps/web", IN_CLUSTER, "agent")},
    "merge-fast": {"worker-prod": ("apps/api", "prod-eu", "worker"),
                   "worker-staging": ("apps/api", "staging", "worker")},
    "template-patch": {"docs-staging": ("apps/web", IN_CLUSTER, "docs-staging"),
                       "docs-prod": ("apps/web", IN_CLUSTER, "docs-prod")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_generator_kind_generates_what_argo_cd_generates(platform, name):
    manifest, expansion = platform[name]
    assert summary(expansion) == EXPECTED[name]
    assert expansion.complete and expansion.problems == []
    for generated in expansion.generated:
        assert generated.data["apiVersion"] == "argoproj.io/v1alpha1" and generated.data["kind"] == "Application"
        assert generated.data["metadata"]["namespace"] == "argocd"  # the ApplicationSet's namespace
        assert generated.appset is manifest


def test_the_fixture_has_an_applicationset_for_every_generator_kind_in_both_template_flavours(platform):
    assert set(platform) == set(EXPECTED)


def test_ordered_generators_keep_argo_cds_order(platform):
    assert list(summary(platform["git-directories-go"][1])) == ["api-apps", "web-apps"]  # the walk order
    assert list(summary(platform["git-files-go"][1])) == ["web-prod", "web-staging"]  # sorted file paths
    assert list(summary(platform["list-go"][1])) == ["web-staging", "web-prod"]  # the elements' order


def test_argo_cds_parameters_reach_the_template(platform):
    files = {g.name: g for g in platform["git-files-go"][1].generated}
    assert files["web-prod"].data["metadata"]["annotations"] == {"example.com/replicas": "3",
                                                                 "example.com/file": "config.yaml"}
    assert files["web-prod"].element["path"]["segments"] == ["envs", "prod"]
    fast = {g.name: g for g in platform["list-fast"][1].generated}
    assert fast["api-prod"].data["metadata"]["annotations"] == {"example.com/tier": "gold"}
    assert fast["api-prod"].element == {"env": "prod", "values.tier": "gold"}  # fasttemplate params are flat
    clusters = {g.name: g for g in platform["clusters-go"][1].generated}
    assert clusters["monitoring-staging"].element["project"] == "platform"  # from the Secret's base64 data
    assert clusters["monitoring-staging"].data["metadata"]["labels"] == {"env": "staging"}


def test_argo_cd_adds_the_resources_finalizer_when_the_template_has_none(platform):
    for generated in platform["list-go"][1].generated:
        assert generated.data["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    for number, line in enumerate(lines[start:], start + 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_generated_fields_point_at_the_template_line_that_wrote_them(platform):
    manifest, expansion = platform["list-go"]
    file = PLATFORM / manifest.path
    generated = expansion.generated[0]
    assert generated.location(("spec", "destination", "namespace")) == (
        manifest.path, line_of(file, "namespace: 'web-{{.env}}'"), 9)
    assert generated.location(("metadata", "labels", "env"))[1] == line_of(file, "env: '{{.env}}'")
    assert generated.location(("spec", "syncPolicy", "syncOptions", 0))[1] == line_of(file, "- CreateNamespace=true")
    # the finalizer Argo CD adds is reported where a person would write one: the template's metadata
    assert generated.origin(("metadata", "finalizers", 0)) == ("spec", "template", "metadata")
    # the namespace is the ApplicationSet's own
    assert generated.origin(("metadata", "namespace")) == ("metadata", "namespace")
    as_manifest = generated.manifest()
    assert as_manifest.data is generated.data and as_manifest.path == manifest.path
    assert as_manifest.position(("spec", "source", "path"))[0] == line_of(file, "path: apps/web")


def test_a_field_under_a_templated_key_points_at_that_key(platform):
    manifest, expansion = platform["clusters-go"]
    generated = expansion.generated[0]
    assert generated.origin(("spec", "destination", "server")) == ("spec", "template", "spec", "destination", "server")
    assert generated.location(("metadata", "labels", "env"))[1] == line_of(PLATFORM / manifest.path,
                                                                           "env: '{{.metadata.labels.env}}'")


def test_a_template_patch_is_applied_and_its_fields_point_into_the_patch(platform):
    manifest, expansion = platform["template-patch"]
    by_name = {g.name: g for g in expansion.generated}
    staging, prod = by_name["docs-staging"], by_name["docs-prod"]
    assert staging.data["spec"]["syncPolicy"] == {"automated": {"prune": True}}
    assert "syncPolicy" not in prod.data["spec"]
    assert staging.origin(("spec", "syncPolicy", "automated", "prune")) == ("spec", "templatePatch")
    file = PLATFORM / manifest.path
    assert staging.location(("spec", "syncPolicy", "automated", "prune"))[1] == line_of(file, "prune: true")
    assert staging.location(("spec", "syncPolicy"))[1] == line_of(file, "syncPolicy:")
    # what the patch does not touch still points at the template
    assert staging.location(("spec", "source", "path"))[1] == line_of(file, "path: apps/web")


def test_elements_are_described_by_their_own_values():
    assert describe_element({"env": "staging", "region": "eu"}) == "env=staging region=eu"
    assert describe_element({"path": {"path": "apps/web", "basename": "web", "segments": ["apps", "web"]}}) \
        == "path=apps/web"
    assert describe_element({"path": "apps/web", "path.basename": "web", "path[0]": "apps"}) == "path=apps/web"
    assert describe_element({"name": "prod", "nameNormalized": "prod", "server": "https://x", "project": "",
                             "metadata": {"labels": {"argocd.argoproj.io/secret-type": "cluster"}}}) \
        == "name=prod server=https://x"


# -- defects ---------------------------------------------------------------------------------------


def appset(spec: str, name: str = "web", go: bool = True, template: str | None = None) -> str:
    """An ApplicationSet: `spec` (generators, ...) and `template` (TEMPLATE when not given)."""
    header = (f"apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: {name}\n"
              f"  namespace: argocd\nspec:\n")
    if go:
        header += "  goTemplate: true\n  goTemplateOptions: [\"missingkey=error\"]\n"
    body = textwrap.dedent(spec).strip("\n") + "\n" + textwrap.dedent(TEMPLATE if template is None else template)
    return header + textwrap.indent(body.strip("\n"), "  ") + "\n"


TEMPLATE = """
template:
  metadata:
    name: 'web-{{.env}}'
  spec:
    project: platform
    source:
      repoURL: https://gitlab.example.com/platform/gitops.git
      path: 'envs/{{.env}}'
      targetRevision: HEAD
    destination:
      server: https://kubernetes.default.svc
      namespace: 'web-{{.env}}'
"""


def expand_one(root: Path, text: str, repo_url: str | None = URL, clusters: list | None = None, config=None):
    write_repo(root, {"appset.yaml": text})
    repo = load(root)
    (manifest,) = [m for m in repo.manifests if is_applicationset(m)]
    found = clusters if clusters is not None else known_clusters(repo, config.clusters if config else ())
    with Expander(root, repo_url, found) as expander:
        return manifest, expander.expand(manifest)


def test_an_element_whose_path_does_not_exist_still_generates_its_application(tmp_path):
    (tmp_path / "envs" / "staging").mkdir(parents=True)
    _, expansion = expand_one(tmp_path, appset("""
        generators:
          - list:
              elements:
                - env: staging
                - env: qa
        """))
    assert summary(expansion) == {"web-staging": ("envs/staging", IN_CLUSTER, "web-staging"),
                                  "web-qa": ("envs/qa", IN_CLUSTER, "web-qa")}
    qa = expansion.generated[1]
    assert qa.element_text == "env=qa"
    assert qa.location(("spec", "source", "path"))[1] == line_of(tmp_path / "appset.yaml", "path: 'envs/{{.env}}'")
    assert expansion.problems == []  # the render stage reports the path, at this line


def test_a_template_using_the_default_project_generates_applications_in_it(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - env: staging
        """, template=TEMPLATE.replace("project: platform", "project: default"))
    _, expansion = expand_one(tmp_path, text)
    (generated,) = expansion.generated
    assert generated.data["spec"]["project"] == "default"
    assert generated.manifest().position(("spec", "project"))[0] == line_of(tmp_path / "appset.yaml",
                                                                           "project: default")


def test_two_elements_generating_one_name_is_an_error_and_argo_cd_creates_neither(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod, cluster: eu}
                - {env: prod, cluster: us}
                - {env: staging, cluster: eu}
        """)
    manifest, expansion = expand_one(tmp_path, text)
    assert [g.name for g in expansion.generated] == ["web-staging"]
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-duplicate-name" and finding.severity == Severity.ERROR
    assert finding.line == line_of(tmp_path / "appset.yaml", "name: 'web-{{.env}}'")
    assert "2 Applications named web-prod" in finding.message
    assert "element env=prod cluster=eu and element env=prod cluster=us" in finding.message


def test_a_missing_key_under_missingkey_error_is_argo_cds_error_at_the_template_line(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: staging, region: eu}
                - {env: prod}
        """, template=TEMPLATE.replace("namespace: 'web-{{.env}}'", "namespace: 'web-{{.region}}'"))
    manifest, expansion = expand_one(tmp_path, text)
    assert [g.name for g in expansion.generated] == ["web-staging"]
    assert not expansion.complete
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-generation-failed" and finding.severity == Severity.ERROR
    assert finding.line == line_of(tmp_path / "appset.yaml", "namespace: 'web-{{.region}}'")
    assert finding.message == ('ApplicationSet web (element env=prod): failed to execute go template web-{{.region}}: '
                               'template: base:1:6: executing "base" at <.region>: map has no entry for key "region"')


def test_without_missingkey_error_a_missing_key_renders_as_go_does(tmp_path):
    text = appset("""
        goTemplate: true
        generators:
          - list:
              elements:
                - {env: prod}
        """, template=TEMPLATE.replace("namespace: 'web-{{.env}}'", "namespace: 'web-{{.region}}'"), go=False)
    _, expansion = expand_one(tmp_path, text)
    assert expansion.generated[0].data["spec"]["destination"]["namespace"] == "web-<no value>"
    assert expansion.problems == []


def test_a_template_syntax_error_is_reported_at_its_line(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod}
        """, template=TEMPLATE.replace("path: 'envs/{{.env}}'", "path: 'envs/{{.env'"))
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.line == line_of(tmp_path / "appset.yaml", "path: 'envs/{{.env'")
    assert "failed to parse template envs/{{.env: template: base:1: unclosed action" in finding.message
    assert expansion.generated == []


def test_a_template_patch_that_is_not_an_application_is_an_error_at_the_patch(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod}
        templatePatch: |
          spec:
            syncPolicy: [{{.env}}]
        """)
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-generation-failed"
    assert finding.line == line_of(tmp_path / "appset.yaml", "templatePatch:")
    assert "invalid templatePatch" in finding.message and "element env=prod" in finding.message
    assert expansion.generated == []


def test_a_generator_error_is_reported_at_the_generator(tmp_path):
    write_repo(tmp_path, {"envs/prod/config.yaml": "env: [unclosed\n"})
    text = appset(f"""
        generators:
          - git:
              repoURL: {URL}
              revision: HEAD
              files:
                - path: envs/*/config.yaml
        """)
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.line == line_of(tmp_path / "appset.yaml", "- git:")
    assert "unable to process file 'envs/prod/config.yaml'" in finding.message


def test_argo_cds_own_panic_on_a_generator_is_its_error_not_wavegates(tmp_path):
    """Merging a list element's nested `values` into the clusters generator's (a map of strings)
    panics inside Argo CD v3.5.1 (mergo); the controller recovers and the reconcile fails."""
    text = appset("""
        generators:
          - merge:
              mergeKeys: [name]
              generators:
                - clusters:
                    values: {channel: stable}
                - list:
                    elements:
                      - {name: prod, values: {channel: canary}}
        """, template=TEMPLATE.replace("{{.env}}", "{{.name}}"))
    _, expansion = expand_one(tmp_path, text, clusters=[{"name": "prod", "server": "https://prod.example.com"}])
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-generation-failed"
    assert "panics" in finding.message and "SetMapIndex" in finding.message


@pytest.mark.parametrize("generator, kind", [
    ("pullRequest: {gitlab: {project: '1'}}", "pullRequest"),
    ("scmProvider: {gitlab: {group: platform}}", "scmProvider"),
    ("clusterDecisionResource: {configMapRef: placement, name: quak}", "clusterDecisionResource"),
    ("plugin: {configMapRef: {name: plugin}}", "plugin"),
    ("matrix: {generators: [{list: {elements: [{env: a}]}}, {plugin: {configMapRef: {name: p}}}]}", "plugin"),
])
def test_a_generator_that_needs_a_live_system_is_one_info_finding(tmp_path, generator, kind):
    text = appset(f"""
        generators:
          - list:
              elements:
                - env: staging
          - {generator}
        """)
    _, expansion = expand_one(tmp_path, text)
    assert [g.name for g in expansion.generated] == ["web-staging"]  # the other generators still expand
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-not-expanded" and finding.severity == Severity.INFO
    assert finding.line == line_of(tmp_path / "appset.yaml", f"- {generator.split(':')[0]}:")
    assert kind in finding.message and expansion.complete


def test_the_clusters_generator_without_known_clusters_is_not_expanded(tmp_path):
    _, expansion = expand_one(tmp_path, appset("generators:\n  - clusters: {}\n"), clusters=[])
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-not-expanded" and "no cluster is known" in finding.message
    assert "clusters:" in finding.hint and expansion.generated == []


def test_clusters_listed_in_wavegate_yaml_are_argo_cds_clusters(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": """
        clusters:
          - name: prod-eu
            server: https://prod-eu.example.com
            labels: {env: prod}
          - name: dev
            server: https://dev.example.com
            labels: {env: dev}
        """})
    config = load_config(tmp_path)
    text = appset("""
        generators:
          - clusters:
              selector:
                matchLabels: {env: prod}
        """, template=TEMPLATE.replace("{{.env}}", "{{.name}}").replace(
        "server: https://kubernetes.default.svc", "server: '{{.server}}'"))
    _, expansion = expand_one(tmp_path, text, config=config)
    assert summary(expansion) == {"web-prod-eu": ("envs/prod-eu", "https://prod-eu.example.com", "web-prod-eu")}


def test_a_cluster_in_wavegate_yaml_needs_a_name_and_a_server(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "clusters:\n  - name: prod\n"})
    with pytest.raises(ConfigError, match="server"):
        load_config(tmp_path)


def test_cluster_secrets_are_read_as_the_api_server_stores_them(tmp_path):
    write_repo(tmp_path, {"secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata:
          name: c
          labels: {argocd.argoproj.io/secret-type: cluster, env: prod}
        data:
          name: cHJvZA==
          server: aHR0cHM6Ly9vbGQ=
        stringData:
          server: https://new
        """, "other.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  name: x\n"})
    assert known_clusters(load(tmp_path)) == [{"name": "prod", "server": "https://new", "annotations": {},
                                               "labels": {"argocd.argoproj.io/secret-type": "cluster",
                                                          "env": "prod"}}]


def git_dirs(directories: str, name: str = "'{{.path.path}}'") -> str:
    return appset(f"""
        generators:
          - git:
              repoURL: {URL}
              revision: HEAD
              directories:
{textwrap.indent(textwrap.dedent(directories).strip(), ' ' * 16)}
        template:
          metadata:
            name: {name}
          spec:
            project: platform
            source: {{repoURL: {URL}, path: '{{{{.path.path}}}}'}}
            destination: {{server: https://kubernetes.default.svc}}
        """, template="")


def test_git_generator_of_another_repository_is_not_expanded(tmp_path):
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "a.yaml").write_text("a: 1\n")
    text = git_dirs("- path: apps/*").replace(f"repoURL: {URL}\n", "repoURL: https://gitlab.example.com/other.git\n", 1)
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-not-expanded" and "https://gitlab.example.com/other.git" in finding.message


def test_with_no_known_url_a_git_generator_is_this_repository_when_its_paths_are_here(tmp_path):
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "a.yaml").write_text("a: 1\n")
    _, expansion = expand_one(tmp_path, git_dirs("- path: apps/*"), repo_url=None)
    assert [g.name for g in expansion.generated] == ["apps/web"] and expansion.problems == []
    _, expansion = expand_one(tmp_path, git_dirs("- path: services/*"), repo_url=None)
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-not-expanded" and "matches nothing" in finding.message


def test_the_same_repository_written_another_way_is_this_repository(tmp_path):
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "a.yaml").write_text("a: 1\n")
    _, expansion = expand_one(tmp_path, git_dirs("- path: apps/*"), repo_url="git@gitlab.example.com:platform/gitops")
    assert [g.name for g in expansion.generated] == ["apps/web"]


def test_git_directories_are_walked_as_the_repo_server_walks_them(tmp_path):
    for rel in ("a/x.yaml", "a/b/x.yaml", "a-c/x.yaml", ".hidden/x.yaml", "a/.git-crypt/x.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x: 1\n")
    _, expansion = expand_one(tmp_path, git_dirs("- path: '*'\n- path: '*/*'"))
    # depth first, each folder's entries by name ('a/b' before 'a-c'), hidden folders skipped
    assert [g.element["path"]["path"] for g in expansion.generated] == ["a", "a/b", "a-c"]


def test_git_files_are_matched_as_git_ls_files_matches_them_untracked_included_ignored_not(tmp_path):
    write_repo(tmp_path, {
        "envs/prod/config.yaml": "env: prod\n",
        "envs/eu/prod/config.yaml": "env: eu-prod\n",
        "envs/scratch/config.yaml": "env: scratch\n",
        ".gitignore": "envs/scratch/\n",
    })
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "envs/prod", ".gitignore"], check=True)
    text = appset(f"""
        generators:
          - git:
              repoURL: {URL}
              revision: HEAD
              files:
                - path: envs/*/config.yaml
        """)
    _, expansion = expand_one(tmp_path, text)
    # git's pathspec `*` also matches `/` (Argo CD's default, without new globbing); envs/eu/prod is
    # untracked but not ignored (the merge request adds it); envs/scratch is ignored
    assert sorted(g.name for g in expansion.generated) == ["web-eu-prod", "web-prod"]


def test_git_files_in_a_folder_that_is_not_a_repository_are_matched_the_same_way(tmp_path):
    write_repo(tmp_path, {"envs/prod/config.yaml": "env: prod\n", "envs/eu/prod/config.yaml": "env: eu-prod\n"})
    text = appset(f"""
        generators:
          - git:
              repoURL: {URL}
              revision: HEAD
              files:
                - path: envs/*/config.yaml
                - path: envs/eu/**
                  exclude: true
        """)
    _, expansion = expand_one(tmp_path, text)
    assert [g.name for g in expansion.generated] == ["web-prod"]


def test_an_entry_with_no_generator_argo_cd_knows_is_a_warning(tmp_path):
    text = appset("generators:\n  - lists:\n      elements: [{env: dev}]\n")
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-generator-unrecognized" and finding.severity == Severity.WARNING
    assert finding.line == line_of(tmp_path / "appset.yaml", "- lists:")


def test_one_process_expands_many_applicationsets(tmp_path):
    texts = [appset("generators:\n  - list:\n      elements: [{env: e" + str(i) + "}]\n", name=f"s{i}")
             for i in range(60)]
    write_repo(tmp_path, {"appsets.yaml": "---\n".join(texts)})
    repo = load(tmp_path)
    with Expander(tmp_path, URL, []) as expander:
        names = [g.name for m in repo.manifests for g in expander.expand(m).generated]
        assert expander._process is not None
    assert names == [f"web-e{i}" for i in range(60)]


def test_one_process_sees_the_clusters_each_request_names(tmp_path):
    """The helper builds its Kubernetes client once per set of clusters: a request naming other
    clusters must not be answered with the clusters of the one before."""
    text = appset("generators:\n  - clusters: {}\n", template=TEMPLATE.replace("{{.env}}", "{{.name}}").replace(
        "server: https://kubernetes.default.svc", "server: '{{.server}}'"))
    write_repo(tmp_path, {"appset.yaml": text})
    (manifest,) = [m for m in load(tmp_path).manifests if is_applicationset(m)]
    first = [{"name": "prod", "server": "https://prod.example.com"}]
    second = [{"name": "dev", "server": "https://dev.example.com"}, {"name": "qa", "server": "https://qa.example.com"}]
    with Expander(tmp_path, URL, first) as expander:
        names = [sorted(g.name for g in expander.expand(manifest).generated)]
        expander.clusters = second
        names.append(sorted(g.name for g in expander.expand(manifest).generated))
        expander.clusters = first
        names.append(sorted(g.name for g in expander.expand(manifest).generated))
    assert names == [["web-in-cluster", "web-prod"], ["web-dev", "web-in-cluster", "web-qa"],
                     ["web-in-cluster", "web-prod"]]


def _many(tmp_path, count: int) -> list:
    texts = [appset("generators:\n  - list:\n      elements: [{env: e" + str(i) + "}]\n", name=f"s{i}")
             for i in range(count)]
    write_repo(tmp_path, {"appsets.yaml": "---\n".join(texts)})
    return [m for m in load(tmp_path).manifests if is_applicationset(m)]


def test_all_requests_at_once_give_what_one_at_a_time_gives(tmp_path):
    appsets = _many(tmp_path, 12)
    with Expander(tmp_path, URL, []) as expander:
        together = [[(g.name, g.data) for g in e.generated] for e in expander.expand_all(appsets)]
        alone = [[(g.name, g.data) for g in expander.expand(m).generated] for m in appsets]
    assert together == alone and [names[0][0] for names in together] == [f"web-e{i}" for i in range(12)]


def test_an_expander_left_between_answers_is_usable_again(tmp_path):
    """Answers not taken would answer the next request: the helper is started again instead."""
    appsets = _many(tmp_path, 6)
    with Expander(tmp_path, URL, []) as expander:
        expansions = expander.expand_all(appsets)
        first = next(expansions)
        with pytest.raises(RuntimeError, match="every expansion of expand_all"):
            expander.expand(appsets[3])  # (the same thread, between two answers: never a hang)
        expansions.close()
        assert [g.name for g in first.generated] == ["web-e0"]
        assert [g.name for g in expander.expand(appsets[4]).generated] == ["web-e4"]


def _expanded_with_cache(root: Path, cache) -> list[list[str]]:
    appsets = [m for m in load(root).manifests if is_applicationset(m)]
    with Expander(root, URL, [], cache=cache) as expander:
        return [sorted(g.name for g in e.generated) for e in expander.expand_all(appsets)]


def _no_helper(monkeypatch) -> None:
    """From now on the helper cannot start: every answer must come from the cache."""
    def refused(self):
        raise OSError("the helper was asked")

    monkeypatch.setattr(Expander, "_started", refused)


def test_an_answer_is_kept_and_read_back_until_the_applicationset_changes(tmp_path, monkeypatch):
    from wavegate.cache import Cache

    repo, cache = tmp_path / "repo", Cache(tmp_path / "cache")
    _many(repo, 3)
    first = _expanded_with_cache(repo, cache)
    assert first == [["web-e0"], ["web-e1"], ["web-e2"]]
    appsets = repo / "appsets.yaml"
    appsets.write_text(appsets.read_text().replace("e1}", "e9}"))
    assert _expanded_with_cache(repo, cache) == [["web-e0"], ["web-e9"], ["web-e2"]]
    _no_helper(monkeypatch)
    assert _expanded_with_cache(repo, cache) == [["web-e0"], ["web-e9"], ["web-e2"]]
    appsets.write_text(appsets.read_text().replace("e2}", "e8}"))
    with pytest.raises(OSError, match="the helper was asked"):
        _expanded_with_cache(repo, cache)


def test_a_git_generator_is_never_answered_from_the_cache(tmp_path, monkeypatch):
    """It reads the repository's files, which the request does not hold."""
    from wavegate.cache import Cache

    cache = Cache(tmp_path / "cache")
    write_repo(tmp_path / "repo", {"envs/prod/app.yaml": "a: 1\n", "appset.yaml": appset("""
        generators:
          - matrix:
              generators:
                - git: {repoURL: "https://gitlab.example.com/platform/gitops.git", revision: HEAD,
                        directories: [{path: envs/*}]}
                - list: {elements: [{tier: web}]}
        """, template=TEMPLATE.replace("{{.env}}", "{{.path.basename}}"))})
    assert _expanded_with_cache(tmp_path / "repo", cache) == [["web-prod"]]
    write_repo(tmp_path / "repo", {"envs/dev/app.yaml": "a: 1\n"})
    assert _expanded_with_cache(tmp_path / "repo", cache) == [["web-dev", "web-prod"]]
    _no_helper(monkeypatch)
    with pytest.raises(OSError, match="the helper was asked"):
        _expanded_with_cache(tmp_path / "repo", cache)


def test_an_applicationset_file_is_read_as_argo_cd_reads_it(tmp_path):
    """Argo CD reads manifests with sigs.k8s.io/yaml (YAML 1.1 as go-yaml v2 resolves it): `y` is
    true, `1e3` is 1000 and `12:30:00` a string there (PyYAML would read `y` as a string and
    `12:30:00` as a sexagesimal number). wavegate's loader and the expansion both type as Argo CD."""
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod, flag: y, size: 1e3, at: 12:30:00}
        """, template=TEMPLATE.replace("name: 'web-{{.env}}'",
                                       "name: 'web-{{.env}}'\n    annotations:\n      seen: '{{ toJson . }}'"))
    manifest, expansion = expand_one(tmp_path, text)
    element = manifest.data["spec"]["generators"][0]["list"]["elements"][0]
    assert (element["flag"], element["size"], element["at"]) == (True, 1000, "12:30:00")  # wavegate's loader
    (generated,) = expansion.generated
    assert generated.data["metadata"]["annotations"]["seen"] == \
        '{"at":"12:30:00","env":"prod","flag":true,"size":1000}'


def test_a_generators_own_template_wins_and_its_fields_point_there(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod}
              template:
                metadata: {}
                spec:
                  project: team
                  destination:
                    namespace: 'team-{{.env}}'
        """)
    _, expansion = expand_one(tmp_path, text)
    (generated,) = expansion.generated
    assert generated.data["spec"]["project"] == "team"
    assert generated.data["spec"]["destination"] == {"server": IN_CLUSTER, "namespace": "team-prod"}
    assert generated.origin(("spec", "project")) == ("spec", "generators", 0, "list", "template", "spec", "project")
    assert generated.location(("spec", "destination", "namespace"))[1] == line_of(tmp_path / "appset.yaml",
                                                                                 "namespace: 'team-{{.env}}'")
    assert generated.origin(("spec", "source", "path")) == ("spec", "template", "spec", "source", "path")
    assert generated.origin(("spec", "destination", "server")) == ("spec", "template", "spec", "destination", "server")
    assert generated.origin(("metadata", "finalizers")) == ("spec", "template", "metadata")


def test_a_generator_selector_keeps_the_elements_it_matches(tmp_path):
    text = appset("""
        generators:
          - list:
              elements:
                - {env: prod, tier: gold}
                - {env: staging, tier: silver}
            selector:
              matchExpressions:
                - {key: tier, operator: In, values: [gold]}
        """)
    _, expansion = expand_one(tmp_path, text)
    assert [g.name for g in expansion.generated] == ["web-prod"]


def test_git_generator_values_are_templated_with_its_parameters(tmp_path):
    write_repo(tmp_path, {"envs/prod/a.yaml": "a: 1\n"})
    text = appset(f"""
        generators:
          - git:
              repoURL: {URL}
              revision: HEAD
              directories:
                - path: envs/*
              values:
                env: '{{{{path.basename}}}}'
        """, go=False, template=TEMPLATE.replace("{{.env}}", "{{values.env}}"))
    _, expansion = expand_one(tmp_path, text)
    assert summary(expansion) == {"web-prod": ("envs/prod", IN_CLUSTER, "web-prod")}
    assert expansion.generated[0].element["values.env"] == "prod"


def test_an_applicationset_argo_cd_cannot_decode_is_an_error_at_its_generators(tmp_path):
    text = appset("generators:\n  list:\n    elements: [{env: prod}]\n")
    _, expansion = expand_one(tmp_path, text)
    (finding,) = expansion.problems
    assert finding.rule == "applicationset-generation-failed" and "cannot be read" in finding.message
    assert finding.line == line_of(tmp_path / "appset.yaml", "generators:")


def test_a_run_that_expanded_an_applicationset_is_kept_only_for_that_build_of_the_helper(tmp_path):
    """A whole run kept in the cache is answered again only while the tools it ran are the same
    builds (RunStore): the helper is one of them."""
    from wavegate import pipeline

    write_repo(tmp_path, {"appset.yaml": appset("generators:\n  - list:\n      elements: [{env: prod}]\n")})
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=tmp_path, repo_url=URL, cache=False)))
    assert "appset-batch" in pipeline._tools_used(run)
