"""Long CEL programs compiled in one run are read back in the next (wavegate.cel.keep_programs,
wavegate.cache.ProgramStore): the same verdicts, without compiling again."""

from __future__ import annotations

import pytest

from wavegate import cel
from wavegate.cache import Cache, ProgramStore
from wavegate.policy.model import VARIABLES, load_policies


class _Counting:
    """A CEL runtime environment that counts the expressions it compiles."""

    def __init__(self, env):
        self.env, self.compiled = env, 0

    def compile(self, expression, *args, **kwargs):
        self.compiled += 1
        return self.env.compile(expression, *args, **kwargs)

    def deserialize(self, serialized):
        return self.env.deserialize(serialized)


@pytest.fixture(autouse=True)
def without_shipped_programs(monkeypatch):
    """These tests are about the programs a cache keeps: the ones wavegate ships compiled
    (cel.shipped_program, tested in test_policy_projection.py) are left out."""
    monkeypatch.setattr(cel, "_shipped", {})


@pytest.fixture
def kept(tmp_path):
    store = ProgramStore(Cache(tmp_path / "cache"))
    cel.keep_programs(store)
    yield store
    cel.keep_programs(None)


def _fresh() -> tuple[cel.Environment, _Counting]:
    environment = cel.Environment(VARIABLES)  # (not the shared one: nothing compiled in it yet)
    counting = environment._env = _Counting(environment._env)
    return environment, counting


def _deployment(privileged: bool) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "securityContext": {"privileged": privileged}}]}}}}


def _holds(environment: cel.Environment, expression: str, privileged: bool) -> bool:
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "team"}}}
    return environment.evaluate(expression, {"object": _deployment(privileged), "namespaceObject": namespace,
                                             "params": {"data": {"defaultLevel": "baseline"}}, "request": {},
                                             "variables": {}}) is True


def test_a_long_program_is_read_back_instead_of_compiled(kept):
    expression = load_policies(None).policies["pod-security-baseline"].all_hold
    assert expression is not None and len(expression) >= cel.KEPT_MIN_LENGTH
    first, compiling = _fresh()
    verdicts = (_holds(first, expression, False), _holds(first, expression, True))
    assert compiling.compiled == 1
    assert verdicts == (True, False)

    second, reading = _fresh()
    assert (_holds(second, expression, False), _holds(second, expression, True)) == verdicts
    assert reading.compiled == 0


def test_a_kept_program_that_does_not_read_back_is_compiled_again(kept):
    expression = load_policies(None).policies["pod-security-baseline"].all_hold
    environment, _ = _fresh()
    kept.put(environment.identity, expression, b"not a serialized program")
    assert _holds(environment, expression, False)
    assert environment._env.compiled == 1


def test_short_programs_and_other_environments_are_not_shared(kept, tmp_path):
    environment, counting = _fresh()
    environment.compile("object.metadata.name == 'web'")
    assert not (tmp_path / "cache" / "cel-programs").exists()
    expression = load_policies(None).policies["pod-security-baseline"].all_hold
    environment.compile(expression)
    other = cel.Environment(("object", "params"))
    assert kept.get(other.identity, expression) is None
    assert kept.get(environment.identity, expression) is not None


def test_the_pipeline_keeps_programs_only_with_the_cache_on_and_during_its_run(tmp_path):
    from tests.helpers import write_repo
    from wavegate import pipeline

    root = write_repo(tmp_path / "repo", {"deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: team}\n"
        "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers: [{name: web, image: nginx}]\n")})
    cel.environment.cache_clear()  # (what tests before compiled in this process is not compiled again)
    pipeline.validate(pipeline.Options(root=root, cache_dir=tmp_path / "cache"))
    assert list((tmp_path / "cache" / "cel-programs").rglob("*.marshal"))
    assert cel._kept_programs is None  # (a run's cache is not written after its checks)
    run = pipeline.render(pipeline.prepare(pipeline.Options(root=root, cache=False)))
    assert cel._kept_programs is None
    pipeline.check(run)
