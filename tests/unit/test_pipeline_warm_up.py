"""What the pipeline does while the loader's workers parse (pipeline._warm_up) changes no finding
and no error: it only does earlier, on the CPU the parse leaves idle, work the render and the
checks would do anyway."""

from __future__ import annotations

import pytest

from tests.helpers import write_repo
from wavegate import load as loader
from wavegate import pipeline
from wavegate.errors import ConfigError
from wavegate.findings import Finding
from wavegate.forked import Tickets
from wavegate.policy import model

URL = "https://gitlab.example.com/team/app.git"


def _app(i: int) -> dict[str, str]:
    return {
        f"apps/app{i}/deployment.yaml": f"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: web{i}, namespace: team}}
            spec:
              selector: {{matchLabels: {{app: web{i}}}}}
              template:
                metadata: {{labels: {{app: web{i}}}}}
                spec:
                  containers:
                    - name: main
                      image: nginx:1.27
                      securityContext: {{privileged: {"true" if i % 7 == 0 else "false"}}}
            """,
        f"apps/app{i}/config.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: config{i}, namespace: team, labels: {{app: "web{i}"}}}}
            data: {{replicas: "{i}"}}
            """,
    }


@pytest.fixture
def repo(tmp_path, monkeypatch):
    files = {"apps/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"}
    for i in range(40):
        files.update(_app(i))
    monkeypatch.setattr(loader, "MEANWHILE_PARALLEL_MIN_FILES", 20)
    monkeypatch.setattr(loader, "CHUNK_FILES", 4)
    monkeypatch.delenv("WAVEGATE_LOAD_WORKERS", raising=False)
    return write_repo(tmp_path / "repo", files)


def _findings(root, **options) -> list[tuple]:
    run = pipeline.validate(pipeline.Options(root=root, repo_url=URL, cache=False, **options))
    return [(f.rule, f.path, f.line, f.severity, f.message) for f in sorted(run.findings, key=Finding.sort_key)]


def test_the_findings_are_those_of_a_run_that_warms_up_nothing(repo, monkeypatch):
    steps = []
    real = pipeline._warm_up

    def counted(*args):
        for step in real(*args):
            steps.append(step)
            yield step

    monkeypatch.setattr(pipeline, "_warm_up", counted)
    warmed = _findings(repo)
    assert steps  # (the workers parsed, and this process worked meanwhile)
    assert [rule for rule, *_ in warmed] == ["policy-violation"] * 6  # (the privileged containers)
    monkeypatch.setattr(pipeline, "_warm_up", lambda *args: iter(()))
    assert _findings(repo) == warmed


def test_a_warm_up_that_finishes_leaves_the_policies_compiled(repo, monkeypatch):
    monkeypatch.setattr(Tickets, "left", lambda self: 1)  # (the parse never ends, as far as the warm-up knows)
    model._CACHE.clear()
    run = pipeline.prepare(pipeline.Options(root=repo, repo_url=URL, cache=False), checks_follow=True)
    policies = model.load_policies(None)
    assert run.loaded.manifests and policies.plans  # (compiled before the render asked)


def test_only_a_run_that_checks_warms_up(repo, monkeypatch):
    """diff, dry-run and status prepare a run but do not run the checks: the CPU that would go to
    preparing them parses instead."""
    steps = []
    monkeypatch.setattr(pipeline, "_warm_up", lambda *args: iter(steps.append(True) or ()))
    pipeline.prepare(pipeline.Options(root=repo, repo_url=URL, cache=False))
    assert steps == []
    pipeline.prepare(pipeline.Options(root=repo, repo_url=URL, cache=False), checks_follow=True)
    assert steps == [True]


def test_an_error_met_while_warming_up_is_reported_where_it_was(repo, monkeypatch):
    (repo / ".wavegate.yaml").write_text("kubernetesVersion: '0.9'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        _findings(repo)
    monkeypatch.setattr(pipeline, "_warm_up", lambda *args: iter(()))
    with pytest.raises(ConfigError) as unwarmed:
        _findings(repo)
    assert str(raised.value) == str(unwarmed.value)


def test_a_policy_directory_that_is_not_there_is_reported_as_without_the_warm_up(repo, monkeypatch):
    (repo / ".wavegate.yaml").write_text("policies: nowhere\n", encoding="utf-8")
    warmed = _findings(repo)
    assert [rule for rule, *_ in warmed] == ["policy-invalid"]
    monkeypatch.setattr(pipeline, "_warm_up", lambda *args: iter(()))
    assert _findings(repo) == warmed
