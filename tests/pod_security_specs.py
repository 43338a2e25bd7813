"""Pod specs for the Pod Security differential test: every control of the baseline and restricted
levels (k8s.io/pod-security-admission policy/check_*.go), each with values that violate it and
values that do not, applied alone to a few base pods and in seeded random combinations.

Every spec must be a valid Pod (the API server validates before PodSecurity runs): variants that
the API's validation couples (privileged or CAP_SYS_ADMIN with allowPrivilegeEscalation=false,
hostNetwork with mismatched host ports or net.* sysctls, hostUsers=false with host namespaces, an
annotation and the field it mirrors) either repair what they break or share a slot, so that no
combination holds both. Windows pods (spec.os.name: windows) may not set Linux-only fields, so
they get their own base and only the variants that make sense there.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field

IMAGE = "registry.example.com/app:1.0"
SEED = 14
COMBINATIONS = 200


@dataclass(frozen=True)
class Variant:
    control: str  # the PodSecurity check it exercises
    name: str
    apply: Callable[[dict], None]
    slots: frozenset[str]  # what it sets; two variants with a common slot never combine
    linux_only: bool = True
    needs_multi: bool = False  # targets the init container or the sidecar of the `multi` base


@dataclass
class Spec:
    name: str
    pod: dict
    variants: tuple[str, ...] = field(default_factory=tuple)


# -- helpers ------------------------------------------------------------------------------------

def container(pod: dict, name: str = "app") -> dict:
    for key in ("initContainers", "containers"):
        for item in pod["spec"].get(key, []):
            if item["name"] == name:
                return item
    raise KeyError(name)


def sc(pod: dict, name: str = "app") -> dict:
    return container(pod, name).setdefault("securityContext", {})


def pod_sc(pod: dict) -> dict:
    return pod["spec"].setdefault("securityContext", {})


def allow_escalation(pod: dict, name: str = "app") -> None:
    """privileged and CAP_SYS_ADMIN may not come with allowPrivilegeEscalation=false."""
    if sc(pod, name).get("allowPrivilegeEscalation") is False:
        del sc(pod, name)["allowPrivilegeEscalation"]


def annotate(pod: dict, key: str, value: str) -> None:
    pod["metadata"].setdefault("annotations", {})[key] = value


def volume(pod: dict, name: str, source: dict) -> None:
    pod["spec"].setdefault("volumes", []).append({"name": name, **source})


def ports(pod: dict, *pairs: tuple[int, int | None]) -> None:
    container(pod)["ports"] = [{"containerPort": c, **({"hostPort": h} if h is not None else {})} for c, h in pairs]


def setter(path: str, value) -> Callable[[dict], None]:
    """Set `value` at `path` ("pod.x.y" for the pod's securityContext, "app.x.y" for a container's,
    "spec.x" for the pod spec); None deletes it."""
    where, *keys = path.split(".")

    def apply(pod: dict) -> None:
        node = {"pod": lambda: pod_sc(pod), "spec": lambda: pod["spec"]}.get(where, lambda: sc(pod, where))()
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = copy.deepcopy(value)
        if where in ("app", "init", "sidecar") and keys[0] in ("privileged",) and value is True:
            allow_escalation(pod, where)
    return apply


def v(control: str, name: str, apply, *slots: str, linux_only: bool = True, needs_multi: bool = False) -> Variant:
    return Variant(control, name, apply, frozenset(slots or (name,)), linux_only, needs_multi)


def both(*steps: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(pod: dict) -> None:
        for step in steps:
            step(pod)
    return apply


# -- the variants, control by control ----------------------------------------------------------

def _variants() -> list[Variant]:
    found: list[Variant] = []
    add = found.append

    # privileged (baseline)
    add(v("privileged", "privileged", setter("app.privileged", True), "app.privileged", "app.ape"))
    add(v("privileged", "not-privileged", setter("app.privileged", False), "app.privileged"))
    add(v("privileged", "init-privileged", setter("init.privileged", True), "init.privileged", "init.ape",
          needs_multi=True))
    add(v("privileged", "sidecar-privileged", setter("sidecar.privileged", True), "sidecar.privileged", "sidecar.ape",
          needs_multi=True))
    # host namespaces (baseline)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        extra = {"hostNetwork": ("hostns-ports", "hostns-net"), "hostIPC": ("hostns-ipc",)}.get(key, ())
        add(v("hostNamespaces", f"{key}", setter(f"spec.{key}", True), key, "hostns", *extra,
              linux_only=key != "hostNetwork"))
        add(v("hostNamespaces", f"{key}-false", setter(f"spec.{key}", False), key))
    # hostPath volumes (baseline) and volume types (restricted)
    volumes = {
        "hostPath": {"hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}},
        "configMap": {"configMap": {"name": "settings"}},
        "secret": {"secret": {"secretName": "tls"}},
        "emptyDir": {"emptyDir": {}},
        "projected": {"projected": {"sources": [{"configMap": {"name": "settings"}}]}},
        "downwardAPI": {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        "persistentVolumeClaim": {"persistentVolumeClaim": {"claimName": "data"}},
        "csi": {"csi": {"driver": "csi.example.com"}},
        "ephemeral": {"ephemeral": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
        "image": {"image": {"reference": "registry.example.com/data:1.0", "pullPolicy": "IfNotPresent"}},
        "nfs": {"nfs": {"server": "nfs.example.com", "path": "/exports"}},
        "iscsi": {"iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:storage", "lun": 0}},
        "fc": {"fc": {"targetWWNs": ["500a0982991b8dc5"], "lun": 2}},
        "cephfs": {"cephfs": {"monitors": ["10.0.0.1:6789"]}},
        "cinder": {"cinder": {"volumeID": "cinder-volume"}},
        "flexVolume": {"flexVolume": {"driver": "example.com/flex"}},
        "azureFile": {"azureFile": {"secretName": "azure", "shareName": "share"}},
        "rbd": {"rbd": {"monitors": ["10.0.0.1:6789"], "image": "disk"}},
        "gitRepo": {"gitRepo": {"repository": "https://git.example.com/repo.git"}},
    }
    for kind, source in volumes.items():
        add(v("volumes", f"volume-{kind}", lambda pod, kind=kind, source=source: volume(pod, f"v-{kind.lower()}", source),
              f"volume-{kind}", linux_only=False))
    # host ports (baseline); hostNetwork makes every containerPort a hostPort
    add(v("hostPorts", "hostPort", lambda pod: ports(pod, (80, 8080)), "ports", "hostns-ports"))
    add(v("hostPorts", "hostPort-same", lambda pod: ports(pod, (9000, 9000)), "ports"))
    add(v("hostPorts", "containerPort-only", lambda pod: ports(pod, (8080, None)), "ports"))
    add(v("hostPorts", "hostPort-zero", lambda pod: ports(pod, (8081, 0)), "ports"))
    # capabilities (baseline: the default set; restricted: drop ALL, add at most NET_BIND_SERVICE)
    add(v("capabilities", "add-NET_RAW", setter("app.capabilities.add", ["NET_RAW"]), "app.caps.add"))
    add(v("capabilities", "add-CHOWN", setter("app.capabilities.add", ["CHOWN"]), "app.caps.add"))
    add(v("capabilities", "add-NET_BIND_SERVICE", setter("app.capabilities.add", ["NET_BIND_SERVICE"]), "app.caps.add"))
    add(v("capabilities", "add-SYS_ADMIN", both(setter("app.capabilities.add", ["SYS_ADMIN"]), allow_escalation),
          "app.caps.add", "app.ape"))
    add(v("capabilities", "add-KILL-SYS_TIME", setter("app.capabilities.add", ["KILL", "SYS_TIME"]), "app.caps.add"))
    add(v("capabilities", "drop-ALL", setter("app.capabilities.drop", ["ALL"]), "app.caps.drop"))
    add(v("capabilities", "drop-NET_RAW", setter("app.capabilities.drop", ["NET_RAW"]), "app.caps.drop"))
    add(v("capabilities", "drop-none", setter("app.capabilities.drop", None), "app.caps.drop"))
    add(v("capabilities", "init-add-NET_ADMIN", setter("init.capabilities.add", ["NET_ADMIN"]), "init.caps.add",
          needs_multi=True))
    add(v("capabilities", "sidecar-drop-none", setter("sidecar.capabilities.drop", None), "sidecar.caps.drop",
          needs_multi=True))
    # AppArmor (baseline): the fields, and the deprecated annotation (which must agree with a field)
    for where in ("pod", "app"):
        add(v("appArmor", f"{where}-apparmor-runtime", setter(f"{where}.appArmorProfile", {"type": "RuntimeDefault"}),
              f"{where}.apparmor"))
        add(v("appArmor", f"{where}-apparmor-localhost",
              setter(f"{where}.appArmorProfile", {"type": "Localhost", "localhostProfile": "k8s-apparmor-example"}),
              f"{where}.apparmor"))
        add(v("appArmor", f"{where}-apparmor-unconfined", setter(f"{where}.appArmorProfile", {"type": "Unconfined"}),
              f"{where}.apparmor"))
    for value in ("unconfined", "runtime/default", "localhost/k8s-apparmor-example"):
        add(v("appArmor", f"apparmor-annotation-{value.split('/')[0]}",
              lambda pod, value=value: annotate(pod, "container.apparmor.security.beta.kubernetes.io/app", value),
              "app.apparmor", "pod.apparmor"))
    # SELinux (baseline; container_engine_t from v1.31)
    for where in ("pod", "app"):
        for name, options in (("type-spc_t", {"type": "spc_t"}), ("type-container_t", {"type": "container_t"}),
                              ("type-container_engine_t", {"type": "container_engine_t"}),
                              ("type-container_init_t", {"type": "container_init_t"}),
                              ("user", {"user": "system_u"}), ("role", {"role": "system_r"}),
                              ("level", {"level": "s0:c123,c456"})):
            add(v("seLinux", f"{where}-selinux-{name}", setter(f"{where}.seLinuxOptions", options), f"{where}.selinux"))
    # /proc mount (baseline; restricted from v1.35) and user namespaces (which relax it at baseline
    # and runAsNonRoot/runAsUser, from v1.35). Unmasked needs hostUsers: false.
    add(v("procMount", "procMount-unmasked",
          both(setter("app.procMount", "Unmasked"), setter("spec.hostUsers", False)), "app.procmount", "hostusers",
          "hostns"))
    add(v("procMount", "procMount-default", setter("app.procMount", "Default"), "app.procmount"))
    add(v("procMount", "hostUsers-false", setter("spec.hostUsers", False), "hostusers", "hostns"))
    add(v("procMount", "hostUsers-true", setter("spec.hostUsers", True), "hostusers"))
    # seccomp (baseline: not Unconfined; restricted: set, to RuntimeDefault or Localhost; before
    # v1.19 the annotations), where the annotation must agree with a field that is set
    for where in ("pod", "app"):
        add(v("seccomp", f"{where}-seccomp-runtime", setter(f"{where}.seccompProfile", {"type": "RuntimeDefault"}),
              f"{where}.seccomp"))
        add(v("seccomp", f"{where}-seccomp-localhost",
              setter(f"{where}.seccompProfile", {"type": "Localhost", "localhostProfile": "profiles/audit.json"}),
              f"{where}.seccomp"))
        add(v("seccomp", f"{where}-seccomp-unconfined", setter(f"{where}.seccompProfile", {"type": "Unconfined"}),
              f"{where}.seccomp"))
        add(v("seccomp", f"{where}-seccomp-unset", setter(f"{where}.seccompProfile", None), f"{where}.seccomp"))
    for key, slot, target in (("seccomp.security.alpha.kubernetes.io/pod", "pod.seccomp", "pod"),
                              ("container.seccomp.security.alpha.kubernetes.io/app", "app.seccomp", "app")):
        for value in ("unconfined", "runtime/default", "localhost/profiles/audit.json", "docker/default"):
            add(v("seccomp", f"seccomp-annotation-{target}-{value.split('/')[0]}",
                  both(setter(f"{target}.seccompProfile", None), lambda pod, key=key, value=value: annotate(pod, key, value)),
                  slot))
    # sysctls (baseline; the safe set grows in v1.27, v1.29, v1.32 and v1.37); net.* not with hostNetwork
    for name, value in (("kernel.shm_rmid_forced", "1"), ("net.ipv4.ip_local_port_range", "1024 65000"),
                        ("net.ipv4.ip_local_reserved_ports", "8080"), ("net.ipv4.tcp_keepalive_time", "600"),
                        ("net.ipv4.tcp_rmem", "4096 87380 6291456"), ("net.ipv4.tcp_slow_start_after_idle", "0"),
                        ("net.ipv4.tcp_notsent_lowat", "16384"), ("kernel.msgmax", "65536"),
                        ("net.core.somaxconn", "1024"), ("kernel.sem", "250 32000 100 128")):
        # net.* sysctls may not come with hostNetwork, IPC ones (kernel.shm*, msg*, sem) with hostIPC
        slots = ("sysctls", "hostns-net" if name.startswith("net.") else "hostns-ipc")
        add(v("sysctls", f"sysctl-{name}", setter("pod.sysctls", [{"name": name, "value": value}]), *slots))
    add(v("sysctls", "sysctls-mixed", setter("pod.sysctls", [{"name": "kernel.shm_rmid_forced", "value": "1"},
                                                             {"name": "kernel.msgmax", "value": "65536"}]), "sysctls",
          "hostns-ipc"))
    # probe and lifecycle hosts (baseline, from v1.34)
    def probe(name: str, key: str, handler: dict, target: str = "app") -> Callable[[dict], None]:
        def apply(pod: dict) -> None:
            if key.startswith("lifecycle."):
                container(pod, target).setdefault("lifecycle", {})[key.split(".")[1]] = copy.deepcopy(handler)
            else:
                container(pod, target)[key] = copy.deepcopy(handler)
        return apply

    for name, key, handler in (
            ("liveness-httpGet-host", "livenessProbe", {"httpGet": {"path": "/healthz", "port": 8080, "host": "10.0.0.1"}}),
            ("readiness-tcpSocket-host", "readinessProbe", {"tcpSocket": {"port": 8080, "host": "db.example.com"}}),
            ("startup-httpGet-no-host", "startupProbe", {"httpGet": {"path": "/", "port": 8080}}),
            ("startup-httpGet-empty-host", "startupProbe", {"httpGet": {"path": "/", "port": 8080, "host": ""}}),
            ("preStop-httpGet-host", "lifecycle.preStop", {"httpGet": {"path": "/stop", "port": 8080, "host": "127.0.0.1"}}),
            ("postStart-exec", "lifecycle.postStart", {"exec": {"command": ["true"]}})):
        add(v("probeHosts", name, probe(name, key, handler), f"app.{key}", linux_only=False))
    add(v("probeHosts", "sidecar-readiness-host",
          probe("sidecar-readiness-host", "readinessProbe", {"httpGet": {"path": "/", "port": 9090, "host": "10.1.2.3"}},
                "sidecar"), "sidecar.readinessProbe", needs_multi=True))
    # allowPrivilegeEscalation (restricted, from v1.8)
    add(v("allowPrivilegeEscalation", "ape-true", setter("app.allowPrivilegeEscalation", True), "app.ape"))
    add(v("allowPrivilegeEscalation", "ape-false", setter("app.allowPrivilegeEscalation", False), "app.ape",
          "app.privileged", "app.caps.add"))
    add(v("allowPrivilegeEscalation", "ape-unset", setter("app.allowPrivilegeEscalation", None), "app.ape"))
    # runAsNonRoot (restricted) and runAsUser (restricted, from v1.23)
    for where in ("pod", "app"):
        add(v("runAsNonRoot", f"{where}-runAsNonRoot-true", setter(f"{where}.runAsNonRoot", True),
              f"{where}.nonroot", linux_only=False))
        add(v("runAsNonRoot", f"{where}-runAsNonRoot-false", setter(f"{where}.runAsNonRoot", False),
              f"{where}.nonroot", linux_only=False))
        add(v("runAsNonRoot", f"{where}-runAsNonRoot-unset", setter(f"{where}.runAsNonRoot", None),
              f"{where}.nonroot", linux_only=False))
        add(v("runAsUser", f"{where}-runAsUser-0", setter(f"{where}.runAsUser", 0), f"{where}.user"))
        add(v("runAsUser", f"{where}-runAsUser-1000", setter(f"{where}.runAsUser", 1000), f"{where}.user"))
    return found


def _windows_variants() -> list[Variant]:
    def host_process(pod: dict) -> None:
        pod["spec"]["hostNetwork"] = True
        pod_sc(pod)["windowsOptions"] = {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}

    def container_host_process(pod: dict) -> None:
        pod["spec"]["hostNetwork"] = True
        sc(pod)["windowsOptions"] = {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}

    host = ("hostprocess", "hostns", "hostns-ports", "hostns-net", "hostNetwork")
    return [v("hostProcess", "windows-pod-hostProcess", host_process, *host, linux_only=False),
            v("hostProcess", "windows-container-hostProcess", container_host_process, *host, linux_only=False),
            v("hostProcess", "windows-hostProcess-false",
              lambda pod: sc(pod).update(windowsOptions={"hostProcess": False}), "hostprocess", linux_only=False)]


VARIANTS = _variants()
WINDOWS_VARIANTS = _windows_variants()


def _base(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": IMAGE}]}}


def bases() -> dict[str, dict]:
    plain = _base("plain")
    hardened = _base("hardened")
    hardened["spec"]["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    hardened["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False,
                                                           "capabilities": {"drop": ["ALL"]}}
    multi = copy.deepcopy(hardened)
    hardening = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    multi["spec"]["initContainers"] = [{"name": "init", "image": IMAGE, "securityContext": copy.deepcopy(hardening)}]
    multi["spec"]["containers"].append({"name": "sidecar", "image": IMAGE, "securityContext": copy.deepcopy(hardening)})
    windows = _base("windows")
    windows["spec"]["os"] = {"name": "windows"}
    return {"plain": plain, "hardened": hardened, "multi": multi, "windows": windows}


def _applicable(variant: Variant, base: str) -> bool:
    if base == "windows":
        return not variant.linux_only and not variant.needs_multi
    return (base == "multi" or not variant.needs_multi) and variant not in WINDOWS_VARIANTS


def _make(base_name: str, base: dict, chosen: list[Variant], index: int) -> Spec:
    pod = copy.deepcopy(base)
    for variant in chosen:
        variant.apply(pod)
    pod["metadata"]["name"] = f"pss-{index:04d}"
    return Spec(f"{base_name}+{'+'.join(x.name for x in chosen) or 'nothing'}", pod, tuple(x.name for x in chosen))


def specs(combinations: int = COMBINATIONS, seed: int = SEED) -> list[Spec]:
    """Every variant alone on every base it applies to, each base alone, then `combinations`
    random combinations of two to four variants with distinct slots."""
    found: list[Spec] = []
    all_bases = bases()
    linux = list(VARIANTS)
    for base_name, base in all_bases.items():
        found.append(_make(base_name, base, [], len(found)))
        pool = WINDOWS_VARIANTS + [x for x in linux if _applicable(x, "windows")] if base_name == "windows" else \
            [x for x in linux if _applicable(x, base_name)]
        for variant in pool:
            found.append(_make(base_name, base, [variant], len(found)))
    rng = random.Random(seed)
    names = list(all_bases)
    while combinations > 0:
        base_name = rng.choice(names)
        pool = (WINDOWS_VARIANTS + [x for x in linux if _applicable(x, "windows")] if base_name == "windows"
                else [x for x in linux if _applicable(x, base_name)])
        chosen: list[Variant] = []
        slots: set[str] = set()
        size = rng.randint(2, 4)
        for variant in rng.sample(pool, k=len(pool)):
            if len(chosen) == size:
                break
            if variant.slots & slots:
                continue
            chosen.append(variant)
            slots |= variant.slots
        if len(chosen) < 2:
            continue
        found.append(_make(base_name, all_bases[base_name], chosen, len(found)))
        combinations -= 1
    return found
