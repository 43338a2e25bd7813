"""Every rule's bad example fires it at the documented line; its good example does not fire it.

The examples are the files `wavegate explain` and docs/rules.md show
(src/wavegate/data/rule-examples/<rule-id>/, see wavegate.rule_examples). Each runs through the
command that raises its rule: `validate` (the whole pipeline), `dry-run` (against the real
kube-apiserver of the local cluster) or `merge-request` (validate in a GitLab merge-request
pipeline, against the GitLab test double). A rule without an example folder fails here.
"""

from __future__ import annotations

import contextlib
import datetime
import types
from pathlib import Path

import pytest

from wavegate import pipeline
from wavegate.findings import Finding
from wavegate.rule_examples import RuleExamples, examples
from wavegate.rules import all_rules

pytestmark = pytest.mark.integration

RULES = [rule.id for rule in all_rules()]


@pytest.fixture(scope="module")
def cluster():
    """One local control plane for every dry-run example (the examples use distinct names and groups)."""
    from wavegate.cluster import LocalCluster

    with LocalCluster() as running:
        yield running


@contextlib.contextmanager
def double(name: str | None):
    """The test double an example's expect.yaml names (`double:`): what the bad example runs under."""
    with pytest.MonkeyPatch.context() as patch:
        if name == "no-jq-helper":  # wavegate installed without scripts/install-tools' wavegate-jq
            from wavegate import tools

            real = tools.find_tool

            def find_tool(tool):
                if tool == "wavegate-jq":
                    raise tools.ToolNotFoundError(f"{tool} not found: " + tools.INSTALL_HINT.format(name=tool))
                return real(tool)

            patch.setattr(tools, "find_tool", find_tool)
        elif name == "failing-check":  # a check with a bug (internal-error): it raises whatever the repository holds
            import wavegate.validators.objects as objects

            def check(repo, ctx):
                raise KeyError("metadata")

            patch.setattr(objects, "check", check)
        elif name is not None:
            raise AssertionError(f"unknown test double {name!r}")
        yield


def pipeline_environment(found: RuleExamples, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI variables the command reads: a GitLab merge-request pipeline (!1, no diff base, so every
    exception counts as new) for `run: merge-request`, none otherwise (the suite may run in one)."""
    for name in ("GITLAB_CI", "CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        monkeypatch.delenv(name, raising=False)
    if found.run == "merge-request":
        monkeypatch.setenv("GITLAB_CI", "true")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "1")


def on_day(found: RuleExamples, monkeypatch: pytest.MonkeyPatch) -> None:
    """`today:` of expect.yaml as the day exceptions are judged on (they expire relative to it)."""
    if found.today is None:
        return
    from wavegate.policy import exceptions

    day = datetime.date.fromisoformat(found.today)

    class Day(datetime.date):
        @classmethod
        def today(cls):
            return day

    monkeypatch.setattr(exceptions, "datetime", types.SimpleNamespace(date=Day, timedelta=datetime.timedelta,
                                                                      datetime=datetime.datetime))


def findings_of(found: RuleExamples, variant: str, root: Path, cluster=None) -> list[Finding]:
    """What the example's command reports for its `variant` ("bad" or "good") written at `root`."""
    getattr(found, variant).write(root)
    options = pipeline.Options(root=root, repo_url=found.repo_url, engine=found.engine, cache=False)
    if found.run != "dry-run":
        return pipeline.validate(options).findings
    from wavegate.dryrun.run import dry_run, prerequisites
    from wavegate.policy import builtin_policy_dir

    run = pipeline.render(pipeline.prepare(options))
    extra = prerequisites(tuple(run.ctx.config.schemas), str(run.ctx.config.policies or builtin_policy_dir()), root)
    report = dry_run(run.ctx, cluster, extra)
    return pipeline.finish(run, list(run.repo.problems) + report.findings)


def relative(path: str, root: Path) -> str:
    """A finding's path as expect.yaml writes it: a policy directory's files are named absolutely
    (it is usually outside the repository), the repository's own relative to it."""
    return Path(path).relative_to(root).as_posix() if Path(path).is_absolute() and Path(path).is_relative_to(root) else path


def test_every_rule_has_an_example_folder():
    missing = [rule for rule in RULES if examples(rule) is None]
    assert not missing, f"rules without src/wavegate/data/rule-examples/<id>/ (CONTRIBUTING.md): {missing}"


@pytest.mark.parametrize("rule", RULES)
def test_the_bad_example_fires_its_rule_where_it_says_and_the_good_one_does_not(rule, tmp_path, monkeypatch, request):
    found = examples(rule)
    assert found is not None, f"{rule} has no example folder src/wavegate/data/rule-examples/{rule}/"
    assert found.at or found.note, f"{rule}/expect.yaml: `at:` names no FILE:LINE, and no `note:` says why"
    cluster = request.getfixturevalue("cluster") if found.run == "dry-run" else None
    pipeline_environment(found, monkeypatch)
    on_day(found, monkeypatch)
    with double(found.double):  # the bad example's circumstances; the good one runs as installed
        bad = findings_of(found, "bad", tmp_path / "bad", cluster)
    good = findings_of(found, "good", tmp_path / "good", cluster)
    fired = sorted({(relative(f.path, tmp_path / "bad"), f.line) for f in bad if f.rule == rule})
    if not found.at:  # no repository can raise it: the note says why, and the claim is checked here
        assert fired == [], f"{rule} fires at {fired}: write that place as `at:` in its expect.yaml, drop the note"
    assert fired == sorted(set(found.at)), (
        f"{rule}: the bad example fires it at {fired}, expect.yaml says {list(found.at)}; "
        f"everything it reports: {[(f.rule, f.path, f.line, f.message) for f in bad]}")
    assert [f for f in good if f.rule == rule] == [], f"{rule}: the good example fires it"
    assert not any(f.rule == "internal-error" for f in good), f"{rule}: the good example breaks a check: {good}"
