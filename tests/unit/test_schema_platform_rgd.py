from tests.helpers import EXAMPLES, check_repo, with_rule, write_repo


def test_the_platform_cicdpipeline_is_known_without_configuration(tmp_path):
    pipeline = (EXAMPLES / "clean" / "manifests" / "kro-cicd-pipeline.yaml").read_text()
    write_repo(tmp_path, {"pipeline.yaml": pipeline.replace("    region: us-west-2", "    regoin: us-west-2")})
    findings = check_repo(tmp_path)
    assert with_rule(findings, "schema-unknown-kind") == []
    [typo] = with_rule(findings, "schema-unknown-field")
    assert "spec.aws.regoin" in typo.message and "wavegate built-in templates/kro" in typo.message


def test_an_rgd_given_by_the_repository_wins_over_the_built_in_one(tmp_path):
    rgd = """
    apiVersion: kro.run/v1alpha1
    kind: ResourceGraphDefinition
    metadata: {name: cicdpipeline.kro.run}
    spec:
      schema:
        apiVersion: v1alpha1
        kind: CICDPipeline
        spec:
          anything: object
    """
    write_repo(tmp_path, {"rgd.yaml": rgd, "p.yaml": "apiVersion: kro.run/v1alpha1\nkind: CICDPipeline\n"
                                                    "metadata: {name: p, namespace: default}\nspec:\n  anything: {a: 1}\n"})
    assert with_rule(check_repo(tmp_path), "schema-unknown-field") == []
    assert with_rule(check_repo(tmp_path), "schema-required") == []
