"""Kubernetes built-in kinds through the store: kubernetes-validate's schemas, strict unknown fields,
version selection, and unknown kinds and versions."""

from __future__ import annotations

import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.config import Config, ConfigError
from wavegate.schemas import SchemaStore, kubernetes

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
          resources:
            limits: {cpu: 500m, memory: 128Mi}
"""


def _schema_findings(tmp_path, files: dict[str, str]):
    write_repo(tmp_path, files)
    return [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")]


def test_a_valid_deployment_and_configmap_pass(tmp_path):
    assert _schema_findings(tmp_path, {"deploy.yaml": DEPLOYMENT, "cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web, namespace: apps}
        data: {LOG_LEVEL: debug, "port": "8080"}
        """}) == []


def test_unknown_field_on_a_builtin_kind_is_rejected_under_strict_validation(tmp_path):
    findings = _schema_findings(tmp_path, {"deploy.yaml": DEPLOYMENT.replace("  replicas: 2", "  replica: 2")})
    [finding] = findings
    assert finding.rule == "schema-unknown-field" and finding.field == "spec.replica"
    assert finding.message.startswith('unknown field "spec.replica": Deployment apps/v1 (Kubernetes 1.')
    assert "rejects it under strict field validation" in finding.message
    assert finding.hint == "Did you mean spec.replicas?"
    assert finding.line == 8


def test_nested_unknown_field_in_a_container(tmp_path):
    findings = _schema_findings(tmp_path, {"deploy.yaml": DEPLOYMENT.replace("image: nginx:1.27", "imgae: nginx:1.27")})
    assert sorted((f.rule, f.field) for f in findings) == [
        ("schema-unknown-field", "spec.template.spec.containers[0].imgae")]
    assert findings[0].hint == "Did you mean spec.template.spec.containers[0].image?"


def test_wrong_type_on_a_builtin_kind(tmp_path):
    findings = _schema_findings(tmp_path, {"deploy.yaml": DEPLOYMENT.replace("containerPort: 80", 'containerPort: "80"')})
    [finding] = findings
    assert finding.rule == "schema-invalid-type"
    assert finding.message == ('spec.template.spec.containers[0].ports[0].containerPort: Invalid value: "80": '
                               "must be of type integer")
    assert finding.hint == "Remove the quotes: containerPort: 80"


def test_configmap_data_must_be_strings(tmp_path):
    findings = _schema_findings(tmp_path, {"cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web}
        data:
          replicas: 3
        """})
    [finding] = findings
    assert (finding.rule, finding.field) == ("schema-invalid-type", "data.replicas")
    assert finding.hint == 'Quote it: replicas: "3"'


def test_missing_required_field_on_a_builtin_kind_points_at_the_parent(tmp_path):
    text = DEPLOYMENT.replace("  selector:\n    matchLabels: {app: web}\n", "")
    [finding] = _schema_findings(tmp_path, {"deploy.yaml": text})
    assert (finding.rule, finding.field, finding.line) == ("schema-required", "spec.selector", 7)


def test_int_or_string_and_quantities_accept_both_forms(tmp_path):
    text = DEPLOYMENT.replace("  replicas: 2", "  replicas: 2\n  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}")
    text = text.replace("cpu: 500m", "cpu: 1")
    assert _schema_findings(tmp_path, {"deploy.yaml": text}) == []


def test_null_values_are_allowed_where_kubernetes_accepts_them(tmp_path):
    text = DEPLOYMENT.replace("  name: web\n  namespace: apps", "  name: web\n  namespace: apps\n  creationTimestamp: null")
    assert _schema_findings(tmp_path, {"deploy.yaml": text}) == []


def test_a_crd_manifest_is_itself_checked_against_the_builtin_crd_schema(tmp_path):
    findings = _schema_findings(tmp_path, {"crd.yaml": """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  x-kubernetes-preserve-unknown-field: true
        """})
    assert [(f.rule, f.field) for f in findings] == [
        ("schema-unknown-field", "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-preserve-unknown-field")]
    assert findings[0].hint.endswith("x-kubernetes-preserve-unknown-fields?")


# -- versions ---------------------------------------------------------------------------------------


def test_kubernetes_version_defaults_to_the_newest_shipped():
    versions = kubernetes.available_versions()
    assert versions and kubernetes.resolve_version(None) == versions[-1]
    assert SchemaStore().kubernetes_version == versions[-1]


@pytest.mark.parametrize("text", ["1.33", "v1.33.2", "1.33.0", "v1.33"])
def test_kubernetes_version_forms(text):
    assert kubernetes.resolve_version(text) == "1.33"


@pytest.mark.parametrize("text", ["1.5", "2.0", "latest", "1.999"])
def test_unusable_kubernetes_versions_are_usage_errors(text):
    with pytest.raises(ConfigError) as error:
        SchemaStore.build(None, Config(), kubernetes_version=text)
    assert "1." in str(error.value)


def test_version_from_configuration_and_from_the_argument(tmp_path):
    config = Config(kubernetes_version="1.30")
    assert SchemaStore.build(None, config).kubernetes_version == "1.30"
    assert SchemaStore.build(None, config, kubernetes_version="v1.31.4").kubernetes_version == "1.31"


def test_a_kind_removed_from_the_chosen_version_is_an_unknown_version(tmp_path):
    # flowcontrol v1beta3 was served up to 1.31 and removed in 1.32.
    write_repo(tmp_path, {"fs.yaml": """
        apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
        kind: FlowSchema
        metadata: {name: fs}
        spec:
          priorityLevelConfiguration: {name: global-default}
        """})
    old = SchemaStore.build(tmp_path, Config(), kubernetes_version="1.29")
    assert old.lookup("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema") is not None
    new = SchemaStore.build(tmp_path, Config(), kubernetes_version="1.33")
    assert new.lookup("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema") is None
    assert "v1" in new.versions_of("flowcontrol.apiserver.k8s.io", "FlowSchema")


# -- unknown kinds ----------------------------------------------------------------------------------


def test_unknown_kind_is_a_warning_that_says_how_to_provide_a_schema(tmp_path):
    findings = _schema_findings(tmp_path, {"x.yaml": """
        apiVersion: example.com/v1
        kind: Gizmo
        metadata: {name: g}
        spec: {size: 3}
        """})
    [finding] = findings
    assert finding.rule == "schema-unknown-kind" and str(finding.severity) == "warning"
    assert "Gizmo" in finding.message and "example.com/v1" in finding.message
    assert "--schemas" in finding.hint and "schemas:" in finding.hint
    assert finding.line == 2  # the kind line


def test_unknown_kind_severity_is_configurable(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  schema-unknown-kind: error\n", "x.yaml": """
        apiVersion: example.com/v1
        kind: Gizmo
        metadata: {name: g}
        """})
    [finding] = with_rule(check_repo(tmp_path), "schema-unknown-kind")
    assert str(finding.severity) == "error"


def test_unknown_version_of_a_known_kind_names_the_versions_that_exist(tmp_path):
    # (apps/v1beta1, a version Kubernetes removed, is api-version-removed's: test_api_versions.py)
    findings = _schema_findings(tmp_path, {"d.yaml": DEPLOYMENT.replace("apps/v1", "apps/v2")})
    [finding] = findings
    assert finding.rule == "schema-unknown-version"
    assert finding.message == "Deployment is not served as apps/v2; the known versions are apps/v1"
    assert finding.line == 1  # the apiVersion line


def test_a_misspelled_builtin_kind_suggests_the_right_one(tmp_path):
    findings = _schema_findings(tmp_path, {"d.yaml": DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet")})
    [finding] = findings
    assert finding.rule == "schema-unknown-kind"
    assert finding.hint.startswith("Did you mean kind: Deployment (apps/v1)?")


def test_kustomize_configuration_is_not_an_unknown_kind(tmp_path):
    assert _schema_findings(tmp_path, {"k.yaml": """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        metadata: {name: k}
        resources: [deploy.yaml]
        """}) == []


# -- the compiled fast path for built-in kinds --------------------------------------------------------


def test_the_fast_path_is_never_more_lenient_than_the_engine(tmp_path):
    from wavegate.load import parse_documents
    from wavegate.schemas.engine import Validation

    variants = [DEPLOYMENT, DEPLOYMENT.replace("  replicas: 2", "  replica: 2"),
                DEPLOYMENT.replace("containerPort: 80", 'containerPort: "80"'),
                DEPLOYMENT.replace("  name: web\n  namespace: apps", "  name: web\n  creationTimestamp: yesterday"),
                DEPLOYMENT.replace("  name: web\n  namespace: apps", "  name: web\n  creationTimestamp: null"),
                DEPLOYMENT.replace("cpu: 500m", "cpu: [1]"), DEPLOYMENT.replace("cpu: 500m", "cpu: null"),
                DEPLOYMENT.replace("    matchLabels: {app: web}", "    matchLabels: {app: 1}"),
                DEPLOYMENT.replace("  replicas: 2", "  replicas: 2.0"), DEPLOYMENT.replace("  replicas: 2", "  replicas: true"),
                DEPLOYMENT.replace("  replicas: 2", "  strategy: {type: Recreate, rollingUpdate: {maxSurge: null}}")]
    store = SchemaStore()
    entry = store.lookup("apps/v1", "Deployment")
    fast = store.k8s.fast_validator(("apps", "v1", "Deployment"))
    assert fast is not None
    for text in variants:
        [manifest], _ = parse_documents("d.yaml", text.lstrip("\n"))
        validation = Validation(entry.dialect)
        validation.run(entry.node(), manifest.data)
        if fast.is_valid(manifest.data):
            assert validation.problems == [], text


def test_findings_are_the_same_once_the_fast_path_is_compiled(tmp_path):
    files = {f"d{i:02d}.yaml": DEPLOYMENT.replace("name: web\n  namespace", f"name: web{i}\n  namespace")
             for i in range(40)}
    files["d40.yaml"] = DEPLOYMENT.replace("  replicas: 2", "  replica: 2")
    findings = _schema_findings(tmp_path, files)
    assert [(f.path, f.rule, f.field) for f in findings] == [("d40.yaml", "schema-unknown-field", "spec.replica")]


def test_many_objects_expected_need_no_engine_until_one_is_invalid():
    """Entry.expect: with FAST_AFTER objects of a kind to come, the fast path is compiled at once,
    and the engine's node (11 ms for a Deployment) only for the first object that fails it."""
    from wavegate.load import parse_documents
    from wavegate.schemas.store import FAST_AFTER

    store = SchemaStore()
    entry = store.lookup("apps/v1", "Deployment")
    entry.expect(FAST_AFTER)
    [valid], _ = parse_documents("d.yaml", DEPLOYMENT.lstrip("\n"))
    for _ in range(FAST_AFTER):
        assert entry.validate(valid.data) == ([], valid.data)
    assert not entry._compiled  # (no node made)
    [invalid], _ = parse_documents("d.yaml", DEPLOYMENT.replace("  replicas: 2", "  replica: 2").lstrip("\n"))
    problems, _ = entry.validate(invalid.data)
    assert [p.path for p in problems] == [("spec", "replica")] and entry._compiled
    few = SchemaStore().lookup("apps/v1", "Deployment")
    few.expect(FAST_AFTER - 1)  # (too few to pay for the fast path: the engine judges them)
    assert few.validate(valid.data)[0] == [] and few._compiled and few._fast is None


def test_list_types_of_builtin_kinds_are_not_enforced_like_the_api_server(tmp_path):
    # Duplicate env names are accepted (with a warning) by the API server; its OpenAPI list type
    # (map keyed by name) is for server-side apply merging, not validation.
    text = DEPLOYMENT.replace("          ports:", "          env: [{name: A, value: '1'}, {name: A, value: '2'}]\n          ports:")
    assert _schema_findings(tmp_path, {"deploy.yaml": text}) == []
