"""A seeded generator of mutated Kubernetes objects, for the differential test against the API server
(tests/integration/test_server_differential.py).

Each case is a valid base object of one kind with one mutation (an operator) applied: something a
person plausibly writes wrong (a name with '_', a port 70000, a selector that misses its template,
a quoted number, an unknown field), or a change that must stay valid (a name with ':' on an RBAC
object, an empty label value). A case's name is `<kind>-<operator>-<n>`, unique and stable for a
given seed, so a disagreement can be named in the test.

The YAML a case is written as quotes every string, so that PyYAML and sigs.k8s.io/yaml read the
same data (no `yes`, `1e3` or `12:30` left to either resolver).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

import yaml

NAMESPACE = "fuzz"
WIDGET_GROUP = "example.com"


@dataclass(frozen=True)
class Case:
    name: str  # <kind>-<operator>-<n>
    kind: str
    operator: str
    body: dict

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.operator)


class _QuotingDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml: fast for 1 MiB strings
    pass


def _quoted(dumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')


_QuotingDumper.add_representer(str, _quoted)


def to_yaml(body: dict) -> str:
    """YAML that means the same under PyYAML and sigs.k8s.io/yaml: every string double-quoted."""
    return yaml.dump(body, Dumper=_QuotingDumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=1 << 20)


# -- base objects ----------------------------------------------------------------------------------


def _meta(name: str, namespaced: bool = True, **extra) -> dict:
    meta = {"name": name, "labels": {"app": "web"}}
    if namespaced:
        meta["namespace"] = NAMESPACE
    meta.update(extra)
    return meta


def _pod_spec() -> dict:
    return {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}],
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                          "limits": {"memory": "128Mi"}}}],
            "volumes": [{"name": "config", "configMap": {"name": "web"}}]}


def _template(labels: dict | None = None) -> dict:
    return {"metadata": {"labels": dict(labels or {"app": "web"})}, "spec": _pod_spec()}


def _workload(kind: str, api_version: str = "apps/v1", **spec) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": _meta("web"),
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": _template(), **spec}}


def widget_crd(group: str = WIDGET_GROUP, kind: str = "Widget", plural: str = "widgets") -> dict:
    """The CRD of the test kind Widget: constraints of every sort a CRD carries."""
    spec_schema = {
        "type": "object", "required": ["size"],
        "x-kubernetes-validations": [{"rule": "self.minReplicas <= self.maxReplicas",
                                      "message": "minReplicas must not exceed maxReplicas"}],
        "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "region": {"type": "string", "pattern": "^[a-z]+-[a-z]+-[0-9]$", "default": "eu-west-1"},
            "tier": {"type": "string", "enum": ["free", "pro"], "default": "free"},
            "minReplicas": {"type": "integer", "default": 1},
            "maxReplicas": {"type": "integer", "default": 3},
            "owner": {"type": "string", "minLength": 3, "maxLength": 20},
            "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"],
                                "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
            "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ratio": {"type": "number"},
            "enabled": {"type": "boolean"},
        }}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "properties": {"spec": spec_schema}}}}]}}


def bases() -> dict[str, dict]:
    """One valid object per kind (every one is admitted by the API server as written)."""
    return {
        "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("web"),
                      "data": {"settings.json": "{}", "LOG_LEVEL": "info"}},
        "Secret": {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("web"), "type": "Opaque",
                   "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "admin"}},
        "Service": {"apiVersion": "v1", "kind": "Service", "metadata": _meta("web"),
                    "spec": {"selector": {"app": "web"},
                             "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
        "ServiceAccount": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("web")},
        "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("team-web", namespaced=False)},
        "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("web"), "spec": _pod_spec()},
        "Deployment": _workload("Deployment", replicas=2),
        "StatefulSet": _workload("StatefulSet", serviceName="web", replicas=1),
        "DaemonSet": _workload("DaemonSet"),
        "ReplicaSet": _workload("ReplicaSet", replicas=1),
        "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta("migrate"),
                "spec": {"backoffLimit": 2, "template": {"metadata": {"labels": {"app": "web"}},
                                                         "spec": {**_pod_spec(), "restartPolicy": "Never"}}}},
        "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta("nightly"),
                    "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                        "metadata": {"labels": {"app": "web"}}, "spec": {**_pod_spec(), "restartPolicy": "OnFailure"}}}}}},
        "Role": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta("web-reader"),
                 "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
        "ClusterRole": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": _meta("web-reader", namespaced=False),
                        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]},
        "RoleBinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": _meta("web-reader"),
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "web-reader"},
                        "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": NAMESPACE}]},
        "ClusterRoleBinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                               "metadata": _meta("web-reader", namespaced=False),
                               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                           "name": "web-reader"},
                               "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": NAMESPACE}]},
        "Ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta("web"),
                    "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}},
        "NetworkPolicy": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("web"),
                          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                                   "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}]}},
        "PodDisruptionBudget": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta("web"),
                                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
        "HorizontalPodAutoscaler": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                    "metadata": _meta("web"),
                                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                "name": "web"},
                                             "minReplicas": 2, "maxReplicas": 5}},
        "PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta("data"),
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}}}},
        "CustomResourceDefinition": widget_crd("fuzz.example.com", "Gadget", "gadgets"),
        "Widget": {"apiVersion": f"{WIDGET_GROUP}/v1", "kind": "Widget", "metadata": _meta("w"),
                   "spec": {"size": 3, "region": "us-east-1", "owner": "team-web", "tags": ["a", "b"],
                            "ports": [{"name": "http", "port": 80}], "labels": {"a": "b"}, "ratio": 0.5,
                            "enabled": True, "config": {"x": [1, {"y": "z"}]}}},
        "CICDPipeline": {"apiVersion": "kro.run/v1alpha1", "kind": "CICDPipeline", "metadata": _meta("web-cicd"),
                         "spec": {"name": "web-cicd", "namespace": "team-web",
                                  "aws": {"region": "us-west-2", "accountId": "123456789012",
                                          "clusterName": "peeks-hub-cluster"},
                                  "application": {"name": "web"},
                                  "gitlab": {"hostname": "gitlab.example.com", "username": "platform"}}},
        "Application": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                        "metadata": {"name": "web", "namespace": NAMESPACE,
                                     "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
                        "spec": {"project": "web",
                                 "source": {"repoURL": "https://gitlab.example.com/team/web.git", "path": "manifests",
                                            "targetRevision": "main"},
                                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "team-web"},
                                 "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                                "syncOptions": ["CreateNamespace=true"]}}},
        "AppProject": {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                       "metadata": {"name": "web", "namespace": NAMESPACE},
                       "spec": {"sourceRepos": ["https://gitlab.example.com/team/web.git"],
                                "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-web"}]}},
    }


# -- operators -------------------------------------------------------------------------------------

Operator = Callable[[random.Random, dict], "dict | None"]
# name -> (kinds or None for all, fn, how many mutants per kind or None for the generator's count)
OPERATORS: dict[str, tuple[tuple[str, ...] | None, Operator, int | None]] = {}


def operator(name: str, kinds: tuple[str, ...] | None = None, count: int | None = None):
    def register(fn: Operator) -> Operator:
        OPERATORS[name] = (kinds, fn, count)
        return fn
    return register


def _pick(rng: random.Random, values):
    return values[rng.randrange(len(values))]


def _pod(body: dict) -> dict | None:
    kind = body["kind"]
    if kind == "Pod":
        return body["spec"]
    if kind == "CronJob":
        return body["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return body["spec"]["template"]["spec"]
    return None


WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
SELECTOR_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")

NAMES_INVALID_EVERYWHERE = ("a/b", "web%2f", "..", ".")
NAMES_ODD = ("Web", "web_app", "web.app", "web:app", "1web", "web-", "-web", "WEB", "web app", "web.",
             "a" * 64, "a" * 254, "system:openshift:scc:anyuid", "web..app", "x")


@operator("name")
def _name(rng, body):
    body["metadata"]["name"] = _pick(rng, NAMES_ODD + NAMES_INVALID_EVERYWHERE)
    return body


@operator("generate-name")
def _generate_name(rng, body):
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = _pick(rng, ("web-", "web", "Web-", "web_", "web.", "a" * 70 + "-", "x-"))
    return body


@operator("label")
def _label(rng, body):
    key = _pick(rng, ("team", "example.com/team", "Team", "a b", "a/b/c", "/team", "Example.com/team", "team.",
                      "app.kubernetes.io/" + "n" * 64, "k" * 63, "_team", "x" * 254 + "/a"))
    value = _pick(rng, ("", "web", "web platform", "-web", "web_1", "a" * 63, "a" * 64, "web.", "1.2.3", "Web"))
    body["metadata"].setdefault("labels", {})[key] = value
    return body


@operator("annotation")
def _annotation(rng, body):
    key = _pick(rng, ("owner", "Example.com/Owner", "owner team", "a/b/c", "example.com/", "o" * 64, "-owner"))
    body["metadata"].setdefault("annotations", {})[key] = _pick(rng, ("", "x", "any text: at all", "{\"a\": 1}"))
    return body


@operator("annotations-size")
def _annotations_size(rng, body):
    size = _pick(rng, (256 * 1024 - 8, 256 * 1024 + 1, 300 * 1024))
    body["metadata"]["annotations"] = {"big": "x" * (size - 3)}
    return body


@operator("namespace")
def _namespace(rng, body):
    if "namespace" not in body["metadata"]:
        return None
    body["metadata"]["namespace"] = _pick(rng, ("team.web", "Team", "team_web", "a" * 64))
    return body


@operator("unknown-field")
def _unknown_field(rng, body):
    target = body.get("spec") if isinstance(body.get("spec"), dict) and rng.random() < 0.7 else body
    target[_pick(rng, ("replica", "colour", "lables", "selectr", "extra"))] = _pick(rng, (1, "x", {"a": 1}))
    return body


def _scalars(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _scalars(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _scalars(value, path + (i,))
    else:
        yield path, data


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _delete(data, path):
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


@operator("retype")
def _retype(rng, body):
    """A scalar of another JSON type: a quoted number, a number for a string, a string for a bool."""
    places = [(p, v) for p, v in _scalars(body) if p[:1] not in (("apiVersion",), ("kind",))
              and p[:2] != ("metadata", "name") and p[:2] != ("metadata", "namespace")]
    path, value = _pick(rng, places)
    if isinstance(value, bool):
        new = _pick(rng, ("true", 1))
    elif isinstance(value, (int, float)):
        new = _pick(rng, (str(value), float(value) + 0.5, True))
    else:
        new = _pick(rng, (7, True, 1.5, None, ["x"]))
    _set(body, path, new)
    return body


@operator("drop")
def _drop(rng, body):
    """A field removed: required ones are refused, the others defaulted or absent."""
    places = [p for p, _ in _scalars(body) if len(p) > 1 and p[0] not in ("apiVersion", "kind", "metadata")]
    places += [p[:-1] for p in places if len(p) > 2]
    if not places:
        return None
    path = _pick(rng, sorted(set(places), key=str))
    _delete(body, path)
    return body


@operator("config-key", ("ConfigMap", "Secret"))
def _config_key(rng, body):
    key = _pick(rng, ("bad key!", "..data", ".", "..", "a/b", "k" * 254, ".env", "_x", "A-b.c_d", "key:1"))
    field = "data" if body["kind"] == "ConfigMap" else _pick(rng, ("data", "stringData"))
    value = "dmFsdWU=" if field == "data" and body["kind"] == "Secret" else "value"
    body.setdefault(field, {})[key] = value
    return body


@operator("binary-data", ("ConfigMap",))
def _binary_data(rng, body):
    key = _pick(rng, ("LOG_LEVEL", "blob.bin", "bad key"))
    body["binaryData"] = {key: _pick(rng, ("aGVsbG8=", "hello!", "aGVsbG8"))}
    return body


@operator("data-size", ("ConfigMap", "Secret"))
def _data_size(rng, body):
    size = _pick(rng, (1024 * 1024 - 64, 1024 * 1024 + 10))
    if body["kind"] == "ConfigMap":
        body["data"] = {"big": "x" * size}
    else:
        body.pop("data", None)
        body["stringData"] = {"big": "x" * size}
    return body


@operator("base64", ("Secret",))
def _base64(rng, body):
    body["data"]["password"] = _pick(rng, ("hunter2", "aHVudGVyMg", "aHVudGVy\nMg==", "aHVudGVyMg==", "####"))
    return body


@operator("secret-type", ("Secret",))
def _secret_type(rng, body):
    body["type"] = _pick(rng, ("kubernetes.io/tls", "kubernetes.io/dockerconfigjson", "kubernetes.io/basic-auth",
                               "kubernetes.io/ssh-auth", "kubernetes.io/service-account-token",
                               "kubernetes.io/dockercfg", "example.com/custom"))
    extra = _pick(rng, ({}, {"tls.crt": "x"}, {"tls.crt": "x", "tls.key": "y"}, {".dockerconfigjson": "{}"},
                        {".dockerconfigjson": "not json"}, {"username": "u"}, {"ssh-privatekey": "k"},
                        {".dockercfg": "{\"a\": {}}"}))
    body["stringData"].update(extra)
    if rng.random() < 0.3:
        body["metadata"]["annotations"] = {"kubernetes.io/service-account.name": "web"}
    return body


@operator("container-name", WORKLOAD_KINDS)
def _container_name(rng, body):
    spec = _pod(body)
    name = _pick(rng, ("Web", "web_app", "web.app", "a" * 64, "web", "web-1", "1web", ""))
    if rng.random() < 0.3:
        spec["containers"].append({"name": name, "image": "busybox:1.36"})
    else:
        spec["containers"][0]["name"] = name
    return body


@operator("init-container", WORKLOAD_KINDS)
def _init_container(rng, body):
    spec = _pod(body)
    spec["initContainers"] = [{"name": _pick(rng, ("web", "init", "Init")), "image": "busybox:1.36"}]
    return body


@operator("container-port", WORKLOAD_KINDS)
def _container_port(rng, body):
    port = _pod(body)["containers"][0]["ports"][0]
    what = _pick(rng, ("containerPort", "hostPort", "name", "protocol", "duplicate"))
    if what == "containerPort":
        port["containerPort"] = _pick(rng, (0, 65535, 65536, 70000, -1, 1))
    elif what == "hostPort":
        port["hostPort"] = _pick(rng, (0, 80, 70000, -5))
    elif what == "name":
        port["name"] = _pick(rng, ("HTTP", "http-metrics-port", "8080", "web--http", "-http", "h", "a" * 16, "grpc-web"))
    elif what == "protocol":
        port["protocol"] = _pick(rng, ("tcp", "UDP", "SCTP", "HTTP"))
    else:
        _pod(body)["containers"][0]["ports"].append(dict(port, containerPort=9090))
    return body


@operator("probe-port", WORKLOAD_KINDS)
def _probe_port(rng, body):
    _pod(body)["containers"][0]["readinessProbe"]["httpGet"]["port"] = _pick(rng, (
        "http", "HTTP", "metrics-endpoint-port", 0, 70000, 8080, "8080"))
    return body


@operator("pull-policy", WORKLOAD_KINDS)
def _pull_policy(rng, body):
    _pod(body)["containers"][0]["imagePullPolicy"] = _pick(rng, ("Always", "always", "IfNotPresent", "Never", "Sometimes"))
    return body


@operator("restart-policy", WORKLOAD_KINDS)
def _restart_policy(rng, body):
    spec = _pod(body)
    value = _pick(rng, ("Always", "OnFailure", "Never", "never", None))
    if value is None:
        spec.pop("restartPolicy", None)
    else:
        spec["restartPolicy"] = value
    return body


@operator("volume-mount", WORKLOAD_KINDS)
def _volume_mount(rng, body):
    spec = _pod(body)
    what = _pick(rng, ("unknown", "duplicate-path", "volume-name", "duplicate-volume"))
    if what == "unknown":
        spec["containers"][0]["volumeMounts"][0]["name"] = _pick(rng, ("settings", "Config"))
    elif what == "duplicate-path":
        spec["containers"][0]["volumeMounts"].append({"name": "config", "mountPath": "/etc/web"})
    elif what == "volume-name":
        name = _pick(rng, ("Config", "config_1", "a" * 64))
        spec["volumes"][0]["name"] = name
        spec["containers"][0]["volumeMounts"][0]["name"] = name
    else:
        spec["volumes"].append({"name": "config", "emptyDir": {}})
    return body


@operator("selector", SELECTOR_KINDS + ("Job",))
def _selector(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("mismatch", "empty", "expressions", "extra-template-label", "label-value", "manual"))
    if what == "mismatch":
        spec["template"]["metadata"]["labels"] = {"app": "website"}
    elif what == "empty":
        spec["selector"] = {}
    elif what == "expressions":
        spec["selector"] = {"matchExpressions": [{"key": "app", "operator": _pick(rng, ("In", "NotIn", "Exists")),
                                                  "values": ["web"]}]}
        if spec["selector"]["matchExpressions"][0]["operator"] == "Exists":
            del spec["selector"]["matchExpressions"][0]["values"]
    elif what == "extra-template-label":
        spec["template"]["metadata"]["labels"]["tier"] = "frontend"
    elif what == "label-value":
        spec["selector"] = {"matchLabels": {"app": "web app"}}
        spec["template"]["metadata"]["labels"] = {"app": "web app"}
    else:
        spec["manualSelector"] = _pick(rng, (True, False))
        spec["selector"] = {"matchLabels": {"app": "web"}}
    return body


@operator("strategy", ("Deployment", "StatefulSet", "DaemonSet"))
def _strategy(rng, body):
    field = "strategy" if body["kind"] == "Deployment" else "updateStrategy"
    body["spec"][field] = {"type": _pick(rng, ("Recreate", "RollingUpdate", "OnDelete", "rolling", "BlueGreen"))}
    return body


@operator("service-port", ("Service",))
def _service_port(rng, body):
    ports = body["spec"]["ports"]
    what = _pick(rng, ("port", "targetPort", "name", "second", "protocol", "nodePort"))
    if what == "port":
        ports[0]["port"] = _pick(rng, (0, 70000, 65535, -1))
    elif what == "targetPort":
        ports[0]["targetPort"] = _pick(rng, ("HTTP", "http-metrics-port", 0, 70000, 8080, "8080", "web--http"))
    elif what == "name":
        ports[0]["name"] = _pick(rng, ("HTTP", "http.web", "a" * 64, "http_1", "1http"))
    elif what == "second":
        second = {"port": 443, "targetPort": 8443}
        if rng.random() < 0.5:
            second["name"] = _pick(rng, ("http", "https"))
        ports.append(second)
    elif what == "protocol":
        ports[0]["protocol"] = _pick(rng, ("tcp", "UDP", "HTTP"))
    else:
        ports[0]["nodePort"] = _pick(rng, (30080, 80))
        body["spec"]["type"] = _pick(rng, ("ClusterIP", "NodePort"))
    return body


@operator("service-type", ("Service",))
def _service_type(rng, body):
    spec = body["spec"]
    spec["type"] = _pick(rng, ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "clusterip", "Internal"))
    if spec["type"] == "ExternalName":
        spec["externalName"] = _pick(rng, ("db.example.com", "DB.example.com", "db_1.example.com"))
    if rng.random() < 0.3:
        spec["sessionAffinity"] = _pick(rng, ("None", "ClientIP", "Sticky"))
    return body


@operator("service-selector", ("Service",))
def _service_selector(rng, body):
    body["spec"]["selector"] = {_pick(rng, ("app", "a b", "example.com/app")): _pick(rng, ("web", "web app", ""))}
    return body


@operator("rbac-name", ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"))
def _rbac_name(rng, body):
    body["metadata"]["name"] = _pick(rng, ("system:openshift:scc:anyuid", "Shop_Deployers", "a b", "a/b", "web%",
                                           "..", "x" * 300))
    return body


@operator("role-ref", ("RoleBinding", "ClusterRoleBinding"))
def _role_ref(rng, body):
    body["roleRef"]["kind"] = _pick(rng, ("Role", "ClusterRole", "role", "User"))
    return body


@operator("cron-name", ("CronJob",))
def _cron_name(rng, body):
    body["metadata"]["name"] = "n" * _pick(rng, (52, 53, 63))
    return body


@operator("job-name", ("Job",))
def _job_name(rng, body):
    body["metadata"]["name"] = "j" * _pick(rng, (63, 64, 70))
    return body


@operator("crd-names", ("CustomResourceDefinition",))
def _crd_names(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("name", "plural", "kind", "listKind", "singular", "group", "scope"))
    if what == "name":
        group = spec["group"]
        body["metadata"]["name"] = _pick(rng, (f"gadget.{group}", "gadgets.example.com", "gadgets"))
    elif what == "plural":
        spec["names"]["plural"] = _pick(rng, ("Gadgets", "gadget_s", "gadgets"))
    elif what == "kind":
        spec["names"]["kind"] = _pick(rng, ("gadget", "Gad get", "Gadget"))
    elif what == "listKind":
        del spec["names"]["listKind"]
    elif what == "singular":
        spec["names"]["singular"] = _pick(rng, ("Gadget", "gadget"))
    elif what == "group":
        spec["group"] = _pick(rng, ("fuzz", "Fuzz.example.com", "fuzz.example.com"))
    else:
        spec["scope"] = _pick(rng, ("Cluster", "namespaced", "Global"))
    return body


@operator("crd-versions", ("CustomResourceDefinition",))
def _crd_versions(rng, body):
    versions = body["spec"]["versions"]
    what = _pick(rng, ("no-storage", "two-storage", "not-served", "name", "second", "duplicate"))
    if what == "no-storage":
        versions[0]["storage"] = False
    elif what == "two-storage":
        versions.append(dict(copy.deepcopy(versions[0]), name="v2"))
    elif what == "not-served":
        versions[0]["served"] = False
    elif what == "name":
        versions[0]["name"] = _pick(rng, ("V1", "v1.0", "1", "v1beta1"))
    elif what == "second":
        versions.append(dict(copy.deepcopy(versions[0]), name="v2", storage=False, served=rng.random() < 0.5))
    else:
        versions.append(dict(copy.deepcopy(versions[0]), storage=False))
    return body


def _crd_spec_schema(body) -> dict:
    return body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


@operator("crd-schema", ("CustomResourceDefinition",))
def _crd_schema(rng, body):
    schema = _crd_spec_schema(body)
    props = schema["properties"]
    what = _pick(rng, ("no-type", "bad-type", "pattern", "default", "list-map-key", "enum-default", "nullable-map"))
    if what == "no-type":
        props["loose"] = {"description": "no type"}
    elif what == "bad-type":
        props["size"]["type"] = _pick(rng, ("int", "Integer"))
    elif what == "pattern":
        props["region"]["pattern"] = _pick(rng, ("^(?=a).*$", "[a-z", "^[a-z]+$"))
    elif what == "default":
        props["size"]["default"] = _pick(rng, (0, 5, "3"))
    elif what == "list-map-key":
        props["ports"]["items"]["required"] = []
    elif what == "enum-default":
        props["tier"]["default"] = _pick(rng, ("gold", "pro"))
    else:
        props["labels"]["nullable"] = True
    return body


@operator("crd-cel", ("CustomResourceDefinition",))
def _crd_cel(rng, body):
    schema = _crd_spec_schema(body)
    rule = _pick(rng, (
        "self.size > 0",  # compiles
        "self.size >",  # syntax error
        "self.nosuch == 1",  # no such field (the server type-checks against the schema)
        "self.size == 'x'",  # type error
        "self.tags.all(t, t.size() < 10)",  # cheap: tags has maxItems
        "self.labels.all(k, self.labels.all(j, k != j || self.labels[k] == self.labels[j]))",  # no maxProperties
        "has(self.owner) ? self.owner.matches('^[a-z]+$') : true",
        "self.tags.all(t, t.matches('^a'))",  # 3 items, strings without maxLength
        "self.labels.all(k, k.matches('^a'))",  # keys of an unbounded map
        "self.ports.all(p, p.name.startsWith('a'))",  # an unbounded list of objects, unbounded strings
        "self.ports.all(p, p.port > 0)",  # an unbounded list, a cheap body
        "self.ports.all(p, p.name.matches('^[a-z]+$'))",  # an unbounded list, a regex over unbounded strings
        "self.ports.all(p, p.nme == 'a')",  # a typo inside a comprehension
        "self.region.startsWith('eu')",
        "self.size == 1.5",  # int and double
        "self.ratio > 1",  # double and int
        "self.enabled == 'true'",  # bool and string
        "has(self.nosuch)",
        "self.tier in ['free', 'pro']",
    ))
    schema["x-kubernetes-validations"] = [{"rule": rule}]
    return body


@operator("widget-spec", ("Widget",))
def _widget_spec(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("size", "region", "tier", "owner", "tags", "ports", "cel", "drop-size", "labels"))
    if what == "size":
        spec["size"] = _pick(rng, (0, 1, 10, 11, 5.5, "3"))
    elif what == "region":
        spec["region"] = _pick(rng, ("EU", "eu-west-1", "eu-west"))
    elif what == "tier":
        spec["tier"] = _pick(rng, ("gold", "pro", "Free"))
    elif what == "owner":
        spec["owner"] = _pick(rng, ("ab", "abc", "a" * 21, "é" * 20))
    elif what == "tags":
        spec["tags"] = _pick(rng, (["a", "a"], ["a", "b", "c", "d"], []))
    elif what == "ports":
        spec["ports"] = _pick(rng, ([{"name": "a"}, {"name": "a"}], [{"port": 1}], [{"name": "a", "colour": 1}]))
    elif what == "cel":
        spec["minReplicas"], spec["maxReplicas"] = _pick(rng, ((5, 2), (2, 5), (4, None)))
        if spec["maxReplicas"] is None:
            del spec["maxReplicas"]  # the default (3) applies before the rule
    elif what == "drop-size":
        del spec["size"]
    else:
        spec["labels"] = {"a": _pick(rng, (1, "1", None))}
    return body


@operator("pipeline-spec", ("CICDPipeline",))
def _pipeline_spec(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("region", "account", "gitlab", "name", "drop-region", "prefix"))
    if what == "region":
        spec["aws"]["region"] = _pick(rng, ("mars-1", "eu-west-1", "US-WEST-2"))
    elif what == "account":
        spec["aws"]["accountId"] = _pick(rng, ("12345", 123456789012, "1234567890123"))
    elif what == "gitlab":
        del spec["gitlab"]
    elif what == "name":
        spec["name"] = _pick(rng, ("Web", "w" * 59, "web-cicd-2"))
    elif what == "drop-region":
        del spec["aws"]["region"]
    else:
        spec["aws"]["resourcePrefix"] = _pick(rng, ("Peeks", "peeks-2", "-p"))
    return body


@operator("application-spec", ("Application",))
def _application_spec(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("destination", "project", "source", "prune", "sync-options", "ignore", "sources"))
    if what == "destination":
        del spec["destination"]
    elif what == "project":
        spec["project"] = _pick(rng, ("", None))
        if spec["project"] is None:
            del spec["project"]
    elif what == "source":
        del spec["source"]["repoURL"]
    elif what == "prune":
        spec["syncPolicy"]["automated"]["prune"] = _pick(rng, ("yes", "true", False))
    elif what == "sync-options":
        spec["syncPolicy"]["syncOptions"] = _pick(rng, ("CreateNamespace=true", [1], ["Validate=false"]))
    elif what == "ignore":
        spec["ignoreDifferences"] = [{"group": "apps", "kind": "Deployment",
                                      "jsonPointers": _pick(rng, (["/spec/replicas"], "/spec/replicas"))}]
    else:
        spec["sources"] = [spec.pop("source")]
    return body


@operator("project-spec", ("AppProject",))
def _project_spec(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("repos", "destinations", "whitelist"))
    if what == "repos":
        spec["sourceRepos"] = _pick(rng, ("*", ["*"], [1]))
    elif what == "destinations":
        spec["destinations"] = [{"server": "https://kubernetes.default.svc", "namespace": _pick(rng, ("*", 7))}]
    else:
        spec["clusterResourceWhitelist"] = [{"group": "", "kind": _pick(rng, ("Namespace", None))}]
        if spec["clusterResourceWhitelist"][0]["kind"] is None:
            del spec["clusterResourceWhitelist"][0]["kind"]
    return body


@operator("ingress", ("Ingress",))
def _ingress(rng, body):
    rule = body["spec"]["rules"][0]
    path = rule["http"]["paths"][0]
    what = _pick(rng, ("pathType", "path", "host", "port"))
    if what == "pathType":
        path["pathType"] = _pick(rng, ("Prefix", "Exact", "ImplementationSpecific", "prefix", "Regex"))
    elif what == "path":
        path["path"] = _pick(rng, ("/", "api", "/api/", "/a b"))
    elif what == "host":
        rule["host"] = _pick(rng, ("Web.example.com", "*.example.com", "web_1.example.com", "10.0.0.1", "web"))
    else:
        path["backend"]["service"]["port"] = _pick(rng, ({"name": "HTTP"}, {"number": 70000}, {"number": 80}))
    return body


@operator("network-policy", ("NetworkPolicy",))
def _network_policy(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("policyTypes", "port", "protocol"))
    if what == "policyTypes":
        spec["policyTypes"] = [_pick(rng, ("Ingress", "Egress", "ingress", "Both"))]
    elif what == "port":
        spec["ingress"][0]["ports"][0]["port"] = _pick(rng, (0, 70000, "http", "HTTP", 443))
    else:
        spec["ingress"][0]["ports"][0]["protocol"] = _pick(rng, ("UDP", "tcp", "ICMP"))
    return body


@operator("pdb", ("PodDisruptionBudget",))
def _pdb(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("both", "percent", "negative"))
    if what == "both":
        spec["minAvailable"] = 1
    elif what == "percent":
        spec["maxUnavailable"] = _pick(rng, ("50%", "50", "150%", "half"))
    else:
        spec["maxUnavailable"] = -1
    return body


@operator("hpa", ("HorizontalPodAutoscaler",))
def _hpa(rng, body):
    spec = body["spec"]
    spec["minReplicas"], spec["maxReplicas"] = _pick(rng, ((0, 5), (6, 5), (1, 1), (2, 0)))
    return body


@operator("pvc", ("PersistentVolumeClaim",))
def _pvc(rng, body):
    spec = body["spec"]
    what = _pick(rng, ("accessModes", "storage", "no-storage"))
    if what == "accessModes":
        spec["accessModes"] = [_pick(rng, ("ReadWriteOnce", "ReadWriteMany", "RWO", "ReadWriteOncePod"))]
    elif what == "storage":
        spec["resources"]["requests"]["storage"] = _pick(rng, ("1Gi", "1G", "one gig", "-1Gi", "0"))
    else:
        spec["resources"] = {"requests": {}}
    return body


@operator("replicas", ("Deployment", "StatefulSet", "ReplicaSet"))
def _replicas(rng, body):
    body["spec"]["replicas"] = _pick(rng, (-1, 0, 3))
    return body


@operator("quantity", WORKLOAD_KINDS)
def _quantity(rng, body):
    resources = _pod(body)["containers"][0]["resources"]
    resources["requests"]["memory"] = _pick(rng, ("64Mi", "64MB", "64 Mi", "lots", "1e3", "0.5Gi"))
    return body


@operator("schedule", ("CronJob",))
def _schedule(rng, body):
    body["spec"]["schedule"] = _pick(rng, ("*/5 * * * *", "@hourly", "* * *", "61 * * * *", "0 3 * * * *"))
    return body


@operator("cluster-state", ("Pod", "Service", "ConfigMap"), count=2)
def _cluster_state(rng, body):
    """What only a cluster knows: its priority classes, its service IP range, its namespaces."""
    if body["kind"] == "Pod":
        body["spec"]["priorityClassName"] = "high-priority"
    elif body["kind"] == "Service":
        body["spec"]["clusterIP"] = "10.96.0.10"  # the local control plane serves 10.0.0.0/24
    else:
        body["metadata"]["namespace"] = "other"
    return body


# -- generation ------------------------------------------------------------------------------------


def _own_group(body: dict, index: int) -> dict:
    """Each generated CRD defines its own group, so no two of them define the same kind (a store
    keeps the first definition of a kind, and a repository with two is already wrong)."""
    if body["kind"] == "CustomResourceDefinition":
        group = f"g{index}.{body['spec']['group']}"
        body["spec"]["group"] = group
        body["metadata"]["name"] = f"{body['spec']['names']['plural']}.{group}"
    return body



def generate(seed: int, per_operator: int) -> list[Case]:
    """`per_operator` mutants of each (kind, operator) pair, and each base object once."""
    rng = random.Random(seed)
    cases: list[Case] = []
    base = bases()
    for kind, body in base.items():
        cases.append(Case(f"{kind.lower()}-base-0", kind, "base", copy.deepcopy(body)))
        for name, (kinds, fn, count) in OPERATORS.items():
            if kinds is not None and kind not in kinds:
                continue
            for n in range(count or per_operator):
                mutated = fn(rng, _own_group(copy.deepcopy(body), len(cases)))
                if mutated is not None:
                    cases.append(Case(f"{kind.lower()}-{name}-{n}", kind, name, mutated))
    return cases
