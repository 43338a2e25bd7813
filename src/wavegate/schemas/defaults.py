"""The object as the API server holds it when admission runs: after decoding and defaulting.

ValidatingAdmissionPolicies (and a CRD's CEL rules) see defaulted objects, not what the file says:
a Deployment without `replicas` has replicas 1, a CICDPipeline without `spec.aws.region` has the
region its ResourceGraphDefinition defaults. `admitted(store, manifest)` gives that object:

* custom resources (CRDs, RGD-generated CRDs, Argo CD's kinds): the schema engine's result, with
  structural-schema defaults applied and unknown fields pruned, as apiextensions does;
* built-in kinds: the defaulting functions of k8s.io/kubernetes v1.37 (pkg/apis/*/v1/defaults.go,
  SetDefaults_*) for the kinds GitOps repositories hold, ported here; fields filled in later by the
  registry (a Service's clusterIP, a Job's generated selector) are not included.

tests/integration/test_server_differential.py compares `builtin_defaults` with what a real API
server returns for the same objects (dry-run), field by field.
"""

from __future__ import annotations

import copy
import marshal

TERMINATION_MESSAGE_PATH = "/dev/termination-log"


def admitted(store, manifest) -> dict:
    """`manifest.data` as admission sees it; the data itself when nothing is known to default."""
    entry = store.lookup(manifest.api_version, manifest.kind) if store is not None else None
    if entry is None or entry.unavailable:
        return manifest.data
    if entry.origin == "kubernetes":
        return builtin_defaults(manifest.data, manifest.group, manifest.version, manifest.kind,
                                store.kubernetes_version)
    if entry.dialect == "json":
        return manifest.data
    _, result = entry.validate(manifest.data)
    return result if isinstance(result, dict) else manifest.data


def builtin_defaults(data: dict, group: str, version: str, kind: str, kubernetes_version: str = "1.37") -> dict:
    """A copy of a built-in object as the API server holds it: without null fields (decoding into
    Go structs drops them: `annotations:` left empty is no map at all, which a policy's
    `.?annotations.orValue({})` must see as absent; a map's null entry is its zero value), with the
    defaults of `kubernetes_version` applied. `data` itself when neither changes anything."""
    handler = _KINDS.get((group, version, kind))
    nulls = has_null(data)
    if handler is None and not nulls:
        return data
    out = copy_data(data)
    if nulls:
        _drop_nulls(out, kind)
    if handler is None:
        return out
    if handler is _stateful_set:
        _stateful_set(out, _minor(kubernetes_version) >= 37)
    else:
        handler(out)
    return out


def copy_data(data):
    """A deep copy of JSON-like data (marshal copies it in C, ten times faster than copy.deepcopy,
    which was half the cost of the policy check)."""
    try:
        return marshal.loads(marshal.dumps(data))
    except ValueError:  # a value marshal cannot hold (never from the loader)
        return copy.deepcopy(data)


def _has_null(data) -> bool:
    """Whether a mapping anywhere in `data` has a null value (the native loader answers it in C)."""
    pending = [data]
    while pending:
        value = pending.pop()
        values = value.values() if type(value) is dict else value
        if type(value) is dict and None in values:
            return True
        pending.extend(v for v in values if type(v) is dict or type(v) is list)
    return False


try:
    from wavegate._native_loader import has_null
except ImportError:  # not built (or built before it had has_null)
    has_null = _has_null


# Go maps among the fields of the built-in kinds: a null entry of one decodes to the zero value
# (a resource quantity "0", a string ""), where a null struct field is simply absent.
_QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "capacity", "overhead", "max", "min", "default",
                            "defaultRequest", "maxLimitRequestRatio"})
_STRING_MAPS = frozenset({"labels", "annotations", "matchLabels", "nodeSelector", "data", "stringData", "binaryData",
                          "parameters", "volumeAttributes"})
_SELECTOR_MAPS = frozenset({"Service", "ReplicationController"})  # (elsewhere `selector` is a LabelSelector)


def _drop_nulls(data: dict, kind: str) -> None:
    """Null fields dropped, null entries of maps made their zero value, as decoding into the Go
    types does."""
    pending: list[tuple[object, str]] = [(data, "")]
    while pending:
        value, key = pending.pop()
        if type(value) is dict:
            zero = "0" if key in _QUANTITY_MAPS else "" if key in _STRING_MAPS or (
                key == "selector" and kind in _SELECTOR_MAPS) else None
            for name in [name for name, item in value.items() if item is None]:
                if zero is None:
                    del value[name]
                else:
                    value[name] = zero
            pending.extend((item, name) for name, item in value.items() if type(item) is dict or type(item) is list)
        elif type(value) is list:
            pending.extend((item, "") for item in value if type(item) is dict or type(item) is list)


def _minor(version: str) -> int:
    try:
        return int(str(version).split(".")[1])
    except (IndexError, ValueError):
        return 99


def _dict(parent: dict, key: str) -> dict:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {} if value is None else value
    return value if isinstance(value, dict) else {}


def _spec(obj: dict) -> dict:
    return _dict(obj, "spec")


def _default(target: dict, key: str, value) -> None:
    if target.get(key) is None or target.get(key) == "":
        target[key] = value


# -- pods -------------------------------------------------------------------------------------------


def _image_tag(image: str) -> str:
    """The tag docker's reference parser finds (`latest` when none), as parsers.ParseImageName."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "latest" if "@" not in image else ""


def _container(container: dict) -> None:
    if not isinstance(container, dict):
        return
    image = container.get("image")
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = "Always" if isinstance(image, str) and _image_tag(image) == "latest" \
            else "IfNotPresent"
    _default(container, "terminationMessagePath", TERMINATION_MESSAGE_PATH)
    _default(container, "terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            _probe(container[probe])
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict) and isinstance(lifecycle[hook].get("httpGet"), dict):
                _http_get(lifecycle[hook]["httpGet"])


def _probe(probe: dict) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    if isinstance(probe.get("httpGet"), dict):
        _http_get(probe["httpGet"])


def _http_get(action: dict) -> None:
    _default(action, "path", "/")
    _default(action, "scheme", "HTTP")


def _volume(volume: dict) -> None:
    if not isinstance(volume, dict):
        return
    sources = [k for k in volume if k != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for source in ("configMap", "secret", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            _default(volume[source], "defaultMode", 420)
    for item in (volume.get("projected") or {}).get("sources") or [] if isinstance(volume.get("projected"), dict) else []:
        if isinstance(item, dict) and isinstance(item.get("serviceAccountToken"), dict):
            _default(item["serviceAccountToken"], "expirationSeconds", 3600)


def pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and what it reaches (containers, volumes, probes)."""
    if not isinstance(spec, dict):
        return
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        name = spec.get("serviceAccountName") or spec.get("serviceAccount")
        spec["serviceAccountName"] = spec["serviceAccount"] = name
    _default(spec, "dnsPolicy", "ClusterFirst")
    _default(spec, "restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    _default(spec, "terminationGracePeriodSeconds", 30)
    _default(spec, "schedulerName", "default-scheduler")
    for group in ("containers", "initContainers"):
        for container in spec.get(group) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)


def _pod(obj: dict) -> None:
    spec = _spec(obj)
    pod_spec(spec)
    _default(spec, "enableServiceLinks", True)
    for group in ("containers", "initContainers"):
        for container in spec.get(group) or []:
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = _dict(resources, "requests")
                for key, value in resources["limits"].items():
                    requests.setdefault(key, copy.deepcopy(value))


def _template(spec: dict) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(_dict(template, "spec"))


# -- workloads --------------------------------------------------------------------------------------


def _deployment(obj: dict) -> None:
    spec = _spec(obj)
    _default(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", "25%")
        _default(rolling, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _daemon_set(obj: dict) -> None:
    spec = _spec(obj)
    strategy = _dict(spec, "updateStrategy")
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _default(rolling, "maxUnavailable", 1)
        _default(rolling, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _stateful_set(obj: dict, max_unavailable: bool = True) -> None:
    # max_unavailable: the MaxUnavailableStatefulSet feature, on by default from Kubernetes 1.37
    spec = _spec(obj)
    _default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        _default(strategy["rollingUpdate"], "partition", 0)
        if max_unavailable:
            _default(strategy["rollingUpdate"], "maxUnavailable", 1)
    retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    _default(retention, "whenDeleted", "Retain")
    _default(retention, "whenScaled", "Retain")
    _default(spec, "replicas", 1)
    _default(spec, "revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _default(_spec(claim), "volumeMode", "Filesystem")
    _template(spec)


def _replica_set(obj: dict) -> None:
    spec = _spec(obj)
    _default(spec, "replicas", 1)
    _template(spec)


def job_spec(obj: dict, spec: dict) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    _default(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _default(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") is not None
             else "TerminatingOrFailed")
    if spec.get("manualSelector") is None:
        spec["manualSelector"] = False
    _template(spec)
    labels = (spec.get("template") or {}).get("metadata", {}).get("labels") \
        if isinstance(spec.get("template"), dict) and isinstance(spec["template"].get("metadata"), dict) else None
    if labels and not _dict(obj, "metadata").get("labels"):
        obj["metadata"]["labels"] = copy.deepcopy(labels)


def _job(obj: dict) -> None:
    job_spec(obj, _spec(obj))


def _cron_job(obj: dict) -> None:
    spec = _spec(obj)
    _default(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    template = spec.get("jobTemplate")
    if isinstance(template, dict):
        _template(_spec(template))


# -- services, config, storage, networking, RBAC -----------------------------------------------------


def _service(obj: dict) -> None:
    spec = _spec(obj)
    _default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = _dict(spec, "sessionAffinityConfig")
        _default(_dict(config, "clientIP"), "timeoutSeconds", 10800)
    _default(spec, "type", "ClusterIP")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        _default(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer", "ClusterIP"):
        _default(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def _secret(obj: dict) -> None:
    import base64
    import binascii

    _default(obj, "type", "Opaque")
    for key, value in list((obj.get("data") or {}).items()) if isinstance(obj.get("data"), dict) else []:
        if isinstance(value, str):  # decoded and stored as bytes: written back canonically
            try:
                obj["data"][key] = base64.b64encode(base64.b64decode(value.replace("\n", "").replace("\r", ""),
                                                                     validate=True)).decode()
            except (binascii.Error, ValueError):
                pass
    strings = obj.pop("stringData", None)
    if isinstance(strings, dict):  # merged into data when the object is decoded (v1 conversion)
        data = _dict(obj, "data")
        for key, value in strings.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()


def _pvc(obj: dict) -> None:
    _default(_spec(obj), "volumeMode", "Filesystem")


def _namespace(obj: dict) -> None:
    metadata = _dict(obj, "metadata")
    if metadata.get("name"):
        _dict(metadata, "labels")["kubernetes.io/metadata.name"] = metadata["name"]


def _network_policy(obj: dict) -> None:
    spec = _spec(obj)
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule or {}).get("ports") or [] if isinstance(rule, dict) else []:
                if isinstance(port, dict):
                    _default(port, "protocol", "TCP")


def _binding(obj: dict) -> None:
    ref = obj.get("roleRef")
    if isinstance(ref, dict):
        _default(ref, "apiGroup", "rbac.authorization.k8s.io")
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _hpa(obj: dict) -> None:
    spec = _spec(obj)
    _default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]


def _crd(obj: dict) -> None:
    spec = _spec(obj)
    names = _dict(spec, "names")
    kind = names.get("kind")
    if isinstance(kind, str):
        _default(names, "singular", kind.lower())
        if kind:
            _default(names, "listKind", kind + "List")
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}


_KINDS = {
    ("", "v1", "Pod"): _pod,
    ("", "v1", "PodTemplate"): lambda obj: pod_spec(_dict(_dict(obj, "template"), "spec")),
    ("", "v1", "ReplicationController"): lambda obj: _template(_spec(obj)),
    ("", "v1", "Service"): _service,
    ("", "v1", "Secret"): _secret,
    ("", "v1", "PersistentVolumeClaim"): _pvc,
    ("", "v1", "Namespace"): _namespace,
    ("apps", "v1", "Deployment"): _deployment,
    ("apps", "v1", "DaemonSet"): _daemon_set,
    ("apps", "v1", "StatefulSet"): _stateful_set,
    ("apps", "v1", "ReplicaSet"): _replica_set,
    ("batch", "v1", "Job"): _job,
    ("batch", "v1", "CronJob"): _cron_job,
    ("networking.k8s.io", "v1", "NetworkPolicy"): _network_policy,
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"): _binding,
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): _binding,
    ("autoscaling", "v2", "HorizontalPodAutoscaler"): _hpa,
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"): _crd,
}
