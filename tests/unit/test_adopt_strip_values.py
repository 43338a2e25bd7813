"""wavegate adopt without a cluster: stripping, value derivation, errors, the written repository."""

from __future__ import annotations

import json

import pytest
import yaml

from wavegate.scaffold.adopt import (
    LAST_APPLIED,
    AdoptError,
    check_takeover,
    derive_values,
    read_extra_values,
    strip,
    write_repository,
)
from wavegate.scaffold.adopt.write import _dump


def live(**overrides):
    obj = {
        "apiVersion": "kro.run/v1alpha1",
        "kind": "CICDPipeline",
        "metadata": {
            "name": "web-cicd-pipeline", "namespace": "team-web", "uid": "5a1c", "resourceVersion": "812",
            "generation": 3, "creationTimestamp": "2025-01-01T00:00:00Z", "generateName": "web-",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
            "labels": {"team": "payments", "kro.run/owned": "true", "kro.run/kro-version": "v0.4.0",
                       "internal.kro.run/x": "y"},
            "annotations": {LAST_APPLIED: json.dumps({"spec": {}}), "backstage.io/created-by": "jane",
                            "owner": "payments"},
            "finalizers": ["kro.run/finalizer", "example.com/keep"],
        },
        "spec": {
            "name": "web-cicd", "namespace": "team-web",
            "aws": {"region": "us-west-2", "accountId": "012345678901", "clusterName": "peeks-hub-cluster",
                    "resourcePrefix": "peeks"},
            "application": {"name": "web", "dockerfilePath": ".", "deploymentPath": "./deployment"},
            "gitlab": {"hostname": "gitlab.example.com", "username": "platform"},
        },
        "status": {"state": "ACTIVE"},
    }
    for key, value in overrides.items():
        obj[key] = value
    return obj


def test_strip_removes_what_the_server_and_kro_own_and_keeps_what_people_wrote():
    clean, removed = strip(live())
    meta = clean["metadata"]
    assert "status" not in clean
    assert set(meta) == {"name", "namespace", "labels", "annotations", "finalizers"}
    assert meta["labels"] == {"team": "payments"}
    assert meta["annotations"] == {"backstage.io/created-by": "jane", "owner": "payments"}
    assert meta["finalizers"] == ["example.com/keep"]
    assert clean["spec"] == live()["spec"]  # defaults (resourcePrefix: peeks) are kept
    assert {"status", "metadata.uid", "metadata.managedFields", "metadata.generateName",
            f"metadata.annotations[{LAST_APPLIED}]", "metadata.labels[kro.run/owned]",
            "metadata.finalizers[kro.run/finalizer]"} <= set(removed)


def test_strip_does_not_touch_its_input():
    obj = live()
    strip(obj)
    assert obj == live()


@pytest.mark.parametrize("meta, says", [
    ({"ownerReferences": [{"kind": "Platform", "name": "p", "uid": "1"}]}, "is owned by Platform/p"),
    ({"deletionTimestamp": "2025-01-01T00:00:00Z"}, "is being deleted"),
    ({"annotations": {"argocd.argoproj.io/tracking-id": "other:kro.run/CICDPipeline:team-web/web"}},
     "already tracked by an Argo CD Application"),
])
def test_objects_that_must_not_be_adopted_are_refused(meta, says):
    obj = live()
    obj["metadata"].update(meta)
    with pytest.raises(AdoptError) as error:
        strip(obj)
    assert says in str(error.value) and "CICDPipeline team-web/web-cicd-pipeline" in str(error.value)


def test_values_come_from_the_instance_and_the_rest_from_values():
    values, notes = derive_values(live(), {"argocd_hostname": "argocd.example.com"})
    assert values == {
        "appname": "web", "namespace": "team-web", "aws_region": "us-west-2", "aws_account_id": "012345678901",
        "cluster_name": "peeks-hub-cluster", "aws_resource_prefix": "peeks", "dockerfile_path": ".",
        "deployment_path": "./deployment", "gitlab_hostname": "gitlab.example.com", "git_username": "platform",
        "created_by": "jane", "argocd_hostname": "argocd.example.com"}
    assert notes == []


def test_a_missing_value_names_the_values_key_to_supply():
    obj = live()
    del obj["spec"]["gitlab"]
    with pytest.raises(AdoptError) as error:
        derive_values(obj, {})
    problems = error.value.problems
    assert "CICDPipeline team-web/web-cicd-pipeline: argocd_hostname is missing (the cluster cannot tell it); " \
           "add `argocd_hostname: ...` to the --values file" in problems
    assert any("gitlab_hostname is missing (the instance has no spec.gitlab.hostname); add `gitlab_hostname: ...`"
               in p for p in problems)
    values, _ = derive_values(obj, {"argocd_hostname": "a.example.com", "gitlab_hostname": "git.example.com",
                                    "git_username": "team"})
    assert values["gitlab_hostname"] == "git.example.com"


def test_values_that_contradict_the_cluster_are_refused():
    with pytest.raises(AdoptError, match="--values says aws_region: 'eu-west-1' but the cluster has "
                                         "spec.aws.region: 'us-west-2'"):
        derive_values(live(), {"argocd_hostname": "a.example.com", "aws_region": "eu-west-1"})


def test_malformed_values_are_errors_unless_they_only_fill_the_live_spec():
    obj = live()
    obj["spec"]["application"]["dockerfilePath"] = "./docker/"  # the RGD allows it, init would not write it
    values, notes = derive_values(obj, {"argocd_hostname": "argocd.example.com"})
    assert values["dockerfile_path"] == "./docker/" and "kept as the cluster has it" in notes[0]
    with pytest.raises(AdoptError, match="argocd_hostname from --values: 'https://a' has a scheme"):
        derive_values(live(), {"argocd_hostname": "https://a"})


def test_values_file(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("values:\n  argocd_hostname: argocd.example.com\n  created_by: jane\n")
    assert read_extra_values(path) == {"argocd_hostname": "argocd.example.com", "created_by": "jane"}
    path.write_text("argocd_host: x\n")
    with pytest.raises(AdoptError, match="unknown value 'argocd_host'; did you mean 'argocd_hostname'"):
        read_extra_values(path)
    with pytest.raises(AdoptError, match="no such values file"):
        read_extra_values(tmp_path / "missing.yaml")


def written(tmp_path, obj, **options):
    values, notes = derive_values(obj, {"argocd_hostname": "argocd.example.com"})
    result = write_repository(obj, values, tmp_path / "repo", notes=notes, **options)
    manifest = yaml.safe_load((tmp_path / "repo/manifests/kro-cicd-pipeline.yaml").read_text())
    namespace = yaml.safe_load((tmp_path / "repo/manifests/namespace.yaml").read_text())
    return result, manifest, namespace


def test_the_manifest_has_the_live_identity_and_spec_and_the_golden_path_metadata(tmp_path):
    obj = live()
    obj["metadata"]["name"] = "legacy"
    obj["spec"]["name"] = "web-pipeline"
    result, manifest, namespace = written(tmp_path, obj)
    assert (manifest["apiVersion"], manifest["kind"], manifest["metadata"]["namespace"],
            manifest["metadata"]["name"]) == ("kro.run/v1alpha1", "CICDPipeline", "team-web", "legacy")
    assert manifest["spec"] == obj["spec"]
    assert list(manifest["spec"]) == ["name", "namespace", "aws", "application", "gitlab"]  # skeleton order
    assert manifest["metadata"]["labels"]["team"] == "payments"
    assert manifest["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
    assert manifest["metadata"]["finalizers"] == ["example.com/keep"]
    assert "CICDPipeline metadata.annotations[argocd.argoproj.io/sync-wave]=1" in result.added
    assert any(n.startswith("spec.name: kept the cluster's value") for n in result.notes)
    assert any(n.startswith("metadata.name: kept the cluster's 'legacy'") for n in result.notes)
    assert namespace["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Delete=false"
    assert (tmp_path / "repo/argocd/application.yaml").is_file() and (tmp_path / "repo/catalog-info.yaml").is_file()
    assert "# The CICDPipeline (wave 1)" in (tmp_path / "repo/manifests/kro-cicd-pipeline.yaml").read_text()


def test_live_metadata_wins_over_the_skeletons(tmp_path):
    obj = live()
    obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "5"
    obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "backstage"
    result, manifest, _ = written(tmp_path, obj)
    assert manifest["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "5"
    assert manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "backstage"
    assert not any("sync-wave" in a and a.startswith("CICDPipeline") for a in result.added)


def test_exact_metadata_adds_nothing(tmp_path):
    result, manifest, namespace = written(tmp_path, live(), exact_metadata=True)
    assert result.added == []
    assert manifest["metadata"] == {"name": "web-cicd-pipeline", "namespace": "team-web",
                                    "labels": {"team": "payments"},
                                    "annotations": {"backstage.io/created-by": "jane", "owner": "payments"},
                                    "finalizers": ["example.com/keep"]}
    assert namespace["metadata"] == {"name": "team-web"}


def test_a_non_empty_target_is_refused(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo/x").write_text("x")
    values, _ = derive_values(live(), {"argocd_hostname": "argocd.example.com"})
    with pytest.raises(AdoptError, match="is not empty"):
        write_repository(live(), values, tmp_path / "repo")


def test_the_takeover_guard_refuses_recreating_sync_options_and_hooks(tmp_path):
    written(tmp_path, live())
    check_takeover(tmp_path / "repo")
    app = tmp_path / "repo/argocd/application.yaml"
    app.write_text(app.read_text().replace("- PruneLast=true", "- PruneLast=true\n      - Replace=true"))
    pipeline = tmp_path / "repo/manifests/kro-cicd-pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("  annotations:\n", '  annotations:\n    argocd.argoproj.io/hook: "Sync"\n', 1))
    with pytest.raises(AdoptError) as error:
        check_takeover(tmp_path / "repo")
    assert len(error.value.problems) == 2
    assert "Replace=true deletes and re-creates" in error.value.problems[0]
    assert "argocd.argoproj.io/hook makes the object a hook" in error.value.problems[1]


@pytest.mark.parametrize("value", ["012345678901", "yes", "true", "1.0", "null", "~", "0x1F", "1e3", "", "a: b",
                                   "#x", "- x", "é", 'q"uote'])
def test_every_string_survives_the_dump_as_a_string(value):
    doc = {"metadata": {"name": "x", "labels": {"k": value}}, "spec": {"list": [value, {"a": value}], "n": 2}}
    assert yaml.safe_load(_dump("# h\n", doc)) == doc
