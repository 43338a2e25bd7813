"""What the API server checks in ConfigMaps and Secrets beyond the OpenAPI schema: the keys of
data, binaryData and stringData, a key given twice, the 1 MiB size limit, and the keys each Secret
type requires. Ported from ValidateConfigMap and ValidateSecret in k8s.io/kubernetes v1.37
pkg/apis/core/validation; messages are the server's own.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from wavegate import apimachinery as am
from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context, per_object

_K = "kubernetes"
MAX_SIZE = 1024 * 1024  # core.MaxSecretSize, also a ConfigMap's limit

DATA_KEY_INVALID = declare(
    id="data-key-invalid", family=_K, severity="error",
    title="A ConfigMap or Secret key is invalid, given twice, or the data is too large",
    rationale="""Keys of a ConfigMap's data and binaryData and a Secret's data and stringData become file names when
    mounted: letters, digits, '-', '_' and '.', at most 253, not '.' or '..' or starting with '..'. A
    ConfigMap key may not be in both data and binaryData, and all values together may not exceed 1 MiB.
    The API server refuses the object otherwise.""")
SECRET_TYPE_DATA = declare(
    id="secret-type-data-missing", family=_K, severity="error",
    title="A Secret lacks the keys its type requires",
    rationale="""Typed Secrets must hold their keys: kubernetes.io/tls needs tls.crt and tls.key,
    kubernetes.io/dockerconfigjson needs .dockerconfigjson (valid JSON), kubernetes.io/dockercfg needs
    .dockercfg, kubernetes.io/basic-auth username or password, kubernetes.io/ssh-auth ssh-privatekey,
    and kubernetes.io/service-account-token the kubernetes.io/service-account.name annotation. The API
    server refuses the Secret otherwise.""")

NOT_BASE64 = declare(
    id="data-not-base64", family=_K, severity="error",
    title="A Secret's data or a ConfigMap's binaryData value is not base64",
    rationale="""Values under a Secret's `data` and a ConfigMap's `binaryData` are base64 (standard alphabet, with
    padding). The API server cannot decode anything else and refuses the whole object ("illegal base64
    data"). Plain text belongs under a Secret's `stringData` or a ConfigMap's `data`.""")

_REQUIRED_BY_TYPE = {
    "kubernetes.io/tls": (("tls.crt", "tls.key"), "all"),
    "kubernetes.io/dockerconfigjson": ((".dockerconfigjson",), "all"),
    "kubernetes.io/dockercfg": ((".dockercfg",), "all"),
    "kubernetes.io/basic-auth": (("username", "password"), "any"),
    "kubernetes.io/ssh-auth": (("ssh-privatekey",), "all"),
}
_JSON_KEYS = frozenset({".dockerconfigjson", ".dockercfg"})


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    judged = [m for m in repo.having(kinds=("ConfigMap", "Secret"))
              if m.group == "" and m.version == "v1" and kube.is_kubernetes_object(m)]
    yield from per_object(ctx, "apiserver_config", judged, _judge)


def _judge(manifest: Manifest) -> Iterable[Finding]:
    if manifest.kind == "ConfigMap":
        yield from _config_map(manifest)
    elif manifest.kind == "Secret":
        yield from _secret(manifest)


def _refused(manifest: Manifest, rule, path: tuple, text: str, hint: str, key: bool = True) -> Finding:
    return rule.at(manifest, path, f'{manifest.kind} "{manifest.name or ""}" is invalid: {text}', hint=hint, key=key)


def _keys(manifest: Manifest, field: str, server_field: str) -> Iterable[Finding]:
    data = manifest.get(field)
    if not isinstance(data, dict):
        return
    for key in data:
        text = str(key)
        for message in am.is_config_map_key(text):
            yield _refused(manifest, DATA_KEY_INVALID, (field, key),
                           am.field_error((server_field, [text]), "Invalid", text, message),
                           "Use a key of letters, digits, '-', '_' and '.' (a file name), for example "
                           f"{_suggest_key(text)}.")


def _suggest_key(key: str) -> str:
    import re

    return re.sub(r"[^-._a-zA-Z0-9]+", "-", key).strip("-").lstrip(".")[:am.DNS1123_SUBDOMAIN_MAX] or "key"


def _base64(manifest: Manifest, field: str) -> Iterable[Finding]:
    values = manifest.get(field)
    if not isinstance(values, dict):
        return
    other = "stringData" if manifest.kind == "Secret" else "data"
    for key, value in values.items():
        if not isinstance(value, str):
            continue
        try:
            base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError) as error:
            yield NOT_BASE64.at(manifest, (field, key),
                                f'{manifest.kind} "{manifest.name or ""}": {field}.{key} is not base64 ({error}); the '
                                f"API server cannot decode the object",
                                hint=f"Encode the value (base64 -w0), or move it to {other} as plain text.", key=False)
            return  # the server stops at the first value it cannot decode


def _size(value) -> int:
    return len(value.encode()) if isinstance(value, str) else 0


def _decoded_size(value) -> int:
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode(value, validate=False))
    except (binascii.Error, ValueError):
        return 0


def _config_map(manifest: Manifest) -> Iterable[Finding]:
    yield from _base64(manifest, "binaryData")
    yield from _keys(manifest, "data", "data")
    yield from _keys(manifest, "binaryData", "binaryData")
    data, binary = manifest.get("data"), manifest.get("binaryData")
    data = data if isinstance(data, dict) else {}
    binary = binary if isinstance(binary, dict) else {}
    for key in data:
        if key in binary:
            yield _refused(manifest, DATA_KEY_INVALID, ("data", key),
                           am.field_error(("data", [str(key)]), "Invalid", str(key), "duplicate of key present in "
                                                                                      "binaryData"),
                           "Keep the key in data or in binaryData, not in both.")
    total = sum(_size(v) for v in data.values()) + sum(_decoded_size(v) for v in binary.values())
    if total > MAX_SIZE:
        yield _refused(manifest, DATA_KEY_INVALID, ("data",) if data else ("binaryData",),
                       am.field_error("", "Too long", detail=f"may not be more than {MAX_SIZE} bytes")
                       + f" (the data holds {total} bytes)",
                       "Split the data over several ConfigMaps, or mount the file from an image or a volume.")


def _secret(manifest: Manifest) -> Iterable[Finding]:
    yield from _base64(manifest, "data")
    yield from _keys(manifest, "data", "data")
    yield from _keys(manifest, "stringData", "data")  # stringData is merged into data before validation
    data, strings = manifest.get("data"), manifest.get("stringData")
    data = data if isinstance(data, dict) else {}
    strings = strings if isinstance(strings, dict) else {}
    merged = {str(k): ("base64", v) for k, v in data.items()}
    merged.update({str(k): ("text", v) for k, v in strings.items()})
    total = sum(_size(v) if how == "text" else _decoded_size(v) for how, v in merged.values())
    if total > MAX_SIZE:
        yield _refused(manifest, DATA_KEY_INVALID, ("data",) if data else ("stringData",),
                       am.field_error("data", "Too long", detail=f"may not be more than {MAX_SIZE} bytes")
                       + f" (the data holds {total} bytes)",
                       "Split the data over several Secrets.")
    secret_type = manifest.get("type")
    if secret_type == "kubernetes.io/service-account-token":
        if not manifest.annotations.get("kubernetes.io/service-account.name"):
            yield _refused(manifest, SECRET_TYPE_DATA, ("metadata", "annotations") if manifest.annotations else ("metadata",),
                           am.field_error("metadata.annotations[kubernetes.io/service-account.name]", "Required"),
                           "Add the annotation kubernetes.io/service-account.name: <the ServiceAccount's name>.")
        return
    required = _REQUIRED_BY_TYPE.get(secret_type) if isinstance(secret_type, str) else None
    if required is None:
        return
    keys, how = required
    missing = [k for k in keys if k not in merged]
    where = ("stringData",) if strings and not data else ("data",) if data else ("type",)
    if (how == "all" and missing) or (how == "any" and len(missing) == len(keys)):
        for key in missing:
            yield _refused(manifest, SECRET_TYPE_DATA, where, am.field_error(f"data[{key}]", "Required"),
                           f"A {secret_type} Secret needs the key {key} (in data, base64, or in stringData).")
        return
    if secret_type == "kubernetes.io/ssh-auth":
        how_given, value = merged["ssh-privatekey"]
        if (_size(value) if how_given == "text" else _decoded_size(value)) == 0:
            yield _refused(manifest, SECRET_TYPE_DATA, where, am.field_error("data[ssh-privatekey]", "Required"),
                           "Put the private key in ssh-privatekey.")
    for key in keys:
        if key in _JSON_KEYS and key in merged:
            yield from _json_value(manifest, key, *merged[key])


def _json_value(manifest: Manifest, key: str, how: str, value) -> Iterable[Finding]:
    import json

    if not isinstance(value, str):
        return
    try:
        text = value if how == "text" else base64.b64decode(value, validate=False).decode("utf-8", "replace")
        parsed = json.loads(text)
    except (ValueError, binascii.Error) as error:
        detail = str(error)
    else:
        if isinstance(parsed, dict):
            return
        detail = "the value is not a JSON object"
    field = "stringData" if how == "text" else "data"
    yield _refused(manifest, SECRET_TYPE_DATA, (field, key),
                   am.field_error(f"data[{key}]", "Invalid", "<secret contents redacted>", detail),
                   f"{key} must hold a JSON object (the docker config file).")
