"""The API server's checks beyond the OpenAPI schema (validators/apiserver_*.py): each rule refuses
what the server refuses, in the server's words, at the line to edit, and passes what it accepts.
(tests/integration/test_server_differential.py compares them with a real API server.)"""

import pytest

from tests.helpers import check_repo, with_rule, write_repo
from wavegate import apimachinery as am

NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"


def deployment(name="web", labels="{app: web}", selector="{matchLabels: {app: web}}", pod="", container="",
               extra=""):
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: team}}
spec:
  selector: {selector}
  {extra or 'replicas: 1'}
  template:
    metadata: {{labels: {labels}}}
    spec:
      {pod or 'dnsPolicy: ClusterFirst'}
      containers:
        - name: web
          image: "nginx:1.27"
          {container or 'imagePullPolicy: IfNotPresent'}
"""


def config_map(name="web", data="{a: b}", extra=""):
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: team{extra}}}\ndata: {data}\n"


def crd(name="widgets.example.com", group="example.com", plural="widgets", kind="Widget", versions=None):
    versions = versions or [("v1", True)]
    text = (f"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {name}}}\n"
            f"spec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: {plural}, kind: {kind}}}\n  versions:\n")
    for version, storage in versions:
        text += (f"    - name: {version}\n      served: true\n      storage: {str(storage).lower()}\n"
                 "      schema: {openAPIV3Schema: {type: object}}\n")
    return text


# rule -> [(bad document, text in the message, line of the finding, good document)]
CASES = {
    "crd-invalid": [
        (crd(name="widget.example.com"), 'metadata.name: Invalid value: "widget.example.com": must be '
                                         'spec.names.plural+"."+spec.group', 3, crd()),
        (crd(versions=[("v1", True), ("v2", True)]), "must have exactly one version marked as storage version", 8,
         crd(versions=[("v1", True), ("v2", False)])),
        (crd(versions=[("V1", True)]), 'spec.versions[0].name: Invalid value: "V1": a DNS-1035 label', 9,
         crd(versions=[("v1beta1", True)])),
        (crd(name="widgets.example", group="example"), "should be a domain with at least one dot", 5,
         crd(name="widgets.example.io", group="example.io")),
        (crd(kind="Gad get"), 'spec.names.kind: Invalid value: "Gad get": may have mixed case', 7, crd(kind="GadGet")),
    ],
    "object-name-invalid": [
        (config_map(name="Web_Settings"), 'metadata.name: Invalid value: "Web_Settings": a lowercase RFC 1123 subdomain',
         3, config_map(name="web.settings-v2")),
        (NS.replace("team", "team.web") + "---\n" + NS, 'must not contain dots', 3, NS),
        ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db.primary, namespace: team}\n"
         "spec: {selector: {matchLabels: {a: b}}, serviceName: db, template: {metadata: {labels: {a: b}}, "
         "spec: {containers: [{name: db, image: 'postgres:16'}]}}}\n",
         "must not contain dots", 3,
         "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db-primary, namespace: team}\n"
         "spec: {selector: {matchLabels: {a: b}}, serviceName: db, template: {metadata: {labels: {a: b}}, "
         "spec: {containers: [{name: db, image: 'postgres:16'}]}}}\n"),
        ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'team/reader'}\nrules: []\n",
         "may not contain '/'", 3,
         # RBAC names are path segments: the name the dns1123-names policy used to refuse.
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:openshift:scc:anyuid'}\n"
         "rules: []\n"),
        ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: " + "n" * 53 + ", namespace: team}\nspec:\n"
         "  schedule: '0 3 * * *'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: "
         "[{name: a, image: 'busybox:1'}]}}}}\n", "must be no more than 52 characters", 3,
         "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: " + "n" * 52 + ", namespace: team}\nspec:\n"
         "  schedule: '0 3 * * *'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: "
         "[{name: a, image: 'busybox:1'}]}}}}\n"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: Web-, namespace: team}\n",
         'metadata.generateName: Invalid value: "Web-"', 3,
         "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: web-, namespace: team}\n"),
    ],
    "label-invalid": [
        (config_map(extra=", labels: {team: web platform}"), 'metadata.labels: Invalid value: "web platform"', 3,
         config_map(extra=", labels: {team: web-platform, empty: ''}")),
        (config_map(extra=", labels: {'a b': x}"), 'Invalid value: "a b": name part must consist', 3,
         config_map(extra=", labels: {example.com/a-b: x}")),
        (deployment(labels="{app: 'web app'}", selector="{matchLabels: {app: 'web app'}}"),
         'Invalid value: "web app"', 5, deployment()),
    ],
    "annotation-invalid": [
        (config_map(extra=", annotations: {'owner team': x}"), 'metadata.annotations: Invalid value: "owner team"', 3,
         config_map(extra=", annotations: {Example.com/Owner: any text at all}")),
        (config_map(extra=", annotations: {big: '" + "x" * (256 * 1024) + "'}"),
         "metadata.annotations: Too long: may not be more than 262144 bytes", 3,
         config_map(extra=", annotations: {big: '" + "x" * (256 * 1024 - 8) + "'}")),
    ],
    "data-key-invalid": [
        (config_map(data="{'bad key!': x}"), 'data[bad key!]: Invalid value: "bad key!": a valid config key', 4,
         config_map(data="{bad-key_1.json: x}")),
        (config_map(data="{'..data': x}"), "must not start with '..'", 4, config_map(data="{.data: x}")),
        (config_map(data="{a: b}") + "binaryData: {a: aGk=}\n", "duplicate of key present in binaryData", 4,
         config_map(data="{a: b}") + "binaryData: {b: aGk=}\n"),
    ],
    "data-not-base64": [
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team}\ndata: {password: hunter2}\n",
         "data.password is not base64", 4,
         "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team}\ndata: {password: aHVudGVyMg==}\n"),
    ],
    "secret-type-data-missing": [
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team}\ntype: kubernetes.io/tls\n"
         "stringData: {tls.crt: x}\n", "data[tls.key]: Required value", 5,
         "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team}\ntype: kubernetes.io/tls\n"
         "stringData: {tls.crt: cert, tls.key: key}\n"),
    ],
    "port-invalid": [
        (deployment(container="ports: [{containerPort: 70000}]"),
         "containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive", 14,
         deployment(container="ports: [{containerPort: 7000, name: http-metrics}]")),
        (deployment(container="ports: [{containerPort: 80, name: HTTP}]"),
         'ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters', 14,
         deployment(container="ports: [{containerPort: 80, name: http}]")),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team}\n"
         "spec: {ports: [{port: 80}, {port: 443}]}\n", "spec.ports[0].name: Required value", 4,
         "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team}\n"
         "spec: {ports: [{port: 80, name: http}, {port: 443, name: https, targetPort: https-web}]}\n"),
    ],
    "container-name-invalid": [
        (deployment().replace("- name: web", "- name: Web_App"),
         'containers[0].name: Invalid value: "Web_App": a lowercase RFC 1123 label', 12,
         deployment().replace("- name: web", "- name: web-app")),
        (deployment(pod="initContainers: [{name: web, image: 'busybox:1'}]"),
         'initContainers[0].name: Duplicate value: "web"', 10,
         deployment(pod="initContainers: [{name: init, image: 'busybox:1'}]")),
    ],
    "volume-mount-invalid": [
        (deployment(container="volumeMounts: [{name: config, mountPath: /etc/web}]"),
         'volumeMounts[0].name: Not found: "config"', 14,
         deployment(pod="volumes: [{name: config, configMap: {name: web}}]",
                    container="volumeMounts: [{name: config, mountPath: /etc/web}]")),
    ],
    "field-value-unsupported": [
        (deployment(container="imagePullPolicy: always"), 'imagePullPolicy: Unsupported value: "always"', 14,
         deployment(container="imagePullPolicy: Always")),
        ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: team}\n"
         "spec: {template: {spec: {containers: [{name: a, image: 'busybox:1'}]}}}\n",
         'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"', 4,
         "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: team}\n"
         "spec: {template: {spec: {restartPolicy: Never, containers: [{name: a, image: 'busybox:1'}]}}}\n"),
        ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
         "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n",
         'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"', 4,
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
         "roleRef: {kind: ClusterRole, name: r}\n"),
    ],
    "field-invalid": [
        (deployment(extra="replicas: -1"), "spec.replicas: Invalid value: -1: must be greater than or equal to 0", 6,
         deployment(extra="replicas: 0")),
        (deployment(container="resources: {requests: {memory: 512Mi}, limits: {memory: 128Mi}}"),
         'resources.requests: Invalid value: "512Mi": must be less than or equal to memory limit of 128Mi', 14,
         deployment(container="resources: {requests: {memory: 128Mi}, limits: {memory: 0.5Gi}}")),
        ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: team}\nspec:\n"
         "  rules: [{http: {paths: [{path: /, backend: {service: {name: web, port: {number: 80}}}}]}}]\n",
         "pathType: Required value: pathType must be specified", 5,
         "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: team}\nspec:\n"
         "  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]\n"),
        ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: team}\nspec:\n"
         "  schedule: '61 * * * *'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: "
         "[{name: a, image: 'busybox:1'}]}}}}\n", "end of range (61) above maximum (59): 61", 5,
         "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: team}\nspec:\n"
         "  schedule: '@every 1h30m'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: "
         "[{name: a, image: 'busybox:1'}]}}}}\n"),
        ("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: team}\n"
         "spec: {minAvailable: 1, maxUnavailable: 1}\n", "minAvailable and maxUnavailable cannot be both set", 4,
         "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: team}\n"
         "spec: {maxUnavailable: 50%}\n"),
    ],
    "quantity-invalid": [
        (deployment(container="resources: {requests: {memory: 64MB}}"), "'64MB' cannot be decoded: quantities must", 14,
         deployment(container="resources: {requests: {memory: 64M, cpu: 100m}}")),
    ],
    "selector-template-mismatch": [
        (deployment(labels="{app: website}"), "`selector` does not match template `labels`", 8, deployment()),
        (deployment(selector="{}"), "empty selector is invalid for deployment", 5, deployment()),
        ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: team}\n"
         "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: "
         "{restartPolicy: Never, containers: [{name: a, image: 'busybox:1'}]}}}\n",
         "`selector` not auto-generated", 4,
         "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: team}\n"
         "spec: {manualSelector: true, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, "
         "spec: {restartPolicy: Never, containers: [{name: a, image: 'busybox:1'}]}}}\n"),
    ],
}


@pytest.mark.parametrize("rule,index", [(rule, i) for rule, cases in CASES.items() for i in range(len(cases))])
def test_the_server_refuses_it_and_so_does_the_rule(tmp_path, rule, index):
    bad, text, line, _ = CASES[rule][index]
    root = write_repo(tmp_path, {"ns.yaml": NS, "bad.yaml": bad})
    found = [f for f in with_rule(check_repo(root), rule) if f.path == "bad.yaml"]
    assert found, f"{rule}: no finding"
    assert any(text in f.message for f in found), [f.message for f in found]
    assert any(f.line == line for f in found if text in f.message), [(f.line, f.message) for f in found]
    assert all(str(f.severity) == "error" for f in found)


@pytest.mark.parametrize("rule,index", [(rule, i) for rule, cases in CASES.items() for i in range(len(cases))])
def test_the_server_accepts_it_and_so_does_the_rule(tmp_path, rule, index):
    _, _, _, good = CASES[rule][index]
    root = write_repo(tmp_path, {"ns.yaml": NS, "good.yaml": good})
    errors = [f for f in check_repo(root) if f.rule in CASES and f.path == "good.yaml"]
    assert errors == [], [(f.rule, f.message) for f in errors]


def test_templated_values_are_left_to_the_template_engine(tmp_path):
    root = write_repo(tmp_path, {"ns.yaml": NS, "skeleton.yaml": config_map(
        name="${{ values.name }}-settings", extra=", labels: {app: '${{ values.name }}'}")})
    assert [f for f in check_repo(root) if f.rule in CASES] == []


def test_service_names_follow_the_target_kubernetes_version(tmp_path):
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: 1web, namespace: team}\nspec: {ports: [{port: 80}]}\n"
    write_repo(tmp_path / "new", {"ns.yaml": NS, "s.yaml": service})
    write_repo(tmp_path / "old", {"ns.yaml": NS, "s.yaml": service, ".wavegate.yaml": "kubernetesVersion: '1.35'\n"})
    assert with_rule(check_repo(tmp_path / "new"), "object-name-invalid") == []  # DNS-1123 label since 1.36
    [finding] = with_rule(check_repo(tmp_path / "old"), "object-name-invalid")
    assert "a DNS-1035 label must consist of lower case alphanumeric characters" in finding.message


def test_messages_are_worded_as_the_go_functions_word_them():
    # Go's RegexError spacing ("'a',  or 'b', regex ...") and MaxLenError units.
    assert am.is_label_value("b c") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
        "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]
    assert am.is_dns1123_subdomain("a" * 254)[0] == "must be no more than 253 characters"
    assert am.is_qualified_name("x" * 64)[0] == "name part must be no more than 63 bytes"
    assert am.name_errors(am.SUBDOMAIN, "web-", prefix=True) == []  # generateName may end with '-'
    assert am.name_errors(am.PATH_SEGMENT, "..") == ["may not be '..'"]


def test_a_label_key_and_value_found_valid_once_do_not_vouch_for_other_pairs(tmp_path):
    """Valid label keys and values are remembered (the same few on every object); a pair of a
    remembered key with a bad value, a remembered value under a bad key, or a value of another
    type is still judged."""
    root = write_repo(tmp_path, {"ns.yaml": NS, "a.yaml": config_map(name="a", extra=", labels: {tier: web}"),
                                 "b.yaml": config_map(name="b", extra=", labels: {tier: 'web!'}"),
                                 "c.yaml": config_map(name="c", extra=", labels: {'bad key!': web}"),
                                 "d.yaml": config_map(name="d", extra=", labels: {tier: [web]}")})
    found = {f.path for f in check_repo(root) if f.rule in CASES or f.rule.startswith("schema")}
    assert {"b.yaml", "c.yaml", "d.yaml"} <= found and "a.yaml" not in found


def test_the_usual_name_shortcut_never_hides_a_finding():
    """apiserver_metadata skips its name checks when the name and namespace are plainly valid
    (_plain_name_holds): for every form and many names, a skipped object has nothing to report."""
    import itertools
    import random

    from wavegate.load import Manifest
    from wavegate.validators import apiserver_metadata as meta

    pieces = ["web", "Web", "a.b", "a_b", "-x", "x-", "1", "{{ n }}", "x" * 60, "y" * 260, "a/b", "%", ".", ""]
    rng = random.Random(7)
    skipped = 0
    for form, kind in itertools.product([am.SUBDOMAIN, am.LABEL, am.LABEL_1035, am.PATH_SEGMENT],
                                        ["ConfigMap", "CronJob"]):
        for _ in range(150):
            metadata: dict = {"name": "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))}
            if rng.random() < 0.3:
                metadata["namespace"] = rng.choice(pieces + [3])
            if rng.random() < 0.1:
                metadata["generateName"] = rng.choice(pieces)
            manifest = Manifest("m.yaml", 0, {"apiVersion": "batch/v1" if kind == "CronJob" else "v1", "kind": kind,
                                              "metadata": metadata})
            if meta._plain_name_holds(metadata, form, kind):
                skipped += 1
                assert list(meta._name(manifest, form)) == [], metadata
    assert skipped > 100
