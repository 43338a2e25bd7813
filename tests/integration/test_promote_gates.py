"""Promotion gates read from a real API server: dev's Argo CD Application (the real CRD) on the
local control plane, with real git for the promoted commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_promote_git import identity, world  # noqa: F401 - fixtures
from tests.integration.test_status import cluster, put_application  # noqa: F401 - the cluster fixture
from wavegate.promote.gates import freeze_gate, parse_duration
from wavegate.promote.run import prepare, promote

pytestmark = pytest.mark.integration


def synced(revision: str, ago: timedelta, sync="Synced", health="Healthy") -> dict:
    finished = (datetime.now(UTC) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"sync": {"status": sync, "revision": revision}, "health": {"status": health},
            "operationState": {"phase": "Succeeded", "finishedAt": finished}}


def gates_of(prepared) -> dict:
    return {g.name: g for g in prepared.gates}


def test_health_and_soak_gates_pass_from_a_synced_healthy_application(world, cluster):  # noqa: F811
    commit = world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    put_application(cluster.api_client(), "web-cicd-dev", "environments/dev", synced(commit, timedelta(hours=2)))
    prepared, outcome = promote(world.options(skip_gates=False, cluster=cluster))
    gates = gates_of(prepared)
    assert not prepared.blocked and outcome.action == "committed"
    assert gates["healthy"].passed and f"Synced and Healthy at {commit[:12]}" in gates["healthy"].evidence
    assert gates["soak"].passed and "staging requires 1h soak" in gates["soak"].evidence
    description = world.mrs()[0]["description"]
    assert "| healthy | ✅ passed | Application argocd/web-cicd-dev Synced and Healthy" in description
    from tests.integration.test_promote_git import git

    message = git(world.bare, "log", "-1", "--format=%B", outcome.commit)
    assert "Gate-Healthy: passed: Application argocd/web-cicd-dev Synced and Healthy" in message
    assert "Gate-Soak: passed:" in message and "Gate-Skipped" not in message


def test_a_revision_with_the_same_folder_content_counts_as_synced(world, cluster):  # noqa: F811
    synced_commit = world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    world.edit("staging", 'dockerfilePath: "."', 'dockerfilePath: "."  # staging note')  # dev unchanged
    put_application(cluster.api_client(), "web-cicd-dev", "environments/dev", synced(synced_commit, timedelta(hours=2)))
    prepared = prepare(world.options(skip_gates=False, cluster=cluster))
    assert gates_of(prepared)["healthy"].passed
    assert "same dev content" in gates_of(prepared)["healthy"].evidence


def test_unhealthy_or_other_revision_blocks_with_what_to_wait_for(world, cluster):  # noqa: F811
    old = world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    commit = world.edit("dev", 'deploymentPath: "./deployment"', 'deploymentPath: "./deploy"')
    api = cluster.api_client()
    put_application(api, "web-cicd-dev", "environments/dev", synced(old, timedelta(hours=2), health="Degraded"))
    prepared, outcome = promote(world.options(skip_gates=False, cluster=cluster))
    healthy = gates_of(prepared)["healthy"]
    assert outcome.action == "blocked" and not healthy.passed
    assert "health is Degraded" in healthy.evidence and f"not {commit[:12]}" in healthy.evidence
    assert f"wait until Argo CD has synced dev at {commit[:12]}" in healthy.wait
    assert world.remote_tip("wavegate/promote-dev-to-staging") is None and world.mrs() == []


def test_soak_not_reached_says_until_when(world, cluster):  # noqa: F811
    commit = world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    put_application(cluster.api_client(), "web-cicd-dev", "environments/dev", synced(commit, timedelta(minutes=20)))
    prepared = prepare(world.options(skip_gates=False, cluster=cluster))
    soak = gates_of(prepared)["soak"]
    assert not soak.passed and "staging requires 1h soak; dev synced 20m ago at" in soak.evidence
    assert soak.wait.startswith("wait until ") and ("(40m from now)" in soak.wait or "(39m from now)" in soak.wait)
    assert any(reason.startswith("gate soak:") for reason in prepared.blocked)


def test_missing_application_blocks(world, cluster):  # noqa: F811
    from kubernetes import client

    world.edit("dev", 'dockerfilePath: "."', 'dockerfilePath: "./app"')
    try:
        client.CustomObjectsApi(cluster.api_client()).delete_namespaced_custom_object(
            "argoproj.io", "v1alpha1", "argocd", "applications", "web-cicd-dev")
    except client.rest.ApiException:
        pass
    prepared = prepare(world.options(skip_gates=False, cluster=cluster))
    healthy = gates_of(prepared)["healthy"]
    assert not healthy.passed and "not found" in healthy.evidence and "does not exist" in healthy.wait


def test_freeze_windows_and_durations():
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    saturday = monday + timedelta(days=5)
    weekend = [{"days": ["sat", "sun"], "reason": "no weekend deploys"}]
    assert freeze_gate("prod", weekend, monday).passed
    gate = freeze_gate("prod", weekend, saturday)
    assert not gate.passed and "no weekend deploys" in gate.evidence and gate.wait == "wait until 2026-11-30 00:00 UTC"
    window = [{"start": "2026-12-20", "end": "2027-01-02", "reason": "holidays"}]
    gate = freeze_gate("prod", window, datetime(2026, 12, 24, tzinfo=UTC))
    assert not gate.passed and gate.wait == "wait until 2027-01-03 00:00 UTC"
    assert freeze_gate("prod", window, monday).passed and freeze_gate("prod", [], monday) is None
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30) and parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError):
        parse_duration("soon")
