"""Offline evaluation of ValidatingAdmissionPolicies: matching, params, variables, messages, actions."""

import textwrap
from pathlib import Path

import pytest

from tests.helpers import write_repo
from wavegate.findings import Severity
from wavegate.load import parse_documents
from wavegate.policy import evaluate, load_policies
from wavegate.policy.evaluate import Environment, field_path
from wavegate.policy.match import guess_plural, selector_matches


def policy(name="p", spec="", actions="[Deny]", binding_extra="", annotations=""):
    def indent(text):
        return textwrap.indent(textwrap.dedent(text), "  ")

    return (f"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
            f"metadata:\n  name: {name}\n{indent(annotations)}spec:\n{indent(spec)}\n---\n"
            f"apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
            f"metadata:\n  name: {name}-binding\nspec:\n  policyName: {name}\n  validationActions: {actions}\n"
            f"{indent(binding_extra)}")


APPS = """\
matchConstraints:
  resourceRules:
    - apiGroups: ["argoproj.io"]
      apiVersions: ["*"]
      operations: ["CREATE", "UPDATE"]
      resources: ["applications"]
"""

APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  labels: {tier: team}
spec:
  project: default
  destination: {namespace: team-web}
"""


def manifests(text, rel="app.yaml"):
    found, problems = parse_documents(rel, textwrap.dedent(text))
    assert not problems
    return found


def run(tmp_path: Path, policy_text: str, objects: str, extra_files: dict | None = None):
    directory = tmp_path / "policies"
    write_repo(directory, {"policy.yaml": policy_text, **(extra_files or {})})
    policies = load_policies(directory)
    found = manifests(objects)
    return policies, evaluate(policies, found, Environment.of(found, plurals=policies.plurals))


def test_a_false_validation_is_a_violation_with_the_server_message(tmp_path):
    spec = APPS + 'validations:\n  - expression: "object.spec.project != \'default\'"\n    message: no default project\n'
    policies, violations = run(tmp_path, policy(spec=spec), APP)
    assert not policies.problems
    [v] = violations
    assert v.message == "no default project"
    assert v.severity == Severity.ERROR
    assert v.server_message == "ValidatingAdmissionPolicy 'p' with binding 'p-binding' denied request: no default project"
    assert v.field == ("spec", "project")
    assert v.manifest.position(v.field) == (8, 3)


def test_message_falls_back_to_the_expression_and_message_expression_wins(tmp_path):
    spec = APPS + ("validations:\n  - expression: \"object.spec.project != 'default'\"\n"
                   "  - expression: \"object.spec.project != 'default'\"\n    message: static\n"
                   "    messageExpression: \"'project ' + object.spec.project\"\n")
    _, violations = run(tmp_path, policy(spec=spec), APP)
    assert [v.message for v in violations] == ["failed expression: object.spec.project != 'default'", "project default"]


def test_actions_set_the_severity(tmp_path):
    spec = APPS + "validations:\n  - expression: 'false'\n"
    for actions, severity in (("[Warn]", Severity.WARNING), ("[Audit]", Severity.INFO), ("[Warn, Audit]", Severity.WARNING)):
        _, [v] = run(tmp_path / actions.strip("[]").replace(", ", ""), policy(spec=spec, actions=actions), APP)
        assert v.severity == severity
    assert v.server_message.startswith("Validation failed for ValidatingAdmissionPolicy 'p' with binding 'p-binding': ")


@pytest.mark.parametrize("rule, matches", [
    ('{apiGroups: ["argoproj.io"], apiVersions: ["v1alpha1"], operations: ["CREATE"], resources: ["applications"]}', True),
    ('{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}', True),
    ('{apiGroups: ["argoproj.io"], apiVersions: ["*"], operations: ["UPDATE"], resources: ["applications"]}', False),
    ('{apiGroups: ["argoproj.io"], apiVersions: ["*"], operations: ["CREATE"], resources: ["appprojects"]}', False),
    ('{apiGroups: [""], apiVersions: ["*"], operations: ["CREATE"], resources: ["applications"]}', False),
    ('{apiGroups: ["argoproj.io"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["applications"]}', False),
    ('{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"], scope: Cluster}', False),
    ('{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"], scope: Namespaced}', True),
    ('{apiGroups: ["*"], apiVersions: ["*"], operations: ["CREATE"], resources: ["*"], resourceNames: [other]}', False),
])
def test_resource_rules(tmp_path, rule, matches):
    spec = f"matchConstraints:\n  resourceRules:\n    - {rule}\nvalidations:\n  - expression: 'false'\n"
    _, violations = run(tmp_path, policy(spec=spec), APP)
    assert bool(violations) == matches


def test_exclude_rules_object_selector_and_binding_match_resources(tmp_path):
    base = "validations:\n  - expression: 'false'\n"
    exclude = APPS + "  excludeResourceRules:\n    - {apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['applications']}\n"
    assert run(tmp_path / "a", policy(spec=exclude + base), APP)[1] == []
    selected = APPS + "  objectSelector: {matchLabels: {tier: platform}}\n"
    assert run(tmp_path / "b", policy(spec=selected + base), APP)[1] == []
    expression = APPS + "  objectSelector: {matchExpressions: [{key: tier, operator: In, values: [team]}]}\n"
    assert len(run(tmp_path / "c", policy(spec=expression + base), APP)[1]) == 1
    narrowed = "matchResources:\n  objectSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}\n"
    assert run(tmp_path / "d", policy(spec=APPS + base, binding_extra=narrowed), APP)[1] == []


def test_namespace_selector_uses_the_labels_of_namespaces_in_the_repository(tmp_path):
    spec = ("matchConstraints:\n  namespaceSelector: {matchLabels: {team: web}}\n  resourceRules:\n"
            "    - {apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['configmaps', 'namespaces']}\n"
            "validations:\n  - expression: 'false'\n")
    objects = """\
    apiVersion: v1
    kind: Namespace
    metadata: {name: team-web, labels: {team: web}}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: in-web, namespace: team-web}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: elsewhere, namespace: other}
    """
    _, violations = run(tmp_path, policy(spec=spec), objects)
    assert sorted(v.manifest.name for v in violations) == ["in-web", "team-web"]


def test_namespace_object_and_request_are_bound(tmp_path):
    spec = APPS + ("validations:\n  - expression: \"request.operation == 'CREATE' && request.resource.resource == "
                   "'applications' && request.namespace == 'argocd' && namespaceObject.metadata.name == 'argocd' "
                   "&& oldObject == null\"\n")
    assert run(tmp_path, policy(spec=spec), APP)[1] == []


def test_match_conditions_all_must_hold(tmp_path):
    conditions = APPS + "matchConditions:\n  - {name: a, expression: 'true'}\n  - {name: b, expression: \"object.metadata.name == 'other'\"}\n"
    assert run(tmp_path / "a", policy(spec=conditions + "validations:\n  - expression: 'false'\n"), APP)[1] == []
    holds = APPS + "matchConditions:\n  - {name: a, expression: \"object.metadata.name == 'web'\"}\n"
    assert len(run(tmp_path / "b", policy(spec=holds + "validations:\n  - expression: 'false'\n"), APP)[1]) == 1


def test_variables_are_usable_and_their_errors_follow_failure_policy(tmp_path):
    spec = APPS + ("variables:\n  - {name: project, expression: 'object.spec.project'}\n"
                   "  - {name: broken, expression: 'object.spec.nothing'}\n"
                   "validations:\n  - expression: \"variables.project != 'default'\"\n"
                   "  - expression: \"variables.broken == 1\"\n")
    _, violations = run(tmp_path / "fail", policy(spec=spec), APP)
    assert violations[0].field == ("spec", "project")  # through the variable's expression
    assert violations[1].error and "resulted in error" in violations[1].message
    _, ignored = run(tmp_path / "ignore", policy(spec="failurePolicy: Ignore\n" + spec), APP)
    assert len(ignored) == 1 and not ignored[0].error


def test_params_from_the_policy_directory(tmp_path):
    spec = ("paramKind: {apiVersion: v1, kind: ConfigMap}\n" + APPS +
            "validations:\n  - expression: \"object.spec.project in params.data.allowed.split(',')\"\n"
            "    messageExpression: \"'not in ' + params.data.allowed\"\n")
    params = {"params.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: allowed, namespace: policy}\n"
                             "data: {allowed: 'web,shop'}\n"}
    by_name = "paramRef: {name: allowed, namespace: policy, parameterNotFoundAction: Deny}\n"
    _, [v] = run(tmp_path / "a", policy(spec=spec, binding_extra=by_name), APP, params)
    assert v.message == "not in web,shop"
    missing = "paramRef: {name: nothing, namespace: policy, parameterNotFoundAction: Deny}\n"
    _, [v] = run(tmp_path / "b", policy(spec=spec, binding_extra=missing), APP, params)
    assert "no params found" in v.message
    allow = "paramRef: {name: nothing, namespace: policy, parameterNotFoundAction: Allow}\n"
    assert run(tmp_path / "c", policy(spec=spec, binding_extra=allow), APP, params)[1] == []
    selector = "paramRef: {selector: {}, namespace: policy, parameterNotFoundAction: Deny}\n"
    assert len(run(tmp_path / "d", policy(spec=spec, binding_extra=selector), APP, params)[1]) == 1


def test_unsupported_and_invalid_policies_are_findings_not_passes(tmp_path):
    spec = APPS + ("validations:\n  - expression: \"authorizer.group('').resource('pods').check('create').allowed()\"\n"
                   "  - expression: 'object.spec +'\n")
    policies, violations = run(tmp_path, policy(spec=spec), APP)
    rules = sorted(p.rule for p in policies.problems)
    assert rules == ["policy-invalid", "policy-unsupported"]
    unsupported = next(p for p in policies.problems if p.rule == "policy-unsupported")
    assert "authorizer" in unsupported.message and unsupported.line == 13
    assert violations == []


def test_a_binding_for_a_missing_policy_and_a_policy_without_binding(tmp_path):
    directory = write_repo(tmp_path / "p", {"a.yaml": policy(spec=APPS + "validations: [{expression: 'true'}]\n")
                                             .replace("policyName: p", "policyName: q")})
    problems = load_policies(directory).problems
    messages = " | ".join(p.message for p in problems)
    assert "names policy 'q'" in messages and "has no ValidatingAdmissionPolicyBinding" in messages


@pytest.mark.parametrize("kind, plural", [("Pod", "pods"), ("Ingress", "ingresses"), ("NetworkPolicy", "networkpolicies"),
                                          ("Endpoints", "endpoints"), ("CICDPipeline", "cicdpipelines"),
                                          ("AppProject", "appprojects"), ("Class", "classes")])
def test_plurals(kind, plural):
    assert guess_plural(kind) == plural


def test_crd_plural_wins(tmp_path):
    spec = ("matchConstraints:\n  resourceRules:\n    - {apiGroups: [example.com], apiVersions: ['*'], operations: [CREATE], "
            "resources: [octopi]}\nvalidations:\n  - expression: 'false'\n")
    objects = """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: octopi.example.com}
    spec: {group: example.com, scope: Namespaced, names: {kind: Octopus, plural: octopi}}
    ---
    apiVersion: example.com/v1
    kind: Octopus
    metadata: {name: paul, namespace: sea}
    """
    _, violations = run(tmp_path, policy(spec=spec), objects)
    assert [v.manifest.name for v in violations] == ["paul"]


def test_selector_operators():
    labels = {"a": "1", "b": "2"}
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["2"]},
                                                  {"key": "b", "operator": "Exists"},
                                                  {"key": "c", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchLabels": {"a": "2"}}, labels)
    assert selector_matches({}, labels) and selector_matches(None, labels)


def test_field_path_from_expressions():
    [m] = manifests(APP)
    assert field_path("object.spec.destination.namespace != 'argocd'", m) == ("spec", "destination", "namespace")
    assert field_path("object.spec.?destination.?server.orValue('') != ''", m) == ("spec", "destination")
    assert field_path("object.metadata.labels.all(k, k != 'x')", m) == ("metadata", "labels")
    assert field_path("request.name != ''", m) == ("metadata", "name")


def test_match_conditions_see_no_namespace_object_as_on_the_api_server(tmp_path):
    """The API server's match-condition matcher passes no namespace: namespaceObject is null there."""
    spec = APPS + ("matchConditions:\n  - {name: ns, expression: \"namespaceObject == null\"}\n"
                   "validations:\n  - expression: \"namespaceObject.metadata.name == 'nowhere'\"\n")
    [violation] = run(tmp_path / "a", policy(spec=spec), APP)[1]
    assert not violation.error  # the condition held; the validation, with the namespace bound, was false
    reads = APPS + ("matchConditions:\n  - {name: ns, expression: \"namespaceObject.metadata.name == 'argocd'\"}\n"
                    "validations:\n  - expression: 'true'\n")
    [failed] = run(tmp_path / "b", policy(spec=reads), APP)[1]
    assert failed.error and "failed to evaluate matchCondition 'ns'" in failed.message


def test_variables_are_evaluated_only_when_used(tmp_path):
    spec = APPS + ("variables:\n  - {name: broken, expression: 'object.spec.nothing'}\n"
                   "  - {name: project, expression: 'object.spec.project'}\n"
                   "  - {name: uses_broken, expression: 'variables.broken + 1'}\n"
                   "validations:\n  - expression: \"variables.project == 'default'\"\n"
                   "  - expression: \"variables.uses_broken == 2\"\n")
    [violation] = run(tmp_path, policy(spec=spec), APP)[1]
    assert violation.error and '"nothing"' in violation.message  # the error of `broken`, through uses_broken


def test_a_validation_listing_fields_points_at_the_first(tmp_path):
    """`size(variables.X) == 0` where X lists {field, ...} mappings: the finding is at the first field."""
    spec = APPS + ("variables:\n"
                   "  - name: offending\n"
                   "    expression: >-\n"
                   "      object.spec.?sources.orValue([]).filter(s, s.?targetRevision.orValue('') == 'HEAD')\n"
                   "      .map(s, {'field': 'spec.sources[repoURL=' + s.repoURL + '].targetRevision'})\n"
                   "validations:\n  - expression: size(variables.offending) == 0\n")
    objects = APP + ("  sources:\n    - {repoURL: https://a.example.com/a.git, targetRevision: v1}\n"
                     "    - {repoURL: https://b.example.com/b.git, targetRevision: HEAD}\n")
    [violation] = run(tmp_path, policy(spec=spec), objects)[1]
    assert violation.field == ("spec", "sources", 1, "targetRevision")


def test_field_paths_name_keys_indexes_and_list_items():
    from wavegate.policy.evaluate import field_at

    [m] = manifests("""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
          annotations: {container.apparmor.security.beta.kubernetes.io/app: unconfined}
        spec:
          containers:
            - name: sidecar
              image: a
            - name: app
              image: b
              ports: [{containerPort: 80}, {containerPort: 8080, hostPort: 8080}]
        """)
    assert field_at(m, "spec.containers[name=app].ports[containerPort=8080].hostPort") == (
        "spec", "containers", 1, "ports", 1, "hostPort")
    assert field_at(m, "metadata.annotations['container.apparmor.security.beta.kubernetes.io/app']") == (
        "metadata", "annotations", "container.apparmor.security.beta.kubernetes.io/app")
    assert field_at(m, "spec.containers[0].securityContext.privileged") == ("spec", "containers", 0)  # deepest existing
    assert field_at(m, "spec.containers[name=missing].image") == ("spec", "containers")
    assert field_at(m, "nothing.here") == ("metadata", "name")


def test_pod_security_findings_point_at_the_field_to_change(tmp_path):
    from tests.helpers import check_repo, with_rule

    write_repo(tmp_path, {"deploy.yaml": """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: team-web
          labels: {pod-security.kubernetes.io/enforce: restricted}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: team-web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
              containers:
                - name: app
                  image: registry.example.com/web:1.0.0
                  securityContext:
                    allowPrivilegeEscalation: false
                    capabilities: {drop: [ALL]}
                    privileged: true
        """})
    [finding] = with_rule(check_repo(tmp_path), "policy-violation")
    lines = (tmp_path / "deploy.yaml").read_text().splitlines()
    assert lines[finding.line - 1].strip() == "privileged: true"
    assert finding.message.startswith('pod-security-baseline: its pod template violates PodSecurity "restricted:latest": '
                                      'privileged (container "app"')
