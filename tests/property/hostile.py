"""Hypothesis strategies for hostile repositories: odd bytes, odd YAML, odd file types and names,
odd Kubernetes objects and odd configurations. `write(root, entries)` puts one on disk."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import strategies as st

# -- names ------------------------------------------------------------------------------------

# Characters that break naive code: separators of other systems, shell and glob metacharacters,
# quotes, a newline, a tab, an escape, and letters outside ASCII.
_NAME_CHARS = st.sampled_from(list("abcxyz019-_. ") + ["\n", "\t", "\x1b", "\\", "*", "?", "[", "]", "'", '"',
                                                          ":", "#", "é", "ß", "日", "\u202e", "~", "$", "%"])
SUFFIXES = st.sampled_from([".yaml", ".yml", ".yaml", ".YAML", ".json", ".jsonnet", ".md", "", ".yaml.bak"])


@st.composite
def segment(draw) -> str:
    name = draw(st.text(_NAME_CHARS, min_size=1, max_size=12))
    return name if name not in (".", "..") else name + "x"


@st.composite
def rel_path(draw, suffix: bool = True) -> str:
    parts = draw(st.lists(segment(), min_size=1, max_size=3))
    if draw(st.booleans()):
        parts = [draw(st.sampled_from(["argocd", "apps/web", "manifests", "environments/dev", ".git", "node_modules"]))] + parts
    text = "/".join(parts)
    return text + (draw(SUFFIXES) if suffix else "")


# -- scalar and YAML values ---------------------------------------------------------------------

ODD_STRINGS = st.one_of(
    st.text(max_size=30),
    st.builds(lambda: "9" * 5000),  # beyond Python's int() digit limit (built, so its repr stays short)
    st.sampled_from(["", " ", "1.5", "0x1F", "1e400", "-0", "+3", "007", "9" * 30, "y", "on", "null",
                     "~", "true", "12:30:00", "2024-01-01", "${schema.spec.name}", "${", "self.x >", "*", "a\nb",
                     "\x1b[31mred", "\u202eevil", "' OR 1=1", "kro.run/v1alpha1", "argoproj.io/v1alpha1", "v1",
                     "PreSync,Sync", "Prune=false,Replace=true", "CreateNamespaces=true", "resources-finalizer"]),
)
ODD_NUMBERS = st.one_of(st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
                        st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), ODD_NUMBERS, ODD_STRINGS)
VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(ODD_STRINGS, children, max_size=4)), max_leaves=20)


# -- Kubernetes objects ---------------------------------------------------------------------------

KINDS = [
    ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("apps/v1", "Deployment"),
    ("v1", "List"), ("argoproj.io/v1alpha1", "Application"), ("argoproj.io/v1alpha1", "AppProject"),
    ("argoproj.io/v1alpha1", "ApplicationSet"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("kro.run/v1alpha1", "ResourceGraphDefinition"), ("kro.run/v1alpha1", "CICDPipeline"),
    ("backstage.io/v1alpha1", "Component"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"), ("example.com/v1", "Widget"),
    ("batch/v1", "Job"), ("", ""), ("v1", "NoSuchKind"),
]
ANNOTATIONS = ["argocd.argoproj.io/sync-wave", "argocd.argoproj.io/hook", "argocd.argoproj.io/hook-delete-policy",
               "argocd.argoproj.io/sync-options", "argocd.argoproj.io/compare-options", "argocd.argoproj.io/finalizer",
               "helm.sh/hook-weight", "argocd.argoproj.io/tracking-id", "backstage.io/kubernetes-id",
               "argocd/app-name", "backstage.io/kubernetes-namespace", "backstage.io/kubernetes-label-selector"]


def either(*options):
    return st.one_of(*options)


@st.composite
def metadata(draw) -> dict:
    meta: dict = {}
    if draw(st.integers(0, 9)):
        meta["name"] = draw(either(st.sampled_from(["web", "team-web", "argocd", "default", "a" * 300]), SCALARS))
    if draw(st.booleans()):
        meta["namespace"] = draw(either(st.sampled_from(["web", "argocd", "team-web", "kube-system"]), SCALARS))
    if draw(st.booleans()):
        meta["annotations"] = draw(either(
            st.dictionaries(st.sampled_from(ANNOTATIONS), either(ODD_STRINGS, SCALARS), max_size=4), VALUES))
    if draw(st.integers(0, 3)) == 0:
        meta["labels"] = draw(either(st.dictionaries(ODD_STRINGS, ODD_STRINGS, max_size=3), VALUES))
    if draw(st.integers(0, 3)) == 0:
        meta["finalizers"] = draw(either(st.lists(ODD_STRINGS, max_size=3), VALUES))
    if draw(st.integers(0, 5)) == 0:
        meta["generateName"] = draw(SCALARS)
    return meta


def source() -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional={
        "repoURL": either(st.sampled_from(["https://gitlab.example.com/team/app.git", "."]), SCALARS),
        "path": either(st.sampled_from(["manifests", "apps/web", ".", "../..", "/etc", "environments/dev"]), SCALARS),
        "targetRevision": SCALARS, "chart": SCALARS, "helm": VALUES, "kustomize": VALUES,
        "directory": either(st.fixed_dictionaries({}, optional={"recurse": SCALARS, "include": ODD_STRINGS,
                                                                "exclude": ODD_STRINGS, "jsonnet": VALUES}), VALUES),
    })


def spec_for(kind: str) -> st.SearchStrategy:
    if kind == "Application":
        return st.fixed_dictionaries({}, optional={
            "project": SCALARS, "source": either(source(), VALUES), "sources": st.lists(source(), max_size=3),
            "destination": either(st.fixed_dictionaries({}, optional={
                "server": SCALARS, "namespace": either(st.sampled_from(["web", "argocd"]), SCALARS), "name": SCALARS}), VALUES),
            "syncPolicy": either(st.fixed_dictionaries({}, optional={
                "automated": VALUES, "syncOptions": either(st.lists(ODD_STRINGS, max_size=4), VALUES),
                "managedNamespaceMetadata": VALUES}), VALUES),
            "ignoreDifferences": either(st.lists(st.fixed_dictionaries({}, optional={
                "group": SCALARS, "kind": SCALARS, "jsonPointers": st.lists(ODD_STRINGS, max_size=3),
                "jqPathExpressions": st.lists(ODD_STRINGS, max_size=3), "name": SCALARS}), max_size=3), VALUES),
        })
    if kind == "CustomResourceDefinition":
        schema = st.recursive(
            st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "x"])},
                                  optional={"pattern": ODD_STRINGS, "format": ODD_STRINGS, "default": VALUES,
                                            "enum": st.lists(SCALARS, max_size=3), "maxLength": ODD_NUMBERS,
                                            "x-kubernetes-validations": st.lists(st.fixed_dictionaries(
                                                {"rule": either(st.sampled_from(["self.x > 0", "self.nosuch", "self.size() > 1",
                                                                                 "oldSelf == self", "self.matches('[')",
                                                                                 "quantity(self).isGreaterThan(quantity('1'))"]),
                                                                ODD_STRINGS)},
                                                optional={"message": SCALARS, "messageExpression": ODD_STRINGS,
                                                          "fieldPath": ODD_STRINGS}), max_size=2),
                                            "x-kubernetes-int-or-string": st.booleans(),
                                            "x-kubernetes-preserve-unknown-fields": st.booleans()}),
            lambda children: st.fixed_dictionaries(
                {"type": st.sampled_from(["object", "array"])},
                optional={"properties": st.dictionaries(st.sampled_from(["spec", "x", "replicas", "items", "name"]),
                                                        children, max_size=3),
                          "items": children, "additionalProperties": either(st.booleans(), children),
                          "required": st.lists(ODD_STRINGS, max_size=2)}), max_leaves=8)
        return st.fixed_dictionaries({
            "group": either(st.sampled_from(["example.com", "kro.run"]), SCALARS),
            "names": either(st.fixed_dictionaries({"kind": either(st.just("Widget"), SCALARS),
                                                   "plural": either(st.just("widgets"), SCALARS)}), VALUES),
            "scope": either(st.sampled_from(["Namespaced", "Cluster"]), SCALARS),
            "versions": either(st.lists(st.fixed_dictionaries(
                {"name": either(st.just("v1"), SCALARS), "served": SCALARS, "storage": SCALARS,
                 "schema": st.fixed_dictionaries({"openAPIV3Schema": schema})}), max_size=2), VALUES)})
    if kind == "ResourceGraphDefinition":
        return st.fixed_dictionaries({}, optional={
            "schema": st.fixed_dictionaries({}, optional={
                "apiVersion": SCALARS, "kind": either(st.just("CICDPipeline"), SCALARS), "group": SCALARS,
                "spec": either(st.dictionaries(ODD_STRINGS, either(st.sampled_from([
                    "string", "integer | default=3", "string | required=true", "[]string", "map[string]integer",
                    "string | enum=a,b | default=c", "integer | minimum=5 | maximum=1", "string | pattern=\"[\"",
                    "nosuchtype", "string | default=", "boolean | description=\"x\""]), VALUES), max_size=4), VALUES),
                "status": VALUES}),
            "resources": either(st.lists(st.fixed_dictionaries({}, optional={
                "id": SCALARS, "template": VALUES, "readyWhen": st.lists(ODD_STRINGS, max_size=2),
                "includeWhen": st.lists(ODD_STRINGS, max_size=2)}), max_size=3), VALUES),
        })
    return VALUES


@st.composite
def kubernetes_object(draw) -> dict:
    api_version, kind = draw(st.sampled_from(KINDS))
    data: dict = {}
    if api_version or draw(st.booleans()):
        data["apiVersion"] = api_version if draw(st.integers(0, 7)) else draw(SCALARS)
    if kind or draw(st.booleans()):
        data["kind"] = kind if draw(st.integers(0, 7)) else draw(SCALARS)
    data["metadata"] = draw(metadata()) if draw(st.integers(0, 7)) else draw(VALUES)
    if kind == "List":
        data["items"] = draw(either(st.lists(kubernetes_object(), max_size=3), VALUES))
    elif kind in ("ConfigMap", "Secret"):
        data["data"] = draw(VALUES)
    else:
        data["spec"] = draw(spec_for(kind))
    return data


# -- file contents ------------------------------------------------------------------------------

SNIPPETS = [
    "a: &a [*a]\n", "a: *nowhere\n", "!!python/object/apply:os.system ['true']\n", "a: !!binary aGk=\n",
    "? [complex, key]\n: value\n", "base: &b {x: 1}\nmerged:\n  <<: *b\n  <<: [*b, *b]\n", "a:\n\tb: 1\n",
    "---\n...\n---\n", "%YAML 1.1\n---\na: 1\n", "%TAG ! tag:example.com,2000:\n--- !foo\na: 1\n", "\ufeffa: 1\n",
    "key: 1\nkey: 2\n", "[" * 300 + "]" * 300 + "\n", "{" * 150 + "}" * 150 + "\n", "a: 1e400\nb: .nan\nc: -.inf\n",
    "a: 0b101\nb: 0o17\nc: 1_000\nd: 12:30:00\ne: 2001-12-14t21:59:43.10-05:00\n", "- a\n- b\n", "just text\n",
    "a: |\n  literal\n  text\n", "a: >-\n  folded\n", "'unterminated\n", "a: [1, 2\n", "\x00\n", "a: \x85\n",
    "lol: &l [a, a, a, a, a, a, a, a, a]\nl2: &l2 [*l, *l, *l, *l, *l, *l, *l, *l, *l]\n"
    "l3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]\nl4: [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]\n",
]


@st.composite
def yaml_text(draw) -> str:
    documents = draw(st.lists(either(
        kubernetes_object().map(lambda d: _dump(d)),
        st.sampled_from(SNIPPETS),
        st.builds(lambda: "metadata:\n  annotations:\n    argocd.argoproj.io/sync-wave: " + "9" * 5000 + "\n"),
        VALUES.map(_dump),
    ), min_size=0, max_size=4))
    separator = draw(st.sampled_from(["---\n", "\n---\n", "--- \n"]))
    return separator.join(documents)


def _dump(data) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 16)
    except (yaml.YAMLError, ValueError, OverflowError):
        return "{}\n"


# -- repositories -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    path: str
    kind: str  # text, bytes, fifo, link, unreadable
    payload: object = None


@st.composite
def entry(draw) -> Entry:
    kind = draw(st.sampled_from(["text"] * 6 + ["bytes", "fifo", "link", "unreadable"]))
    path = draw(rel_path())
    if kind == "text":
        return Entry(path, kind, draw(yaml_text()))
    if kind == "bytes":
        return Entry(path, kind, draw(either(st.binary(max_size=200),
                                             yaml_text().map(lambda t: t.encode("utf-8") + b"\xff\xfe"),
                                             yaml_text().map(lambda t: t.encode("utf-16")))))
    if kind == "link":
        return Entry(path, kind, draw(either(rel_path(), st.sampled_from(
            ["/etc/passwd", "/dev/zero", "..", ".", "../../outside.yaml", "a.yaml", "b.yaml"]))))
    return Entry(path, kind)


CONFIG_VALUES = {
    "rules": either(st.dictionaries(either(st.sampled_from(
        ["sync-wave-not-integer", "yaml-duplicate-key", "policy-violation", "schema-unknown-kind", "nothing-checked",
         "no-such-rule"]), ODD_STRINGS), either(st.sampled_from(["error", "warning", "info", "off"]), SCALARS),
        max_size=3), VALUES),
    "exclude": either(st.lists(either(st.sampled_from(["docs/", "*.values.yaml", "/abs", "./x", "**", "*"]),
                                      ODD_STRINGS), max_size=3), VALUES),
    "maxFileBytes": either(st.sampled_from([0, 1, 10, -1, 2**70]), SCALARS),
    "repoURL": SCALARS,
    "namespaces": either(st.lists(ODD_STRINGS, max_size=3), VALUES),
    "argocd": either(st.fixed_dictionaries({}, optional={
        "version": either(st.sampled_from([2, 3, 4]), SCALARS), "requireResourcesFinalizer": SCALARS,
        "configMap": either(st.sampled_from(["argocd-cm.yaml", "/missing.yaml", "", ".", "/dev/zero"]), SCALARS)}),
        VALUES),
    "kubernetesVersion": either(st.sampled_from(["1.37", "v1.36", "1.99", "1.2.3", "2.0"]), SCALARS),
    "schemas": either(st.lists(either(st.sampled_from(["crds/", "/nonexistent/dir", ".", "..", "/dev/null"]),
                                      ODD_STRINGS), max_size=2), VALUES),
    "policies": either(st.sampled_from(["policies/", "/nonexistent", ".", "/etc"]), SCALARS),
    "exceptions": either(st.lists(st.fixed_dictionaries({}, optional={
        "policy": ODD_STRINGS, "resource": VALUES, "reason": SCALARS, "approvedBy": SCALARS,
        "expires": either(st.sampled_from(["2020-01-01", "2999-12-31", "tomorrow"]), SCALARS)}), max_size=2), VALUES),
    "environments": either(st.lists(st.fixed_dictionaries({}, optional={
        "name": SCALARS, "path": either(st.sampled_from(["apps/web", ".", "/etc", "nope"]), SCALARS),
        "promoteFrom": SCALARS, "keep": VALUES, "gates": VALUES, "application": VALUES}), max_size=2), VALUES),
    "unknownKey": VALUES,
}


@st.composite
def config_text(draw) -> str | None:
    choice = draw(st.integers(0, 9))
    if choice < 3:
        return None
    if choice == 3:
        return draw(either(st.sampled_from(SNIPPETS), VALUES.map(_dump)))
    keys = draw(st.lists(st.sampled_from(sorted(CONFIG_VALUES)), unique=True, max_size=4))
    return _dump({key: draw(CONFIG_VALUES[key]) for key in keys})


def _maybe(draw, good, odd=SCALARS):
    """`good` mostly, sometimes an odd value in its place: coherent repositories reach deep checks."""
    return good if draw(st.integers(0, 5)) else draw(odd)


@st.composite
def coherent_repository(draw) -> list[Entry]:
    """An Application syncing a folder of objects that refer to each other (a Namespace, a CRD and
    its instances, a ResourceGraphDefinition and its instance, a catalog entity), each field
    sometimes replaced by an odd value, plus a few random entries."""
    folder = _maybe(draw, "manifests", ODD_STRINGS)
    ns = _maybe(draw, "web")
    wave = lambda: _maybe(draw, str(draw(st.integers(-3, 3))), either(ODD_STRINGS, SCALARS))  # noqa: E731
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
           "metadata": {"name": _maybe(draw, "web"), "namespace": "argocd",
                        "finalizers": _maybe(draw, ["resources-finalizer.argocd.argoproj.io"], VALUES)},
           "spec": {"project": _maybe(draw, "team"),
                    "source": {"repoURL": "https://gitlab.example.com/team/app.git", "path": folder,
                               "targetRevision": "main", "directory": _maybe(draw, {"recurse": True}, VALUES)},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                    "syncPolicy": _maybe(draw, {"syncOptions": draw(st.lists(ODD_STRINGS, max_size=3))}, VALUES),
                    "ignoreDifferences": _maybe(draw, [], VALUES)}}
    widget_spec = {"type": "object", "properties": {"size": {"type": "integer"}, "name": {"type": "string"}},
                   "x-kubernetes-validations": [{"rule": draw(either(st.sampled_from(
                       ["self.size >= 0", "self.size > 'a'", "self.nosuch == 1", "self.name.startsWith('w')",
                        "has(self.size)"]), ODD_STRINGS))}]}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com", "annotations": {"argocd.argoproj.io/sync-wave": wave()}},
           "spec": _maybe(draw, {"group": "example.com", "scope": "Namespaced",
                                 "names": {"kind": "Widget", "plural": "widgets"},
                                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                                     "openAPIV3Schema": {"type": "object", "properties": {"spec": widget_spec}}}}]},
                          spec_for("CustomResourceDefinition"))}
    rgd = {"apiVersion": "kro.run/v1alpha1", "kind": "ResourceGraphDefinition",
           "metadata": {"name": "pipeline", "annotations": {"argocd.argoproj.io/sync-wave": wave()}},
           "spec": _maybe(draw, {"schema": {"apiVersion": "v1alpha1", "kind": "CICDPipeline",
                                            "spec": {"name": draw(either(st.just("string | required=true"), ODD_STRINGS))}},
                                 "resources": [{"id": _maybe(draw, "config"), "template": {
                                     "apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": draw(either(st.just("${schema.spec.name}"), ODD_STRINGS))}}}]},
                          spec_for("ResourceGraphDefinition"))}
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "annotations": {
            "argocd.argoproj.io/sync-wave": wave()}}},
        crd, rgd,
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": ns, "annotations": {
            "argocd.argoproj.io/sync-wave": wave(), "argocd.argoproj.io/hook": _maybe(draw, "PreSync", ODD_STRINGS)}},
         "spec": _maybe(draw, {"size": draw(SCALARS), "name": "web"}, VALUES)},
        {"apiVersion": "kro.run/v1alpha1", "kind": "CICDPipeline", "metadata": {"name": "p", "namespace": ns,
                                                                               "annotations": {"argocd.argoproj.io/sync-wave": wave()}},
         "spec": _maybe(draw, {"name": "web"}, VALUES)},
        draw(kubernetes_object()),
    ]
    entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
              "metadata": {"name": "web", "annotations": {"argocd/app-name": _maybe(draw, "web"),
                                                          "backstage.io/kubernetes-namespace": _maybe(draw, ns)}},
              "spec": {"type": "service", "owner": _maybe(draw, "team"), "lifecycle": "production"}}
    together = draw(st.booleans())
    entries = [Entry("argocd/app.yaml", "text", _dump(app)), Entry("catalog-info.yaml", "text", _dump(entity))]
    if together:
        entries.append(Entry(f"{folder}/all.yaml", "text", "---\n".join(_dump(o) for o in objects)))
    else:
        entries += [Entry(f"{folder}/{i}.yaml", "text", _dump(o)) for i, o in enumerate(objects)]
    return entries + draw(st.lists(entry(), max_size=3))


repositories = either(st.lists(entry(), min_size=0, max_size=8), coherent_repository())


def write(root: Path, entries: list[Entry], config: str | None = None) -> None:
    """Create what can be created of `entries` under `root` (conflicting paths are skipped)."""
    for item in entries:
        target = root / item.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(target):
                continue
            if item.kind == "text":
                target.write_text(item.payload, encoding="utf-8", errors="surrogatepass")
            elif item.kind == "bytes":
                target.write_bytes(item.payload)
            elif item.kind == "fifo":
                os.mkfifo(target)
            elif item.kind == "link":
                os.symlink(item.payload, target)
            elif item.kind == "unreadable":
                target.mkdir()
                (target / "hidden.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hidden\n")
                target.chmod(0)
        except (OSError, UnicodeError):
            continue
    if config is not None:
        try:
            (root / ".wavegate.yaml").write_text(config, encoding="utf-8", errors="surrogatepass")
        except (OSError, UnicodeError):
            pass


def make_removable(root: Path) -> None:
    """Give back the permissions `write` took away, so the folder can be deleted."""
    for directory, dirnames, _ in os.walk(root):
        for name in dirnames:
            path = Path(directory, name)
            if not path.is_symlink():
                path.chmod(stat.S_IRWXU)
