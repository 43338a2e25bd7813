from tests.helpers import check_repo, with_rule, write_repo
from wavegate.schemas import SchemaStore
from wavegate.schemas.bundle import write_bundle

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  replica: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1"}]
"""


def test_a_built_in_kind_from_a_schema_bundle_is_still_rejected_not_pruned(tmp_path):
    bundle = tmp_path / "bundle"
    write_bundle(SchemaStore.build(None), bundle, kinds=[("apps", "v1", "Deployment")])
    repo = tmp_path / "repo"
    write_repo(repo, {"deploy.yaml": DEPLOYMENT, ".wavegate.yaml": f"schemas: [{bundle}]\n"})
    [finding] = with_rule(check_repo(repo), "schema-unknown-field")
    assert "rejects it" in finding.message and "drops it silently otherwise" in finding.message
    assert finding.line == 7
