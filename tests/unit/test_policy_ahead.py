"""The policies evaluated ahead of the render (wavegate.policy.ahead) change no finding: a verdict of
the worker is taken only for an unchanged document in the namespace, and under the Namespace
object, that the worker saw; every other object is evaluated as before."""

from __future__ import annotations

import pytest

from tests.helpers import write_repo
from wavegate import pipeline
from wavegate.findings import Finding
from wavegate.policy import ahead
from wavegate.policy.model import load_policies

URL = "https://gitlab.example.com/team/app.git"

APPLICATION = f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: web
  source: {{repoURL: "{URL}", path: apps/web, targetRevision: main}}
  destination: {{server: "https://kubernetes.default.svc", namespace: team}}
"""


def _deployment(name: str, namespace: str | None, security: str = "{runAsNonRoot: true}") -> str:
    placed = f", namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}{placed}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: main
          image: nginx:1.27
          securityContext: {security}
"""


def _namespace(name: str, level: str) -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels: {{pod-security.kubernetes.io/enforce: {level}}}
"""


FILES = {
    "argocd/web.yaml": APPLICATION,
    "apps/web/namespace.yaml": _namespace("team", "restricted"),
    "apps/web/clean.yaml": _deployment("clean", "team"),
    "apps/web/privileged.yaml": _deployment("privileged", "team", "{privileged: true}"),
    "apps/web/host.yaml": _deployment("host", "team", "{runAsNonRoot: true, capabilities: {add: [NET_ADMIN]}}"),
    # Its namespace is the Application's: only the render knows it, so the worker leaves it.
    "apps/web/unplaced.yaml": _deployment("unplaced", None, "{privileged: true}"),
    # The worker reads `other` as privileged from a test fixture that nothing applies; the checks
    # see no Namespace object there (baseline): the worker's verdict must not be taken.
    "apps/web/other.yaml": _deployment("other", "other", "{privileged: true}"),
    "apps/testdata/other.yaml": _namespace("other", "privileged"),
    "apps/web/admins.yaml": """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: admins}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
        subjects: [{kind: ServiceAccount, name: deployer, namespace: team}]
        """,
}


def _findings(root) -> list[tuple]:
    run = pipeline.validate(pipeline.Options(root=root, repo_url=URL, cache=False))
    return [(f.rule, f.path, f.line, f.severity, f.message) for f in sorted(run.findings, key=Finding.sort_key)]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS", raising=False)
    monkeypatch.setattr(ahead, "_a_cpu_is_idle", lambda: True)  # (whatever else runs beside the tests)
    monkeypatch.setattr(ahead, "MIN_DOCUMENTS", 1)
    monkeypatch.setattr(ahead, "STOP_AT_COLLECT", False)  # (a small repository renders before the worker starts)
    return write_repo(tmp_path / "repo", FILES)


def test_findings_are_the_same_with_and_without_the_worker(repo, monkeypatch):
    taken: dict[str, bool] = {}
    real = ahead.Verdicts.violations

    def spy(self, manifest, env, store):
        found = real(self, manifest, env, store)
        taken[manifest.name] = found is not None
        return found

    monkeypatch.setattr(ahead.Verdicts, "violations", spy)
    with_worker = _findings(repo)
    # (`web`, the Application, is no kind of Kubernetes' own: the policies see it as before)
    assert taken == {"clean": True, "privileged": True, "host": True, "admins": True,
                     "unplaced": False, "other": False, "web": False}

    monkeypatch.setattr(ahead, "start", lambda *args: None)
    assert _findings(repo) == with_worker
    policies = {rule for rule, *_ in with_worker if rule.startswith("policy-")}
    assert policies  # (violations there are, from verdicts taken and from objects evaluated again)
    assert any(path == "apps/web/other.yaml" for rule, path, *_ in with_worker if rule in policies)


def test_a_worker_that_fails_leaves_the_findings_alone(repo, monkeypatch):
    expected = _findings(repo)

    def broken(*args):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(ahead, "_evaluate", broken)
    started = []
    real_start = ahead.start
    monkeypatch.setattr(ahead, "start", lambda *args: started.append(real_start(*args)) or started[-1])
    assert _findings(repo) == expected
    assert started and started[0] is not None


def test_the_worker_starts_only_where_it_pays(tmp_path, monkeypatch):
    from wavegate.load import load

    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS", raising=False)
    monkeypatch.setattr(ahead, "_a_cpu_is_idle", lambda: True)
    root = write_repo(tmp_path / "repo", FILES)
    loaded = load(root)
    assert ahead.start(loaded, None, "1.37") is None  # (six Deployments and a ClusterRoleBinding: too few)
    monkeypatch.setattr(ahead, "MIN_DOCUMENTS", 1)
    started = ahead.start(loaded, None, "1.37")
    assert started is not None and started.collect() is not None
    monkeypatch.setenv("WAVEGATE_CHECK_WORKERS", "1")  # (no second process wanted)
    assert ahead.start(loaded, None, "1.37") is None
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS")
    monkeypatch.setattr(ahead, "_a_cpu_is_idle", lambda: False)
    assert ahead.start(loaded, None, "1.37") is None
    monkeypatch.setattr(ahead, "_a_cpu_is_idle", lambda: True)
    assert ahead.start(load(root), tmp_path / "nowhere", "1.37") is None  # (the policy check reports it)
    loaded.parsed = set()  # (every file found in the cache: their results are kept there)
    assert ahead.start(loaded, None, "1.37") is None


def test_a_cpu_is_idle_when_no_other_task_runs_now(monkeypatch):
    monkeypatch.setattr(ahead.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(ahead, "_runnable_now", lambda: 1)  # (this process alone)
    monkeypatch.setattr(ahead.os, "getloadavg", lambda: (1.9, 1.0, 1.0))  # (the last minute's runs: not now)
    assert ahead._a_cpu_is_idle()
    monkeypatch.setattr(ahead, "_runnable_now", lambda: 2)  # (this process and another)
    assert not ahead._a_cpu_is_idle()
    monkeypatch.setattr(ahead.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(ahead, "_runnable_now", lambda: 1)
    assert not ahead._a_cpu_is_idle()  # (one CPU: nothing to gain)


def test_without_a_count_of_runnable_tasks_the_last_minute_decides(monkeypatch):
    monkeypatch.setattr(ahead.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(ahead, "_runnable_now", lambda: None)
    monkeypatch.setattr(ahead.os, "getloadavg", lambda: (1.2, 1.0, 1.0))  # (this process, and a little)
    assert ahead._a_cpu_is_idle()
    monkeypatch.setattr(ahead.os, "getloadavg", lambda: (1.9, 1.0, 1.0))  # (this process and another)
    assert not ahead._a_cpu_is_idle()


def test_the_runnable_count_is_read_where_linux_gives_it():
    import sys

    found = ahead._runnable_now()
    if sys.platform.startswith("linux"):
        assert found is not None and found >= 1  # (this process runs)
    else:
        assert found is None


def test_a_busy_cpu_is_seen_at_once():
    """A process that keeps a CPU busy is counted while it runs, not a minute later."""
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("the count of runnable tasks is Linux's (/proc/loadavg)")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        counts = [ahead._runnable_now() or 0 for _ in range(20)]
    finally:
        spinner.kill()
        spinner.wait()
    assert max(counts) >= 2  # (this process and the spinner)
def test_only_the_resources_the_policies_name_are_looked_at():
    policies = load_policies(None)
    named = ahead._resources_named(policies.policies.values())
    assert named is not None and {"deployments", "pods", "clusterrolebindings", "applications"} <= named
    assert "configmaps" not in named
    wildcard = next(iter(policies.policies.values()))
    spec = wildcard.manifest.data["spec"]
    rules = spec["matchConstraints"]["resourceRules"]
    try:
        rules.append({"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*"]})
        assert ahead._resources_named(policies.policies.values()) is None
    finally:
        rules.pop()


def test_the_worker_places_each_document_as_the_policy_check_would(tmp_path, monkeypatch):
    from wavegate.load import load
    from wavegate.policy.evaluate import Environment

    monkeypatch.setattr(ahead, "_a_cpu_is_idle", lambda: True)
    files = dict(FILES)
    files["apps/web/empty-namespace.yaml"] = _deployment("empty", '""')
    loaded = load(write_repo(tmp_path / "repo", files))
    policies = load_policies(None)
    env, eligible = ahead._to_judge(loaded, loaded.parsed, policies, "1.37")
    placed = Environment.of([*loaded.by_kind("Namespace", ""), *loaded.by_kind("CustomResourceDefinition")],
                            repo=loaded, plurals=policies.plurals).placed
    where = {manifest.name: placed_as for _, manifest, placed_as in eligible}
    assert where == {manifest.name: placed(manifest) for _, manifest, _ in eligible}
    assert set(where) == {"clean", "privileged", "host", "other", "admins", "empty"}
    assert where["empty"][2] == "default"  # (`namespace: ""` lands in default)


def _events(monkeypatch) -> list[str]:
    """What happens, in order: the checks starting, the worker collected, the checks' own fork."""
    from wavegate import forked, validators

    events: list[str] = []
    real_collect, real_fork, real_check = ahead.Ahead.collect, forked.Child.fork.__func__, validators.run_checks
    monkeypatch.setattr(ahead.Ahead, "collect", lambda self: events.append("collect") or real_collect(self))
    monkeypatch.setattr(forked.Child, "fork", classmethod(lambda cls, work: events.append("fork") or real_fork(cls, work)))
    monkeypatch.setattr(validators, "run_checks", lambda repo, ctx: events.append("checks") or real_check(repo, ctx))
    return events


def test_the_worker_judges_until_the_checks_fork_their_own(repo, monkeypatch):
    from wavegate import validators

    expected = _findings(repo)
    monkeypatch.setattr(validators, "PARALLEL_MIN_MANIFESTS", 1)
    events = _events(monkeypatch)
    assert _findings(repo) == expected
    # (the worker's fork, then the render; the checks work out what they share, then settle it, then fork)
    assert events == ["fork", "checks", "collect", "fork"]


def test_checks_in_one_process_settle_the_worker_when_the_policy_check_asks(repo, monkeypatch):
    from wavegate import validators
    from wavegate.validators import policy as policy_check

    expected = _findings(repo)
    monkeypatch.setattr(validators, "PARALLEL_MIN_MANIFESTS", 10**9)
    events = _events(monkeypatch)
    real = policy_check.check
    monkeypatch.setattr(policy_check, "check", lambda repo, ctx: events.append("policy") or real(repo, ctx))
    assert _findings(repo) == expected
    assert events == ["fork", "checks", "policy", "collect"]


def test_a_render_no_check_follows_settles_the_worker(repo):
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=repo, repo_url=URL, cache=False)))
    assert run.ctx.policy_ahead is None
    assert run.ctx.policy_verdicts is not None and run.ctx.policy_verdicts.by_document


def test_a_render_that_fails_stops_the_worker(repo, monkeypatch):
    from wavegate.errors import UsageError
    from wavegate.render import stage
    from wavegate.tools import ToolNotFoundError

    collected = []
    real_collect = ahead.Ahead.collect
    monkeypatch.setattr(ahead.Ahead, "collect", lambda self: collected.append(True) or real_collect(self))

    def missing(*args, **kwargs):
        raise ToolNotFoundError("helm is not installed")

    monkeypatch.setattr(stage, "render", missing)
    with pytest.raises(UsageError, match="cannot render this repository as Argo CD does: helm is not installed"):
        _findings(repo)
    assert collected == [True]
    monkeypatch.setattr(stage, "render", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _findings(repo)
    assert collected == [True, True]
