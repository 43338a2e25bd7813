"""What the API server's validation of particular kinds checks beyond the OpenAPI schema: RBAC
bindings and rules, Ingress paths and backends, NetworkPolicy ports, PodDisruptionBudget and
HorizontalPodAutoscaler bounds, PersistentVolumeClaim requests, CronJob schedules. Ported from
k8s.io/kubernetes v1.37 pkg/apis/{rbac,networking,policy,autoscaling,core,batch}/validation (and
github.com/robfig/cron's standard parser, which CronJob validation calls); messages are the server's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wavegate import apimachinery as am
from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.regex import lazy_compile
from wavegate.validators import Context
from wavegate.validators.apiserver_metadata import templated
from wavegate.validators.apiserver_workloads import (
    FIELD_INVALID,
    PORT_INVALID,
    PROTOCOLS,
    VALUE_UNSUPPORTED,
    quantity_findings,
)

RBAC = "rbac.authorization.k8s.io"
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
POLICY_TYPES = ("Ingress", "Egress")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    for manifest in repo.having(kinds=_KINDS):
        if not kube.is_kubernetes_object(manifest):
            continue
        handler = _HANDLERS.get((manifest.group, manifest.version, manifest.kind))
        if handler is not None:
            yield from handler(manifest)


def _refused(manifest: Manifest, rule, path: tuple, text: str, hint: str, key: bool = False) -> Finding:
    return rule.at(manifest, path, f'{manifest.kind} "{manifest.name or ""}" is invalid: {text}', hint=hint, key=key)


def _unsupported(manifest: Manifest, path: tuple, value, supported, hint: str = "") -> Finding:
    return _refused(manifest, VALUE_UNSUPPORTED, path, am.not_supported(path, value, supported),
                    hint or f"Use one of {', '.join(supported)} (the spelling and case matter).")


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


# -- RBAC ------------------------------------------------------------------------------------------


def _rules(manifest: Manifest) -> Iterable[Finding]:
    for i, rule in enumerate(_list(manifest.get("rules"))):
        if not isinstance(rule, dict):
            continue
        path = ("rules", i)
        if not rule.get("verbs"):
            yield _refused(manifest, FIELD_INVALID, path, am.field_error(path + ("verbs",), "Required",
                                                                         detail="verbs must contain at least one value"),
                           "List the verbs the rule allows (get, list, watch, ...).", key=True)
        if rule.get("nonResourceURLs"):
            continue
        for field, what in (("apiGroups", "api group"), ("resources", "resource")):
            if not rule.get(field):
                yield _refused(manifest, FIELD_INVALID, path,
                               am.field_error(path + (field,), "Required",
                                              detail=f"resource rules must supply at least one {what}"),
                               f'Add {field}: ["..."] to the rule (the core group is "").', key=True)


def _binding(manifest: Manifest) -> Iterable[Finding]:
    cluster = manifest.kind == "ClusterRoleBinding"
    ref = _dict(manifest.get("roleRef"))
    if ref:
        if (ref.get("apiGroup") or RBAC) != RBAC:  # an empty apiGroup is defaulted (SetDefaults_RoleBinding)
            yield _unsupported(manifest, ("roleRef", "apiGroup"), ref.get("apiGroup", ""), (RBAC,))
        kinds = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
        if ref.get("kind") not in kinds:
            yield _unsupported(manifest, ("roleRef", "kind"), ref.get("kind", ""), kinds,
                               "A ClusterRoleBinding can only bind a ClusterRole." if cluster else "")
    for i, subject in enumerate(_list(manifest.get("subjects"))):
        if not isinstance(subject, dict):
            continue
        path = ("subjects", i)
        kind, group = subject.get("kind"), subject.get("apiGroup", "")
        if kind == "ServiceAccount":
            if group:
                yield _unsupported(manifest, path + ("apiGroup",), group, ("",),
                                   "Remove apiGroup: a ServiceAccount is in the core group.")
            if cluster and not subject.get("namespace"):
                yield _refused(manifest, FIELD_INVALID, path, am.field_error(path + ("namespace",), "Required"),
                               "A ClusterRoleBinding must say which namespace the ServiceAccount is in.", key=True)
        elif kind in ("User", "Group"):
            if (group or RBAC) != RBAC:  # defaulted when empty (SetDefaults_Subject)
                yield _unsupported(manifest, path + ("apiGroup",), group, (RBAC,))
        elif isinstance(kind, str):
            yield _unsupported(manifest, path + ("kind",), kind, ("ServiceAccount", "User", "Group"))


# -- networking ------------------------------------------------------------------------------------


def _ingress(manifest: Manifest) -> Iterable[Finding]:
    spec = _dict(manifest.get("spec"))
    if not spec.get("rules") and not spec.get("defaultBackend"):
        yield _refused(manifest, FIELD_INVALID, ("spec",), am.field_error(("spec",), "Invalid", [],
                                                                          "either `defaultBackend` or `rules` must be "
                                                                          "specified"),
                       "Give the Ingress rules (or a defaultBackend).", key=True)
    for i, rule in enumerate(_list(spec.get("rules"))):
        if not isinstance(rule, dict):
            continue
        host = rule.get("host")
        if isinstance(host, str) and host and not templated(host):
            yield from _host(manifest, ("spec", "rules", i, "host"), host)
        http = rule.get("http")
        if not isinstance(http, dict):
            continue
        paths = http.get("paths")
        if not paths:
            where = ("spec", "rules", i, "http", "paths")
            yield _refused(manifest, FIELD_INVALID, where[:-1], am.field_error(where, "Required"),
                           "List at least one path under http.", key=True)
        for j, item in enumerate(_list(paths)):
            if isinstance(item, dict):
                yield from _ingress_path(manifest, ("spec", "rules", i, "http", "paths", j), item)


def _host(manifest: Manifest, path: tuple, host: str) -> Iterable[Finding]:
    import ipaddress

    try:
        ipaddress.ip_address(host)
        yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", host,
                                                                     "must be a DNS name, not an IP address"),
                       "Give the host name; an Ingress rule cannot match an IP address.")
        return
    except ValueError:
        pass
    if "*" in host:
        errors = []
        if len(host) > am.DNS1123_SUBDOMAIN_MAX:
            errors.append(am.max_len_error(am.DNS1123_SUBDOMAIN_MAX))
        if not (host.startswith("*.") and not am.is_dns1123_subdomain(host[2:])):
            errors.append(am.regex_error(
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
                "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
                "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", "*.example.com"))
    else:
        errors = am.is_dns1123_subdomain(host)
    for message in errors:
        yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", host, message),
                       "Use a lowercase DNS name (web.example.com), or *.example.com for a wildcard.")


_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


def _ingress_path(manifest: Manifest, path: tuple, item: dict) -> Iterable[Finding]:
    kind = item.get("pathType")
    text = item.get("path", "")
    if kind is None:
        yield _refused(manifest, FIELD_INVALID, path, am.field_error(path + ("pathType",), "Required",
                                                                     detail="pathType must be specified"),
                       "Add pathType: Prefix (or Exact, or ImplementationSpecific).", key=True)
        return
    if kind not in PATH_TYPES:
        yield _unsupported(manifest, path + ("pathType",), kind, PATH_TYPES)
    elif isinstance(text, str):
        if (kind != "ImplementationSpecific" or text) and not text.startswith("/"):
            yield _refused(manifest, FIELD_INVALID, path + ("path",) if "path" in item else path,
                           am.field_error(path + ("path",), "Invalid", text, "must be an absolute path"),
                           f"Start the path with '/': path: /{text}.")
        if kind != "ImplementationSpecific" and text:
            for sequence in _INVALID_PATH_SEQUENCES:
                if sequence in text:
                    yield _refused(manifest, FIELD_INVALID, path + ("path",),
                                   am.field_error(path + ("path",), "Invalid", text, f"must not contain '{sequence}'"),
                                   "Remove the sequence from the path.")
            for suffix in _INVALID_PATH_SUFFIXES:
                if text.endswith(suffix):
                    yield _refused(manifest, FIELD_INVALID, path + ("path",),
                                   am.field_error(path + ("path",), "Invalid", text, f"cannot end with '{suffix}'"),
                                   "Remove the ending from the path.")
    service = _dict(_dict(item.get("backend")).get("service"))
    port = service.get("port")
    if isinstance(port, dict):
        where = path + ("backend", "service", "port")
        name, number = port.get("name"), port.get("number")
        if name and number:
            yield _refused(manifest, PORT_INVALID, where, am.field_error(path + ("backend",), "Invalid", "",
                                                                         "cannot set both port name & port number"),
                           "Keep the port's name or its number, not both.", key=True)
        elif isinstance(name, str) and name:
            for message in am.is_valid_port_name(name):
                yield _refused(manifest, PORT_INVALID, where + ("name",),
                               am.field_error(where + ("name",), "Invalid", name, message),
                               "Name a port of the Service (at most 15 lowercase letters, digits and '-').")
        elif type(number) is int and number != 0:
            for message in am.is_valid_port_num(number):
                yield _refused(manifest, PORT_INVALID, where + ("number",),
                               am.field_error(where + ("number",), "Invalid", number, message),
                               "Use a port number from 1 to 65535.")
        elif not name and not number:
            yield _refused(manifest, PORT_INVALID, where, am.field_error(path + ("backend",), "Required",
                                                                         detail="port name or number is required"),
                           "Give the backend's port: name: http or number: 80.", key=True)


def _network_policy(manifest: Manifest) -> Iterable[Finding]:
    spec = _dict(manifest.get("spec"))
    for direction in ("ingress", "egress"):
        for i, rule in enumerate(_list(spec.get(direction))):
            for j, port in enumerate(_list(_dict(rule).get("ports"))):
                if not isinstance(port, dict):
                    continue
                path = ("spec", direction, i, "ports", j)
                protocol = port.get("protocol")
                if isinstance(protocol, str) and protocol not in PROTOCOLS:
                    yield _unsupported(manifest, path + ("protocol",), protocol, ("TCP", "UDP", "SCTP"))
                number = port.get("port")
                errors = (am.is_valid_port_num(number) if type(number) is int
                          else am.is_valid_port_name(number) if isinstance(number, str) else [])
                for message in errors:
                    yield _refused(manifest, PORT_INVALID, path + ("port",),
                                   am.field_error(path + ("port",), "Invalid", number, message),
                                   "Use a port number (1-65535) or a named container port.")
    types = spec.get("policyTypes")
    for i, value in enumerate(_list(types)):
        if isinstance(value, str) and value not in POLICY_TYPES:
            yield _unsupported(manifest, ("spec", "policyTypes", i), value, POLICY_TYPES)


# -- policy, autoscaling, storage, batch ------------------------------------------------------------


_PERCENT = lazy_compile(r"^[0-9]+%$")


def _pdb(manifest: Manifest) -> Iterable[Finding]:
    spec = _dict(manifest.get("spec"))
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        yield _refused(manifest, FIELD_INVALID, ("spec",),
                       am.field_error(("spec",), "Invalid", "<spec>", "minAvailable and maxUnavailable cannot be both set")
                       .replace('"<spec>"', "{...}"),
                       "Keep either minAvailable or maxUnavailable.", key=True)
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        path = ("spec", field)
        if isinstance(value, str):
            if not _PERCENT.search(value):
                yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", value, am.regex_error(
                    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%",
                    "93%")), "Write a number of pods (1) or a percentage (50%).")
            elif int(value[:-1]) > 100:
                yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", value,
                                                                             "must not be greater than 100%"),
                               "Use a percentage up to 100%.")
        elif type(value) is int and value < 0:
            yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", value,
                                                                         "must be greater than or equal to 0"),
                           "Use 0 or more.")


def _hpa(manifest: Manifest) -> Iterable[Finding]:
    spec = _dict(manifest.get("spec"))
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    ref = _dict(spec.get("scaleTargetRef"))
    if ref:
        api_version = ref.get("apiVersion", "")
        if isinstance(api_version, str) and "/" not in api_version:
            where = ("spec", "scaleTargetRef", "apiVersion")
            yield _refused(manifest, FIELD_INVALID, where if "apiVersion" in ref else where[:-1],
                           am.field_error(where, "Invalid", api_version, "apiVersion must specify API group"),
                           "Give the scale target's full apiVersion, for example apps/v1.")
    if type(low) is int and low < 1 and not spec.get("metrics"):
        yield _refused(manifest, FIELD_INVALID, ("spec", "metrics"),
                       am.field_error(("spec", "metrics"), "Forbidden",
                                      detail="must specify at least one Object or External metric to support scaling "
                                             "to zero replicas"),
                       "Use minReplicas: 1 or more.")
    if high == 0:
        yield _refused(manifest, FIELD_INVALID, ("spec", "maxReplicas"),
                       am.field_error(("spec", "maxReplicas"), "Required", detail="must be set and greater than 0"),
                       "Set maxReplicas to 1 or more.")
    elif type(high) is int and high < 0:
        yield _refused(manifest, FIELD_INVALID, ("spec", "maxReplicas"),
                       am.field_error(("spec", "maxReplicas"), "Invalid", high, "must be greater than or equal to 1"),
                       "Set maxReplicas to 1 or more.")
    if type(low) is int and type(high) is int and high < low:
        yield _refused(manifest, FIELD_INVALID, ("spec", "maxReplicas"),
                       am.field_error(("spec", "maxReplicas"), "Invalid", high,
                                      "must be greater than or equal to `minReplicas`"),
                       f"Raise maxReplicas to at least {low}, or lower minReplicas.")


def _pvc(manifest: Manifest) -> Iterable[Finding]:
    spec = _dict(manifest.get("spec"))
    if not spec:
        return
    modes = spec.get("accessModes")
    if not modes:
        yield _refused(manifest, FIELD_INVALID, ("spec",), am.field_error(("spec", "accessModes"), "Required",
                                                                          detail="at least 1 access mode is required"),
                       "Add accessModes: [ReadWriteOnce].", key=True)
    for i, mode in enumerate(_list(modes)):
        if mode not in ACCESS_MODES:
            yield _unsupported(manifest, ("spec", "accessModes", i), mode if isinstance(mode, str) else "", ACCESS_MODES)
    requests = _dict(_dict(spec.get("resources")).get("requests"))
    for part in ("requests", "limits"):
        for resource, value in _dict(_dict(spec.get("resources")).get(part)).items():
            yield from quantity_findings(manifest, ("spec", "resources", part, resource), value)
    storage = requests.get("storage")
    where = ("spec", "resources", "requests", "storage")
    if storage is None:
        yield _refused(manifest, FIELD_INVALID, where[:3] if "resources" in spec else ("spec",),
                       am.field_error("spec.resources[storage]", "Required"),
                       "Request the storage the claim needs: resources: {requests: {storage: 1Gi}}.", key=True)
    else:
        value = am.parse_quantity(storage)
        if value is not None and value <= 0:
            yield _refused(manifest, FIELD_INVALID, where, am.field_error("spec.resources[storage]", "Invalid",
                                                                          str(storage), "must be greater than zero"),
                           "Request more than 0 bytes of storage.")


def _cronjob(manifest: Manifest) -> Iterable[Finding]:
    schedule = manifest.get("spec", "schedule")
    if not isinstance(schedule, str):
        return
    path = ("spec", "schedule")
    error = cron_error(schedule)
    if error is None and "TZ" in schedule:
        error = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if error:
        yield _refused(manifest, FIELD_INVALID, path, am.field_error(path, "Invalid", schedule, error),
                       "Write five fields (minute hour day-of-month month day-of-week), for example \"0 3 * * *\", "
                       "or @hourly, @daily, @weekly, @monthly, @every 1h.")


_CRON_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}),
                (1, 12, {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                                         "oct", "nov", "dec"))}),
                (0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}))
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION = lazy_compile(r"^[-+]?(([0-9]*(\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$")


def cron_error(spec: str) -> str | None:
    """robfig/cron's ParseStandard error for `spec`, or None when it parses."""
    if not spec:
        return "empty spec string"
    if spec.startswith(("TZ=", "CRON_TZ=")):
        if " " not in spec:
            return None  # left to the TZ check
        spec = spec[spec.index(" "):].strip()
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            duration = spec[len("@every "):]
            return None if _DURATION.search(duration) else \
                f'failed to parse duration {spec}: time: invalid duration "{duration}"'
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for text, (low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for expr in [e for e in text.split(",") if e]:
            error = _cron_range(expr, low, high, names)
            if error:
                return error
    return None


def _cron_range(expr: str, low: int, high: int, names: dict) -> str | None:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    try:
        if low_high[0] in ("*", "?"):
            start, end = low, high
        else:
            start = _cron_int(low_high[0], names)
            if len(low_high) == 1:
                end = start
            elif len(low_high) == 2:
                end = _cron_int(low_high[1], names)
            else:
                return f"too many hyphens: {expr}"
        step = 1
        if len(range_and_step) == 2:
            step = _cron_int(range_and_step[1], {})
            if len(low_high) == 1:
                end = high
        elif len(range_and_step) > 2:
            return f"too many slashes: {expr}"
    except ValueError as error:
        return str(error)
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    if step == 0:
        return f"step of range should be a positive number: {expr}"
    return None


def _cron_int(text: str, names: dict) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if number < 0:
        raise ValueError(f"negative number ({number}) not allowed: {text}")
    return number


_HANDLERS = {
    (RBAC, "v1", "Role"): _rules,
    (RBAC, "v1", "ClusterRole"): _rules,
    (RBAC, "v1", "RoleBinding"): _binding,
    (RBAC, "v1", "ClusterRoleBinding"): _binding,
    ("networking.k8s.io", "v1", "Ingress"): _ingress,
    ("networking.k8s.io", "v1", "NetworkPolicy"): _network_policy,
    ("policy", "v1", "PodDisruptionBudget"): _pdb,
    ("autoscaling", "v2", "HorizontalPodAutoscaler"): _hpa,
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): _hpa,
    ("", "v1", "PersistentVolumeClaim"): _pvc,
    ("batch", "v1", "CronJob"): _cronjob,
}
_KINDS = tuple(sorted({kind for _, _, kind in _HANDLERS}))
