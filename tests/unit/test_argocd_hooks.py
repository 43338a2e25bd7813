from tests.helpers import check_repo, with_rule, write_repo

JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    {annotations}
spec: {{}}
"""
ARGOCD_2 = "argocd:\n  version: 2\n"


def job(**annotations: str) -> str:
    lines = "\n    ".join(f"{key}: {value}" for key, value in annotations.items())
    return JOB.format(annotations=lines)


def hook(value: str, policy: str | None = None) -> str:
    annotations = {"argocd.argoproj.io/hook": value}
    if policy is not None:
        annotations["argocd.argoproj.io/hook-delete-policy"] = policy
    return job(**annotations)


def test_unknown_hook_type_is_reported_at_the_value_with_the_closest_type(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("Presync")})
    [finding] = with_rule(check_repo(tmp_path), "hook-type-unknown")
    assert (finding.line, finding.column) == (6, 30)
    assert "'Presync'" in finding.message and "never applies" in finding.message
    assert "Write PreSync" in finding.hint


def test_unknown_hook_type_next_to_a_known_one_says_the_hook_still_runs(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("PreSync,PostSinc")})
    [finding] = with_rule(check_repo(tmp_path), "hook-type-unknown")
    assert "still runs as a PreSync hook" in finding.message
    assert "Write PostSync" in finding.hint


def test_known_hook_types_pass_after_trimming_spaces(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook('"PreSync , PostSync ,SyncFail"')})
    assert with_rule(check_repo(tmp_path), "hook-type-unknown") == []


def test_empty_hook_annotation_is_reported(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook('""')})
    [finding] = with_rule(check_repo(tmp_path), "hook-type-unknown")
    assert "empty" in finding.message


def test_predelete_under_argocd_2_is_a_warning(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": ARGOCD_2, "job.yaml": hook("PreDelete")})
    findings = check_repo(tmp_path)
    [finding] = with_rule(findings, "hook-value-needs-newer-argocd")
    assert str(finding.severity) == "warning"
    assert "3.3" in finding.message and "Argo CD 2" in finding.message
    assert with_rule(findings, "hook-type-unknown") == []


def test_predelete_under_argocd_3_passes(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("PreDelete")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "hook-value-needs-newer-argocd") == []
    assert with_rule(findings, "hook-type-unknown") == []


def test_postdelete_under_argocd_2_passes(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": ARGOCD_2, "job.yaml": hook("PostDelete")})
    assert with_rule(check_repo(tmp_path), "hook-value-needs-newer-argocd") == []


def test_skip_combined_with_another_type(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("Skip,PreSync")})
    [finding] = with_rule(check_repo(tmp_path), "hook-skip-combined")
    assert "runs as a PreSync hook" in finding.message


def test_skip_alone_passes(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("Skip")})
    assert with_rule(check_repo(tmp_path), "hook-skip-combined") == []


def test_unknown_delete_policy_suggests_the_closest(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("PostSync", "HookSucceed")})
    [finding] = with_rule(check_repo(tmp_path), "hook-delete-policy-unknown")
    assert (finding.line, finding.column) == (7, 44)
    assert "'HookSucceed'" in finding.message and "BeforeHookCreation" in finding.message
    assert "Write HookSucceeded" in finding.hint


def test_known_delete_policies_pass(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("PostSync", "HookSucceeded, BeforeHookCreation")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "hook-delete-policy-unknown") == []
    assert with_rule(findings, "hook-delete-policy-without-hook") == []


def test_never_delete_policy_is_a_version_warning_not_an_error(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("PreSync", "Never")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "hook-delete-policy-unknown") == []
    [finding] = with_rule(findings, "hook-value-needs-newer-argocd")
    assert "BeforeHookCreation" in finding.message


def test_delete_policy_on_a_resource_that_is_not_a_hook(tmp_path):
    write_repo(tmp_path, {"job.yaml": job(**{"argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})})
    [finding] = with_rule(check_repo(tmp_path), "hook-delete-policy-without-hook")
    assert finding.line == 6 and "not a hook" in finding.message


def test_delete_policy_on_a_skip_only_resource_does_nothing(tmp_path):
    write_repo(tmp_path, {"job.yaml": hook("Skip", "HookSucceeded")})
    [finding] = with_rule(check_repo(tmp_path), "hook-delete-policy-without-hook")
    assert "Skip" in finding.message


def test_delete_policy_on_a_helm_hook_passes(tmp_path):
    write_repo(tmp_path, {"job.yaml": job(**{"helm.sh/hook": "pre-install",
                                            "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})})
    assert with_rule(check_repo(tmp_path), "hook-delete-policy-without-hook") == []


INSTANCE = """
apiVersion: {api_version}
kind: CICDPipeline
metadata:
  name: web
  annotations:
    {annotations}
spec:
  name: web
"""
RGD = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: cicdpipelines
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  schema:
    apiVersion: v1alpha1
    group: platform.example.com
    kind: CICDPipeline
    spec:
      name: string
"""


def test_kro_instance_as_hook_with_the_default_policy(tmp_path):
    instance = INSTANCE.format(api_version="kro.run/v1alpha1", annotations="argocd.argoproj.io/hook: PreSync")
    write_repo(tmp_path, {"pipeline.yaml": instance})
    [finding] = with_rule(check_repo(tmp_path), "kro-instance-as-hook")
    assert (finding.line, finding.column) == (6, 30)
    assert "BeforeHookCreation (the default)" in finding.message and "kro then deletes" in finding.message
    assert "sync-wave" in finding.hint


def test_instance_of_an_rgd_in_its_own_group_as_hook_with_hook_succeeded(tmp_path):
    annotations = "argocd.argoproj.io/hook: PostSync\n    argocd.argoproj.io/hook-delete-policy: HookSucceeded"
    instance = INSTANCE.format(api_version="platform.example.com/v1alpha1", annotations=annotations)
    write_repo(tmp_path, {"rgd.yaml": RGD, "pipeline.yaml": instance})
    [finding] = with_rule(check_repo(tmp_path), "kro-instance-as-hook")
    assert "HookSucceeded deletes it as soon as it is healthy" in finding.message


def test_kro_instance_ordered_by_sync_wave_passes(tmp_path):
    instance = INSTANCE.format(api_version="platform.example.com/v1alpha1",
                               annotations='argocd.argoproj.io/sync-wave: "1"')
    write_repo(tmp_path, {"rgd.yaml": RGD, "pipeline.yaml": instance})
    assert with_rule(check_repo(tmp_path), "kro-instance-as-hook") == []


def test_resource_graph_definition_or_skipped_instance_is_not_flagged(tmp_path):
    rgd = RGD.replace('argocd.argoproj.io/sync-wave: "0"', "argocd.argoproj.io/hook: PreSync")
    instance = INSTANCE.format(api_version="kro.run/v1alpha1", annotations="argocd.argoproj.io/hook: Skip")
    write_repo(tmp_path, {"rgd.yaml": rgd, "pipeline.yaml": instance})
    assert with_rule(check_repo(tmp_path), "kro-instance-as-hook") == []
