"""A document that several Applications apply (one folder read by each Application an
ApplicationSet generates per cluster) is one rendered copy per Application, all sharing its data.
The per-object checks judge it once, and the policies evaluate it once per namespace it lands
in; every copy still carries its findings."""

from __future__ import annotations

import importlib

import wavegate.validators as validators
from tests.helpers import write_repo
from wavegate import pipeline

URL = "https://gitlab.example.com/team/app.git"


def _application(name: str, namespace: str, server: str = "https://kubernetes.default.svc") -> str:
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: "{URL}", path: apps/web, targetRevision: main}}
  destination: {{server: "{server}", namespace: {namespace}}}
"""


# An unknown field (a schema finding) and a privileged container (a Pod Security violation).
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  revisionHistoryLimt: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext: {privileged: true}
"""


def _run(tmp_path, cache: bool = False, without: tuple[str, ...] = ()):
    root = write_repo(tmp_path / "repo", {
        "argocd/eu.yaml": _application("web-eu", "team", "https://eu.example.com"),
        "argocd/us.yaml": _application("web-us", "team", "https://us.example.com"),
        "argocd/staging.yaml": _application("web-staging", "staging"),
        "apps/web/deployment.yaml": DEPLOYMENT,
    })
    for rel in without:
        (root / rel).unlink()
    options = pipeline.Options(root=root, repo_url=URL, cache=cache, cache_dir=tmp_path / "cache")
    return pipeline.render(pipeline.prepare(options))


def _copies(run) -> list:
    return [m for m in run.repo.manifests if m.kind == "Deployment"]


def _findings(run) -> list[tuple]:
    return [(f.rule, f.path, f.line, f.message) for f in pipeline.finish(run, pipeline.check(run))]


def test_each_copy_is_a_manifest_of_its_own_application_sharing_the_data(tmp_path):
    copies = _copies(_run(tmp_path))
    assert sorted(m.app.name for m in copies) == ["web-eu", "web-staging", "web-us"]
    assert len({id(m.data) for m in copies}) == 1


def test_a_per_object_check_judges_the_document_once_and_every_copy_has_its_findings(tmp_path):
    run = _run(tmp_path)
    judged = []

    def judge(manifest):
        judged.append(manifest.app.name)
        yield f"finding of {manifest.path}"

    found = list(validators.per_object(run.ctx, "counting", _copies(run), judge))
    assert len(judged) == 1
    assert found == ["finding of apps/web/deployment.yaml"] * 3


def test_policies_evaluate_the_document_once_per_namespace_and_each_copy_has_its_violation(tmp_path, monkeypatch):
    evaluate = importlib.import_module("wavegate.policy.evaluate")
    run = _run(tmp_path)
    evaluated = []
    real = evaluate.evaluate_one

    def counting(policies, policy, binding, target, matched=False):
        evaluated.append((policy.name, target.namespace))
        return real(policies, policy, binding, target, matched)

    monkeypatch.setattr(evaluate, "evaluate_one", counting)
    from wavegate.policy.model import policies_for

    env = evaluate.Environment.of(run.repo.manifests, repo=run.repo,
                                  default_namespace=lambda m: m.app.destination_namespace if m.app else None)
    violations = [v for v in evaluate.evaluate(policies_for(run.ctx), _copies(run), env)
                  if v.policy == "pod-security-baseline"]
    assert sorted(ns for name, ns in evaluated if name == "pod-security-baseline") == ["staging", "team"]
    assert sorted(v.manifest.app.name for v in violations) == ["web-eu", "web-staging", "web-us"]


def test_the_findings_are_those_of_each_copy_judged_alone(tmp_path, monkeypatch):
    shared = _findings(_run(tmp_path / "shared"))

    def judged_alone(judge):  # every copy judged, as before copies were recognised
        return lambda manifest: list(judge(manifest))

    monkeypatch.setattr(validators, "_judged_once", judged_alone)
    alone = _findings(_run(tmp_path / "alone"))
    assert shared == alone
    assert {"schema-unknown-field", "policy-violation"} <= {rule for rule, *_ in shared}


def test_with_the_cache_every_copy_keeps_its_own_results(tmp_path):
    """A copy's kept results are its own: once the Applications of the other copies are
    deleted, the copy left still has its findings."""
    first = _findings(_run(tmp_path, cache=True))
    again = _findings(_run(tmp_path, cache=True, without=("argocd/eu.yaml", "argocd/staging.yaml")))
    fresh = _findings(_run(tmp_path / "fresh", without=("argocd/eu.yaml", "argocd/staging.yaml")))
    assert {"schema-unknown-field", "policy-violation"} <= {rule for rule, *_ in first}
    assert again == fresh
    assert {"schema-unknown-field", "policy-violation"} <= {rule for rule, *_ in again}
