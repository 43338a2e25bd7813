"""`wavegate validate` and `wavegate dry-run --cluster local` give the same verdict, object by object,
on the repositories the test suite keeps: the examples, and a repository of the API-server checks'
own cases (tests/unit/test_apiserver_checks.py, tests/unit/test_api_versions.py), synced by an
Argo CD Application.

An object's verdict is "refused" when validate reports an error of a rule that speaks for the API
server (the differential fuzz's SERVER_RULES, and policy violations, since the dry-run installs
the same policies), or when the dry-run's server refuses it. Rules about Argo CD, kro and the
repository (sync options, hooks, waves, namespaces nobody creates) have no server verdict and are
not compared. What remains for the issue: the fixtures the lead's render stage adds (kustomize,
helm, ApplicationSets) join this list when render lands.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import EXAMPLES, write_repo
from tests.integration.test_server_differential import SERVER_RULES
from tests.unit.test_apiserver_checks import CASES
from wavegate import pipeline
from wavegate.cluster import LocalCluster
from wavegate.config import load_config
from wavegate.dryrun.run import dry_run, prerequisites
from wavegate.policy import builtin_policy_dir

pytestmark = pytest.mark.integration

REPO_URL = "https://gitlab.example.com/team/app.git"
VERDICT_RULES = SERVER_RULES | {"policy-violation"}
# (repository, file) -> why validate and the dry-run disagree on it.
DISAGREEMENTS: dict[tuple[str, str], str] = {
    ("server-checks", "manifests/object-name-invalid-5-good.yaml"):
        "a ConfigMap with only generateName: the API server creates it (validate judges the name it would "
        "generate), but server-side apply, which the dry-run uses as Argo CD's sync does, needs a name (Argo CD "
        "creates generateName objects only as hooks)",
}

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: server-checks
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: checks
  source: {repoURL: "%s", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: checks}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
""" % REPO_URL  # noqa: UP031 - the YAML's braces are not placeholders


def _cases_repository(root):
    """Every bad and good document of the unit cases, each in a namespace of its own (so that two
    cases' objects never meet), synced by one Application."""
    files = {"argocd/application.yaml": APPLICATION}
    for rule, cases in CASES.items():
        for i, (bad, _, _, good) in enumerate(cases):
            for verdict, text in (("bad", bad), ("good", good)):
                namespace = f"{rule}-{i}-{verdict}"[:63].rstrip("-")
                tag = f"c{len(files)}"  # CRDs of their own groups (the dry-run applies each for real)
                files[f"manifests/{rule}-{i}-{verdict}.yaml"] = (
                    text.replace("namespace: team", f"namespace: {namespace}").replace("example", f"{tag}example")
                    + f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n")
    return write_repo(root, files)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster() as running:
        yield running


def _verdicts(root, cluster) -> tuple[dict, dict]:
    config = load_config(root)
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root, repo_url=config.repo_url or REPO_URL)))
    ctx = run.ctx
    findings = pipeline.finish(run, pipeline.check(run))
    ours: dict[tuple[str, str], set[str]] = {}
    for finding in findings:
        if finding.severity.name == "ERROR" and finding.rule in VERDICT_RULES and finding.resource is not None:
            ours.setdefault((finding.path, finding.resource.identity()), set()).add(finding.rule)
    report = dry_run(ctx, cluster, prerequisites(tuple(str(p) for p in config.schemas), str(builtin_policy_dir())))
    if not report.applied:  # nothing synced (an Application whose path does not exist): the repository's verdict
        errors = {f.rule for f in findings if f.severity.name == "ERROR"}
        return ({"repository": errors} if errors else {}, {"repository": report.findings} if report.findings
                else {}), {"repository"}
    theirs: dict[tuple[str, str], str] = {}
    for applied in report.applied:
        key = (applied.manifest.path, applied.manifest.ref.identity())
        if not applied.outcome.applied:
            theirs[key] = applied.outcome.message
    compared = {(a.manifest.path, a.manifest.ref.identity()) for a in report.applied}
    return ({k: v for k, v in ours.items() if k in compared}, theirs), compared


@pytest.mark.parametrize("name", ["clean", "defects", "server-checks"])
def test_validate_and_dry_run_agree_on_every_object(tmp_path, cluster, name):
    root = EXAMPLES / name if name != "server-checks" else _cases_repository(tmp_path / name)
    (ours, theirs), compared = _verdicts(root, cluster)
    assert compared, f"{name}: the dry-run applied nothing"
    disagreements = {}
    for key in compared:
        refused_here, refused_there = key in ours, key in theirs
        if key == "repository":  # compared as a whole
            assert refused_here and refused_there and name == "defects", (ours, theirs)
            continue
        if refused_here != refused_there and (name, key[0]) not in DISAGREEMENTS:
            disagreements[key] = (f"validate: {sorted(ours[key]) if refused_here else 'accepts'}; "
                                  f"dry-run: {theirs.get(key, 'accepts')}")
    assert disagreements == {}, textwrap.indent("\n".join(f"{k}: {v}" for k, v in sorted(disagreements.items())), "  ")
    if name == "server-checks":  # the cases refuse what their names say, on the server too
        refused_files = {path for path, _ in theirs}
        named = {path for _, path in DISAGREEMENTS}
        assert {p for p in (k[0] for k in compared) if p.endswith("-bad.yaml")} <= refused_files
        assert not {p for p in refused_files - named if p.endswith("-good.yaml")}
