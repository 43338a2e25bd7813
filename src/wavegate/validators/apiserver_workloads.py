"""What the API server checks in pod specs and workloads beyond the OpenAPI schema: container names,
container, probe and Service ports, volume mounts, the values its Go code accepts for restartPolicy,
imagePullPolicy, protocol and Service type, and that a workload's selector selects its own pod
template. Ported from k8s.io/kubernetes v1.37 pkg/apis/core, apps and batch validation; messages are
the server's own.

Values the server fills in by default (protocol TCP, restartPolicy Always, a Service's type
ClusterIP) are judged after defaulting, as the server judges them.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavegate import apimachinery as am
from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context, per_object
from wavegate.validators.apiserver_metadata import WORKLOADS, label_findings

_K = "kubernetes"

CONTAINER_NAME = declare(
    id="container-name-invalid", family=_K, severity="error",
    title="A container name is invalid or used twice",
    rationale="""Container names must be DNS-1123 labels (lowercase letters, digits and '-', at most 63) and unique
    among a pod's containers and init containers. The API server refuses the pod, or the workload
    whose template holds it.""")
PORT_INVALID = declare(
    id="port-invalid", family=_K, severity="error",
    title="A port number or port name is not one the API server accepts",
    rationale="""Port numbers are 1 to 65535; port names are IANA service names (at most 15 lowercase letters, digits
    and '-', with a letter, no '--'); a container's port names and a Service's port names are unique,
    and a Service with more than one port must name each one (as DNS-1123 labels). Probes and a
    Service's targetPort refer to a port by number or by such a name. The schema allows any integer
    and any string, the API server does not.""")
VOLUME_INVALID = declare(
    id="volume-mount-invalid", family=_K, severity="error",
    title="A volume or volume mount is invalid, or mounts a volume the pod does not have",
    rationale="""A volumeMount names one of the pod's volumes; volume names are unique DNS-1123 labels, and a container
    mounts each path once. The API server refuses the pod (\"Not found\") otherwise; a renamed volume
    whose mounts were not renamed is the usual cause.""")
VALUE_UNSUPPORTED = declare(
    id="field-value-unsupported", family=_K, severity="error",
    title="A field has a value the API server does not accept",
    rationale="""Some fields are free strings in the OpenAPI schema but closed sets in the API server's Go code: a
    container's imagePullPolicy (Always, IfNotPresent, Never), a port's protocol (TCP, UDP, SCTP), a
    pod's restartPolicy (Always for Deployments, StatefulSets, DaemonSets and ReplicaSets; OnFailure or
    Never for Jobs, which default to Always and so must set it), a Service's type and
    sessionAffinity, a Deployment's strategy type.""")
SELECTOR_MISMATCH = declare(
    id="selector-template-mismatch", family=_K, severity="error",
    title="A workload's selector does not select its own pod template",
    rationale="""Deployments, ReplicaSets, StatefulSets and DaemonSets need a non-empty spec.selector that matches the
    labels of spec.template (\"`selector` does not match template `labels`\"). A Job generates its
    selector unless spec.manualSelector is true, so it must not set one otherwise. The API server
    refuses the workload; a label renamed in one place only is the usual cause.""")

FIELD_INVALID = declare(
    id="field-invalid", family=_K, severity="error",
    title="A field breaks a rule the API server's validation enforces beyond the schema",
    rationale="""The OpenAPI schema of a built-in kind says little more than types; the API server's Go validation
    says much more: a container needs a name and an image, replicas are not negative, a resource request
    is not above its limit, a probe has a handler, a configMap volume names its ConfigMap. The finding
    quotes the server's refusal.""")
QUANTITY_INVALID = declare(
    id="quantity-invalid", family=_K, severity="error",
    title="A resource quantity is not one the API server can read",
    rationale="""Quantities are a number with an optional suffix: 100m, 0.5, 64Mi, 1Gi, 2G, 1e3. `64MB`, `1 Gi`
    or `lots` cannot be decoded, and the API server refuses the whole object (\"quantities must match
    the regular expression\"); a negative quantity is refused too.""")

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
DEPLOYMENT_STRATEGIES = ("Recreate", "RollingUpdate")
STATEFULSET_STRATEGIES = ("OnDelete", "RollingUpdate")
POD_MANAGEMENT = ("OrderedReady", "Parallel")
TERMINATION_MESSAGE_POLICIES = ("FallbackToLogsOnError", "File")


def pod_spec_path(manifest: Manifest) -> tuple | None:
    """Where the pod spec sits in a Pod or in a workload's template."""
    key = (manifest.group, manifest.kind)
    if key == ("", "Pod"):
        path: tuple = ("spec",)
    elif key in WORKLOADS or key == ("", "ReplicationController"):
        path = ("spec", "template", "spec")
    elif key == ("", "PodTemplate"):
        path = ("template", "spec")
    elif key == ("batch", "CronJob"):
        path = ("spec", "jobTemplate", "spec", "template", "spec")
    else:
        return None
    parent = manifest.get(*path[:-1]) if len(path) > 1 else manifest.data
    return path if isinstance(manifest.get(*path), dict) or (isinstance(parent, dict) and path[-1] not in parent) \
        else None


# The kinds _judge says anything about (the others are not looked up in the cache at all).
_JUDGED = WORKLOADS | {("", "Pod"), ("", "ReplicationController"), ("", "PodTemplate"), ("batch", "CronJob"),
                       ("", "Service")}
_JUDGED_KINDS = tuple(sorted({kind for _, kind in _JUDGED}))


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    judged = [m for m in repo.having(kinds=_JUDGED_KINDS) if (m.group, m.kind) in _JUDGED]
    yield from per_object(ctx, "apiserver_workloads", judged, _judge)


def _judge(manifest: Manifest) -> Iterable[Finding]:
    if manifest.version != "v1" or not kube.is_kubernetes_object(manifest):
        return  # only the served versions of these kinds are v1
    path = pod_spec_path(manifest)
    if path is not None:
        yield from _pod_spec(manifest, path)
    key = (manifest.group, manifest.kind)
    if key in WORKLOADS:
        yield from _selector(manifest)
        yield from _strategy(manifest)
        yield from _non_negative(manifest, ("spec", "replicas"))
    elif key == ("batch", "CronJob") and isinstance(manifest.get("spec", "jobTemplate", "spec"), dict):
        yield from _job_selector(manifest, ("spec", "jobTemplate", "spec"))
    elif key == ("", "Service"):
        yield from _service(manifest)


def _refused(manifest: Manifest, rule, path: tuple, text: str, hint: str, key: bool = False) -> Finding:
    return rule.at(manifest, path, f'{manifest.kind} "{manifest.name or ""}" is invalid: {text}', hint=hint, key=key)


def _unsupported(manifest: Manifest, path: tuple, value, supported, hint: str = "") -> Finding:
    return _refused(manifest, VALUE_UNSUPPORTED, path, am.not_supported(path, value, supported),
                    hint or f"Use one of {', '.join(supported)} (the spelling and case matter).")


# -- pod specs -------------------------------------------------------------------------------------


def _pod_spec(manifest: Manifest, spec_path: tuple) -> Iterable[Finding]:
    spec = manifest.get(*spec_path)
    written = isinstance(spec, dict)
    if not written:
        spec = {}  # a template without a spec: everything it requires is missing
    names: set[str] = set()
    volumes = spec.get("volumes")
    volume_names: set[str] = set()
    if isinstance(volumes, list):
        for i, volume in enumerate(volumes):
            if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
                continue
            where = spec_path + ("volumes", i, "name")
            name = volume["name"]
            for message in am.is_dns1123_label(name):
                yield _refused(manifest, VOLUME_INVALID, where, am.field_error(where, "Invalid", name, message),
                               "Name the volume with lowercase letters, digits and '-' (at most 63).")
            if name in volume_names:
                yield _refused(manifest, VOLUME_INVALID, where, am.field_error(where, "Duplicate", name),
                               "Give each volume its own name, or merge the two.")
            volume_names.add(name)
            for source, field in (("configMap", "name"), ("secret", "secretName"),
                                  ("persistentVolumeClaim", "claimName")):
                if isinstance(volume.get(source), dict) and not volume[source].get(field):
                    at = spec_path + ("volumes", i, source)
                    yield _refused(manifest, VOLUME_INVALID, at, am.field_error(at + (field,), "Required"),
                                   f"Name the {source} the volume mounts ({field}:).", key=True)
    containers = spec.get("containers")
    if "containers" not in spec or containers == []:
        yield _refused(manifest, FIELD_INVALID, spec_path, am.field_error(spec_path + ("containers",), "Required"),
                       "A pod needs at least one container.", key=True)
    for group in ("containers", "initContainers"):  # the server reports a clash at the init container
        containers = spec.get(group)
        if not isinstance(containers, list):
            continue
        for i, container in enumerate(containers):
            if isinstance(container, dict):
                yield from _container(manifest, spec_path + (group, i), container, names, volume_names)
    restart = spec.get("restartPolicy")
    if isinstance(restart, str) and restart not in RESTART_POLICIES:
        yield _unsupported(manifest, spec_path + ("restartPolicy",), restart, RESTART_POLICIES)
    elif not written:
        return  # (no restartPolicy to judge)
    elif (manifest.group, manifest.kind) in (("batch", "Job"), ("batch", "CronJob")):
        yield from _restart_policy(manifest, spec_path, spec, job=True)
    elif (manifest.group, manifest.kind) in _RESTARTING:
        yield from _restart_policy(manifest, spec_path, spec, job=False)


_RESTARTING = WORKLOADS | {("", "ReplicationController")}


def _restart_policy(manifest: Manifest, spec_path: tuple, spec: dict, job: bool) -> Iterable[Finding]:
    value = spec.get("restartPolicy")
    where = spec_path + ("restartPolicy",)
    if not isinstance(value, (str, type(None))):
        return
    if job:
        if value in (None, "", "Always"):
            text = am.field_error(where, "Required", detail='valid values: "OnFailure", "Never"')
            yield _refused(manifest, VALUE_UNSUPPORTED, where if value else spec_path, text,
                           "Set restartPolicy: Never (or OnFailure) in the Job's pod template; it defaults to "
                           "Always, which a Job cannot use.")
        elif value not in ("OnFailure", "Never"):
            yield _unsupported(manifest, where, value, ("OnFailure", "Never"))
    elif value not in (None, "Always") and value in RESTART_POLICIES:
        yield _unsupported(manifest, where, value, ("Always",),
                           f"A {manifest.kind} restarts its pods itself: use restartPolicy: Always, or remove it.")


def _container(manifest: Manifest, path: tuple, container: dict, names: set[str],
               volume_names: set[str]) -> Iterable[Finding]:
    name = container.get("name")
    if name == "":
        yield _refused(manifest, CONTAINER_NAME, path + ("name",), am.field_error(path + ("name",), "Required"),
                       "Name the container (lowercase letters, digits and '-').")
    image = container.get("image")
    if image is None or image == "":
        where = path + ("image",) if "image" in container else path
        yield _refused(manifest, FIELD_INVALID, where, am.field_error(path + ("image",), "Required"),
                       "Set the container's image (kustomize's `images:` can then replace it).", key=True)
    yield from _resources(manifest, path + ("resources",), container.get("resources"))
    if isinstance(name, str) and name:
        where = path + ("name",)
        for message in am.is_dns1123_label(name):
            from wavegate.validators.apiserver_metadata import suggest_name

            suggestion = suggest_name(name, am.LABEL)
            yield _refused(manifest, CONTAINER_NAME, where, am.field_error(where, "Invalid", name, message),
                           "Use lowercase letters, digits and '-' (at most 63)"
                           + (f", for example name: {suggestion}" if suggestion else "") + ".")
        if name in names:
            yield _refused(manifest, CONTAINER_NAME, where, am.field_error(where, "Duplicate", name),
                           "Give each container (and init container) of the pod its own name.")
        names.add(name)
    policy = container.get("imagePullPolicy")
    if isinstance(policy, str) and policy not in PULL_POLICIES:
        yield _unsupported(manifest, path + ("imagePullPolicy",), policy, PULL_POLICIES)
    message_policy = container.get("terminationMessagePolicy")
    if isinstance(message_policy, str) and message_policy not in TERMINATION_MESSAGE_POLICIES:
        yield _unsupported(manifest, path + ("terminationMessagePolicy",), message_policy,
                           TERMINATION_MESSAGE_POLICIES)
    ports = container.get("ports")
    port_names: set[str] = set()
    if isinstance(ports, list):
        for i, port in enumerate(ports):
            if isinstance(port, dict):
                yield from _container_port(manifest, path + ("ports", i), port, port_names)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = container.get(probe)
        if not isinstance(spec, dict):
            continue
        if not any(spec.get(h) is not None for h in ("exec", "httpGet", "tcpSocket", "grpc")):
            yield _refused(manifest, FIELD_INVALID, path + (probe,),
                           am.field_error(path + (probe,), "Required", detail="must specify a handler type"),
                           "Give the probe one of httpGet, tcpSocket, grpc or exec.", key=True)
        for handler in ("httpGet", "tcpSocket", "grpc"):
            action = spec.get(handler)
            port = action.get("port") if isinstance(action, dict) else None
            if port is not None:
                yield from _port_number_or_name(manifest, path + (probe, handler, "port"), port)
    mounts = container.get("volumeMounts")
    if isinstance(mounts, list):
        yield from _mounts(manifest, path + ("volumeMounts",), mounts, volume_names)


def _resources(manifest: Manifest, path: tuple, resources) -> Iterable[Finding]:
    """Quantities the server can decode, not negative, and each request at most its limit."""
    if not isinstance(resources, dict):
        return
    parsed: dict[str, dict] = {}
    for part in ("limits", "requests"):
        values = resources.get(part)
        if not isinstance(values, dict):
            continue
        parsed[part] = {}
        for resource, text in values.items():
            yield from quantity_findings(manifest, path + (part, resource), text)
            value = am.parse_quantity(0 if text is None else text)  # null decodes as a zero quantity
            if value is not None:
                parsed[part][resource] = (value, text)
    limits = parsed.get("limits", {})
    for resource, (value, text) in parsed.get("requests", {}).items():
        if resource in limits and value > limits[resource][0]:
            where = path + ("requests",)
            yield _refused(manifest, FIELD_INVALID, where + (resource,),
                           am.field_error(where, "Invalid", str(text),
                                          f"must be less than or equal to {resource} limit of {limits[resource][1]}"),
                           f"Lower the {resource} request to at most the limit, or raise the limit.")


def quantity_findings(manifest: Manifest, path: tuple, value) -> Iterable[Finding]:
    """A quantity the server cannot decode (refused whole) or that is negative."""
    if value is None:
        return
    parsed = am.parse_quantity(value)
    if parsed is None:
        yield QUANTITY_INVALID.at(manifest, path, f'{manifest.kind} "{manifest.name or ""}": {am.field_path(path)}: '
                                                  f"{value!r} cannot be decoded: {am.QUANTITY_ERROR}",
                                  hint="Write a number with an optional suffix: 100m, 0.5, 64Mi, 1Gi, 2G.", key=False)
    elif parsed < 0:
        yield QUANTITY_INVALID.at(manifest, path, f'{manifest.kind} "{manifest.name or ""}" is invalid: '
                                  + am.field_error(path, "Invalid", str(value), "must be greater than or equal to 0"),
                                  hint="A quantity cannot be negative.", key=False)


def _container_port(manifest: Manifest, path: tuple, port: dict, names: set[str]) -> Iterable[Finding]:
    name = port.get("name")
    if isinstance(name, str) and name:
        errors = am.is_valid_port_name(name)
        for message in errors:
            yield _refused(manifest, PORT_INVALID, path + ("name",),
                           am.field_error(path + ("name",), "Invalid", name, message),
                           "Use at most 15 lowercase letters, digits and '-', with at least one letter (http, "
                           "metrics, grpc-web).")
        if not errors and name in names:
            yield _refused(manifest, PORT_INVALID, path + ("name",), am.field_error(path + ("name",), "Duplicate", name),
                           "Give each port of the container its own name.")
        names.add(name)
    number = port.get("containerPort")
    if type(number) is int:
        if number == 0:
            yield _refused(manifest, PORT_INVALID, path + ("containerPort",),
                           am.field_error(path + ("containerPort",), "Required"), "Set containerPort to 1-65535.")
        else:
            for message in am.is_valid_port_num(number):
                yield _refused(manifest, PORT_INVALID, path + ("containerPort",),
                               am.field_error(path + ("containerPort",), "Invalid", number, message),
                               "Use a port number from 1 to 65535.")
    host = port.get("hostPort")
    if type(host) is int and host != 0:
        for message in am.is_valid_port_num(host):
            yield _refused(manifest, PORT_INVALID, path + ("hostPort",),
                           am.field_error(path + ("hostPort",), "Invalid", host, message),
                           "Use a port number from 1 to 65535, or remove hostPort.")
    protocol = port.get("protocol")
    if isinstance(protocol, str) and protocol not in PROTOCOLS:
        yield _unsupported(manifest, path + ("protocol",), protocol, PROTOCOLS)


def _port_number_or_name(manifest: Manifest, path: tuple, port) -> Iterable[Finding]:
    if type(port) is int:
        errors = am.is_valid_port_num(port)
    elif isinstance(port, str):
        errors = am.is_valid_port_name(port)
    else:
        return
    for message in errors:
        yield _refused(manifest, PORT_INVALID, path, am.field_error(path, "Invalid", port, message),
                       "Refer to the port by its number (1-65535) or by the name of one of the container's ports.")


def _mounts(manifest: Manifest, path: tuple, mounts: list, volume_names: set[str]) -> Iterable[Finding]:
    paths: set[str] = set()
    for i, mount in enumerate(mounts):
        if not isinstance(mount, dict):
            continue
        name, mount_path = mount.get("name"), mount.get("mountPath")
        if isinstance(name, str) and name and name not in volume_names:
            known = ", ".join(sorted(volume_names)) or "none"
            yield _refused(manifest, VOLUME_INVALID, path + (i, "name"),
                           am.field_error(path + (i, "name"), "Not found", name),
                           f"Mount one of the pod's volumes ({known}), or add a volume named {name} to the pod's "
                           "volumes.")
        if isinstance(mount_path, str) and mount_path:
            if mount_path in paths:
                yield _refused(manifest, VOLUME_INVALID, path + (i, "mountPath"),
                               am.field_error(path + (i, "mountPath"), "Invalid", mount_path, "must be unique"),
                               "Mount each path once per container.")
            paths.add(mount_path)


# -- selectors -------------------------------------------------------------------------------------


def _selector(manifest: Manifest) -> Iterable[Finding]:
    if (manifest.group, manifest.kind) == ("batch", "Job"):
        yield from _job_selector(manifest, ("spec",))
        return
    selector = manifest.get("spec", "selector")
    template_labels = manifest.get("spec", "template", "metadata", "labels")
    if not isinstance(selector, dict):
        return  # a missing selector is the schema's finding (schema-required)
    kind = manifest.kind.lower()
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield _refused(manifest, SELECTOR_MISMATCH, ("spec", "selector"),
                       am.field_error(("spec", "selector"), "Invalid", selector, f"empty selector is invalid for {kind}"
                                      if kind != "replicaset" else "empty selector is invalid for deployment"),
                       "Select the pods by a label of the template, for example matchLabels: {app: "
                       f"{manifest.name or 'web'}}}.", key=True)
        return
    yield from _selector_labels(manifest, ("spec", "selector"), selector)
    labels = template_labels if isinstance(template_labels, dict) else {}
    matched = _matches(selector, labels)
    if matched is False:
        where = ("spec", "template", "metadata", "labels")
        yield _refused(manifest, SELECTOR_MISMATCH,
                       where if isinstance(template_labels, dict) else ("spec", "template"),
                       am.field_error(where, "Invalid", {str(k): v for k, v in labels.items()},
                                      "`selector` does not match template `labels`"),
                       _mismatch_hint(selector, labels), key=True)


JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")


def _job_selector(manifest: Manifest, spec_path: tuple) -> Iterable[Finding]:
    """A Job's selector is generated (controller-uid and job-name labels, added to the template too)
    unless spec.manualSelector is true; what the person wrote must agree with what is generated."""
    spec = manifest.get(*spec_path)
    selector = spec.get("selector")
    labels = manifest.get(*spec_path, "template", "metadata", "labels")
    labels = {str(k): v for k, v in labels.items()} if isinstance(labels, dict) else {}
    template_where = spec_path + ("template", "metadata", "labels")
    if spec.get("manualSelector") is True:
        if not isinstance(selector, dict):
            yield _refused(manifest, SELECTOR_MISMATCH, spec_path, am.field_error(spec_path + ("selector",), "Required"),
                           "With manualSelector: true, set spec.selector to select the template's labels.", key=True)
            return
        yield from _selector_labels(manifest, spec_path + ("selector",), selector)
        if _matches(selector, labels) is False:
            yield _refused(manifest, SELECTOR_MISMATCH, template_where,
                           am.field_error(template_where, "Invalid", labels, "`selector` does not match template `labels`"),
                           _mismatch_hint(selector, labels), key=True)
        return
    job = (manifest.group, manifest.kind) == ("batch", "Job")
    name = manifest.name if job else None  # a CronJob's Jobs are named when they are created
    if job and isinstance(name, str) and len(name.encode()) > am.LABEL_VALUE_MAX:
        yield _refused(manifest, FIELD_INVALID, ("metadata", "name"),
                       am.field_error("spec.template.labels", "Invalid", name, am.max_len_error(am.LABEL_VALUE_MAX, "bytes")),
                       "Shorten the Job's name to at most 63 characters: it becomes the job-name label of its pods.")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return  # generated entirely
    unknowable = set(JOB_UID_LABELS) | (set() if name else set(JOB_NAME_LABELS))
    if _keys_of(selector) & unknowable:
        return  # the selector reads a label whose value only the server knows
    generated = {key: name for key in JOB_NAME_LABELS if name}
    if _matches(selector, generated) is False:
        yield _refused(manifest, SELECTOR_MISMATCH, spec_path + ("selector",),
                       am.field_error(spec_path + ("selector",), "Invalid", selector, "`selector` not auto-generated"),
                       "Remove spec.selector: the API server generates a Job's selector (or set "
                       "spec.manualSelector: true to choose it yourself).", key=True)
    elif _matches(selector, {**generated, **labels}) is False:
        yield _refused(manifest, SELECTOR_MISMATCH, template_where if labels else spec_path + ("template",),
                       am.field_error(template_where, "Invalid", labels, "`selector` does not match template `labels`"),
                       "Remove spec.selector (the API server generates one that matches), or make the template's "
                       "labels satisfy it.", key=True)


def _keys_of(selector: dict) -> set[str]:
    keys = set(selector.get("matchLabels") or {}) if isinstance(selector.get("matchLabels"), dict) else set()
    for expression in selector.get("matchExpressions") or []:
        if isinstance(expression, dict):
            keys.add(str(expression.get("key")))
    return keys


def _selector_labels(manifest: Manifest, path: tuple, selector: dict) -> Iterable[Finding]:
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict):
        yield from label_findings(manifest, path + ("matchLabels",), match_labels)


def _matches(selector: dict, labels: dict) -> bool | None:
    """Whether the selector selects `labels` (None when the selector is malformed)."""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return None
    values: dict[object, object] = {str(k): v for k, v in labels.items()}  # looked up by any YAML key
    for key, value in match_labels.items():
        if values.get(str(key)) != value:
            return False
    for expression in expressions:
        if not isinstance(expression, dict):
            return None
        key, operator, wanted = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if not isinstance(wanted, list):
            return None
        present = key in values
        if operator == "In" and not (present and values[key] in wanted):
            return False
        if operator == "NotIn" and present and values[key] in wanted:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return None
    return True


def _mismatch_hint(selector: dict, labels: dict) -> str:
    wanted = selector.get("matchLabels") or {}
    missing = [f"{k}: {v}" for k, v in wanted.items() if labels.get(k) != v] if isinstance(wanted, dict) else []
    if missing:
        return f"Add {', '.join(missing)} to spec.template.metadata.labels (or change the selector to match them)."
    return "Make spec.template.metadata.labels satisfy spec.selector."


def _non_negative(manifest: Manifest, path: tuple) -> Iterable[Finding]:
    value = manifest.get(*path)
    if type(value) is int and value < 0:
        yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", value,
                                                                     "must be greater than or equal to 0"),
                       "Use 0 or more.")


def _strategy(manifest: Manifest) -> Iterable[Finding]:
    key = (manifest.group, manifest.kind)
    if key == ("apps", "Deployment"):
        value, allowed, field = manifest.get("spec", "strategy", "type"), DEPLOYMENT_STRATEGIES, ("spec", "strategy", "type")
    elif key in (("apps", "StatefulSet"), ("apps", "DaemonSet")):
        field = ("spec", "updateStrategy", "type")
        value, allowed = manifest.get(*field), STATEFULSET_STRATEGIES
        if key == ("apps", "StatefulSet"):
            management = manifest.get("spec", "podManagementPolicy")
            if isinstance(management, str) and management not in POD_MANAGEMENT:
                yield _unsupported(manifest, ("spec", "podManagementPolicy"), management, POD_MANAGEMENT)
    else:
        return
    if isinstance(value, str) and value not in allowed:
        yield _unsupported(manifest, field, value, allowed)


# -- Services --------------------------------------------------------------------------------------


def _service(manifest: Manifest) -> Iterable[Finding]:
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return
    service_type = spec.get("type")
    if isinstance(service_type, str) and service_type not in SERVICE_TYPES:
        yield _unsupported(manifest, ("spec", "type"), service_type, SERVICE_TYPES)
    affinity = spec.get("sessionAffinity")
    if isinstance(affinity, str) and affinity not in SESSION_AFFINITIES:
        yield _unsupported(manifest, ("spec", "sessionAffinity"), affinity, SESSION_AFFINITIES)
    selector = spec.get("selector")
    if isinstance(selector, dict):
        yield from label_findings(manifest, ("spec", "selector"), selector)
    ports = spec.get("ports")
    headless = spec.get("clusterIP") == "None" or spec.get("clusterIPs") == ["None"]
    if not ports and not headless and service_type != "ExternalName":
        yield _refused(manifest, PORT_INVALID, ("spec",), am.field_error(("spec", "ports"), "Required"),
                       "Give the Service its ports (port, and targetPort when the container's differs).", key=True)
    if not isinstance(ports, list):
        return
    names: set[str] = set()
    several = len(ports) > 1
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        path = ("spec", "ports", i)
        name = port.get("name")
        if several and not name:
            yield _refused(manifest, PORT_INVALID, path, am.field_error(path + ("name",), "Required"),
                           "A Service with more than one port must name each port (name: http, name: metrics).",
                           key=True)
        elif isinstance(name, str) and name:
            for message in am.is_dns1123_label(name):
                yield _refused(manifest, PORT_INVALID, path + ("name",),
                               am.field_error(path + ("name",), "Invalid", name, message),
                               "Name the port with lowercase letters, digits and '-' (at most 63).")
            if name in names:
                yield _refused(manifest, PORT_INVALID, path + ("name",),
                               am.field_error(path + ("name",), "Duplicate", name),
                               "Give each port of the Service its own name.")
            names.add(name)
        number = port.get("port")
        if type(number) is int:
            for message in am.is_valid_port_num(number):
                yield _refused(manifest, PORT_INVALID, path + ("port",),
                               am.field_error(path + ("port",), "Invalid", number, message),
                               "Use a port number from 1 to 65535.")
        protocol = port.get("protocol")
        if isinstance(protocol, str) and protocol not in PROTOCOLS:
            yield _unsupported(manifest, path + ("protocol",), protocol, PROTOCOLS)
        target = port.get("targetPort")
        if target is not None and target != 0:
            yield from _port_number_or_name(manifest, path + ("targetPort",), target)
        node_port = port.get("nodePort")
        if type(node_port) is int and node_port != 0 and service_type in (None, "ClusterIP"):
            yield _refused(manifest, PORT_INVALID, path + ("nodePort",),
                           am.field_error(path + ("nodePort",), "Forbidden", detail="may not be used when `type` is "
                                                                                    "'ClusterIP'"),
                           "Remove nodePort, or set the Service's type to NodePort or LoadBalancer.")
