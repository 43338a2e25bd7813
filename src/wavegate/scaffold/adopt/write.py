"""Writing the repository: the golden-path skeleton, rewritten to say exactly what the cluster has."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wavegate.argocd.model import HELM_HOOK, HOOK, SYNC_OPTIONS
from wavegate.load import read_yaml
from wavegate.regex import lazy_compile
from wavegate.scaffold.adopt.derive import at_path, strip
from wavegate.scaffold.adopt.model import Adopted, AdoptError
from wavegate.scaffold.init import InitError, init

PIPELINE_FILE = "manifests/kro-cicd-pipeline.yaml"
NAMESPACE_FILE = "manifests/namespace.yaml"
APPLICATION_FILE = "argocd/application.yaml"
HOOK_ANNOTATIONS = (HOOK, HELM_HOOK)
RECREATING_OPTIONS = ("Replace=true", "Force=true")
# Namespace metadata the API server sets itself.
SERVER_LABELS = ("kubernetes.io/metadata.name",)


def _ordered_like(value: Any, template: Any) -> Any:
    """`value` with its mapping keys in the order `template` uses (extra keys after, sorted)."""
    if isinstance(value, dict):
        shape = template if isinstance(template, dict) else {}
        keys = [k for k in shape if k in value] + sorted(k for k in value if k not in shape)
        return {k: _ordered_like(value[k], shape.get(k)) for k in keys}
    if isinstance(value, list):
        return [_ordered_like(v, template[0] if isinstance(template, list) and template else None) for v in value]
    return value


def _diff_paths(a: Any, b: Any, path: str = "spec") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in list(a) + [k for k in b if k not in a]:
            found += _diff_paths(a.get(key), b.get(key), f"{path}.{key}")
        return found
    return [] if a == b else [path]


def _merge_metadata(rendered: dict, live: dict, exact: bool, kind: str, added: list[str]) -> dict:
    """Live labels/annotations win; the skeleton's are added where the live object lacks them
    (none with `exact`). Records each addition in `added`."""
    meta = {"name": live["name"]}
    if live.get("namespace"):
        meta["namespace"] = live["namespace"]
    for section in ("labels", "annotations"):
        merged = dict(live.get(section) or {})
        if not exact:
            for key, value in (rendered.get(section) or {}).items():
                if key not in merged:
                    merged[key] = value
                    added.append(f"{kind} metadata.{section}[{key}]={value}")
        if merged:
            meta[section] = merged
    for key in ("finalizers",):
        if live.get(key):
            meta[key] = live[key]
    return meta


def _header(text: str) -> str:
    """The leading comment block of a rendered skeleton file."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "\n".join(lines).rstrip() + "\n" if lines else ""


_PLAIN_KEY = lazy_compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"}


def _dump(header: str, doc: dict) -> str:
    """YAML for `doc`, every string value double-quoted as the skeleton writes them: an unquoted
    `012345678901` or `yes` would be read back as a number or a boolean by some YAML parser."""
    return header + "".join(_yaml_lines(doc, 0))


def _key(key: Any) -> str:
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS else json.dumps(text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> Iterator[str]:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{_key(key)}:\n"
                yield from _yaml_lines(item, indent + 2 if isinstance(item, dict) else indent + 2)
            else:
                yield f"{pad}{_key(key)}: {_empty(item) if isinstance(item, (dict, list)) else _scalar(item)}\n"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_yaml_lines(item, indent + 2))
                first = lines[0]
                yield f"{pad}- {first[indent + 2:]}"
                yield from lines[1:]
            else:
                yield f"{pad}- {_empty(item) if isinstance(item, (dict, list)) else _scalar(item)}\n"


def _empty(value: Any) -> str:
    return "{}" if isinstance(value, dict) else "[]"


def _read_one(path: Path) -> dict:
    documents, problems = read_yaml(path)
    if problems or len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise AdoptError([f"the skeleton's {path.name} did not render to one object; this is a wavegate defect"])
    return documents[0].data


def check_takeover(target: Path) -> None:
    """Refuse a repository whose Application or manifests would delete and re-create objects."""
    problems = []
    app = _read_one(target / APPLICATION_FILE)
    options = ((app.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []
    for option in options:
        if str(option).replace(" ", "") in RECREATING_OPTIONS:
            problems.append(f"{APPLICATION_FILE}: syncOptions {option} deletes and re-creates objects; an adopted "
                            f"object must be taken over in place")
    for rel in (PIPELINE_FILE, NAMESPACE_FILE):
        annotations = (_read_one(target / rel).get("metadata") or {}).get("annotations") or {}
        for key in HOOK_ANNOTATIONS:
            if key in annotations:
                problems.append(f"{rel}: {key} makes the object a hook, deleted and re-created on every sync")
        for option in str(annotations.get(SYNC_OPTIONS, "")).split(","):
            if option.strip().replace(" ", "") in RECREATING_OPTIONS:
                problems.append(f"{rel}: {SYNC_OPTIONS} {option.strip()} deletes and re-creates the object")
    if problems:
        raise AdoptError(problems)


def write_repository(instance: dict, values: dict[str, str], target: Path, *, live_namespace: dict | None = None,
                     exact_metadata: bool = False, force: bool = False, notes: list[str] | None = None) -> Adopted:
    """Render the golden-path skeleton for `instance` (live, as read) into `target` and make its
    manifests say what the cluster has. Returns what was written and what the first sync adds."""
    clean, removed = strip(instance)
    meta = clean["metadata"]
    result = Adopted(namespace=meta.get("namespace", ""), name=meta["name"], target=Path(target), values=values,
                     stripped=removed, notes=list(notes or []))
    try:
        result.files = init(target, values, variant="single", force=force)
    except InitError as error:
        raise AdoptError(error.problems) from None

    pipeline_path = Path(target) / PIPELINE_FILE
    text = pipeline_path.read_text(encoding="utf-8")
    rendered = _read_one(pipeline_path)
    for path in _diff_paths(rendered.get("spec"), clean.get("spec")):
        result.notes.append(f"{path}: kept the cluster's value (the golden path would write "
                            f"{at_path(rendered, tuple(path.split('.'))) !r})")
    for key in ("name", "namespace"):
        if rendered["metadata"].get(key) != meta.get(key):
            result.notes.append(f"metadata.{key}: kept the cluster's {meta.get(key)!r} (the golden path would "
                                f"name it {rendered['metadata'].get(key)!r})")
    document = {"apiVersion": clean["apiVersion"], "kind": clean["kind"],
                "metadata": _merge_metadata(rendered["metadata"], meta, exact_metadata, clean["kind"], result.added)}
    for key, value in clean.items():
        if key not in ("apiVersion", "kind", "metadata"):
            document[key] = _ordered_like(value, rendered.get(key))
    pipeline_path.write_text(_dump(_header(text), document), encoding="utf-8")

    namespace_path = Path(target) / NAMESPACE_FILE
    ns_text = namespace_path.read_text(encoding="utf-8")
    ns_rendered = _read_one(namespace_path)
    ns_meta = {"name": meta.get("namespace")}
    if live_namespace is not None:
        try:
            ns_meta = strip(live_namespace, server_labels=SERVER_LABELS)[0]["metadata"]
        except AdoptError as error:  # e.g. already tracked by another Application: say so, declare it anyway
            result.notes += [f"{problem}; the repository declares it too, so Argo CD reports a shared resource"
                             for problem in error.problems]
    ns_document: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": _merge_metadata(ns_rendered["metadata"], ns_meta, exact_metadata,
                                                               "Namespace", result.added)}
    if not exact_metadata:
        annotations = ns_document["metadata"].setdefault("annotations", {})
        options = [o.strip() for o in str(annotations.get(SYNC_OPTIONS, "")).split(",") if o.strip()]
        if not any(o.startswith("Delete=") for o in options):
            options.append("Delete=false")
            annotations[SYNC_OPTIONS] = ",".join(options)
            result.added.append(f"Namespace metadata.annotations[{SYNC_OPTIONS}]={annotations[SYNC_OPTIONS]}")
    header = _header(ns_text) + ("# Adopted: this namespace existed before the repository, so deleting the Application\n"
                                 "# leaves it alone (Delete=false).\n" if not exact_metadata else "")
    namespace_path.write_text(_dump(header, ns_document), encoding="utf-8")
    check_takeover(Path(target))
    return result
