"""The kubeconform engine (`--engine kubeconform`): the store written as a bundle, the real kubeconform
binary from scripts/install-tools, its results mapped back to lines; and the agreement of both
engines on one corpus, resource by resource."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, widget_crd, write_repo
from wavegate.config import load_config
from wavegate.load import load
from wavegate.schemas import SchemaStore, kubeconform
from wavegate.validators import Context, schema_kubernetes
from wavegate.validators import schema as builtin

pytestmark = pytest.mark.integration

WIDGET_CRD = widget_crd("""
              type: object
              required: [region, size]
              properties:
                region: {type: string, pattern: '^[a-z]+-[a-z]+-[0-9]$'}
                size: {type: integer, minimum: 1, maximum: 10}
                tier: {type: string, enum: [free, pro], default: free}
                name: {type: string, minLength: 3, maxLength: 8}
                tags: {type: array, items: {type: string}, maxItems: 3, x-kubernetes-list-type: set}
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string}
                      port: {type: integer}
                limits:
                  type: object
                  x-kubernetes-validations: [{rule: self.min <= self.max, message: min must not exceed max}]
                  properties:
                    min: {type: integer}
                    max: {type: integer}
                ratio: {type: number}
                labels: {type: object, additionalProperties: {type: string}}
                config: {type: object, x-kubernetes-preserve-unknown-fields: true}
                note: {type: string, nullable: true}
                portOrName: {x-kubernetes-int-or-string: true}
""")

# name -> (document, valid?). Names are unique, so a resource is identified by its name alone.
WIDGETS = {
    "w-full": ("region: eu-west-1\nsize: 3\ntier: pro\nname: abcd\ntags: [a, b]\nports: [{name: http, port: 80}]\n"
               "limits: {min: 1, max: 2}\nratio: 0.5\nlabels: {a: b}\nconfig: {x: [1, {y: z}]}\nnote: hi\n"
               "portOrName: http", True),
    "w-minimal": ("region: eu-west-1\nsize: 1", True),
    "w-missing-size": ("region: eu-west-1", False),
    "w-pattern": ("region: EU\nsize: 1", False),
    "w-below-minimum": ("region: eu-west-1\nsize: 0", False),
    "w-above-maximum": ("region: eu-west-1\nsize: 11", False),
    "w-enum": ("region: eu-west-1\nsize: 1\ntier: gold", False),
    "w-too-short": ("region: eu-west-1\nsize: 1\nname: ab", False),
    "w-too-long": ("region: eu-west-1\nsize: 1\nname: abcdefghi", False),
    "w-unknown-field": ("region: eu-west-1\nsize: 1\ncolour: red", False),
    "w-duplicate-tags": ("region: eu-west-1\nsize: 1\ntags: [a, a]", False),
    "w-too-many-tags": ("region: eu-west-1\nsize: 1\ntags: [a, b, c, d]", False),
    "w-duplicate-port-keys": ("region: eu-west-1\nsize: 1\nports: [{name: http, port: 80}, {name: http, port: 81}]",
                              False),
    "w-cel-limits": ("region: eu-west-1\nsize: 1\nlimits: {min: 5, max: 2}", False),
    "w-quoted-size": ("region: eu-west-1\nsize: \"3\"", False),
    "w-integer-ratio": ("region: eu-west-1\nsize: 1\nratio: 1", True),
    "w-label-number": ("region: eu-west-1\nsize: 1\nlabels: {a: 1}", False),
    "w-null-note": ("region: eu-west-1\nsize: 1\nnote: null", True),
    "w-port-float": ("region: eu-west-1\nsize: 1\nportOrName: 1.5", False),
    "w-unknown-nested": ("region: eu-west-1\nsize: 1\nports: [{name: http, colour: red}]", False),
    "w-whole-float-size": ("region: eu-west-1\nsize: 2.0", True),
    "w-missing-key-field": ("region: eu-west-1\nsize: 1\nports: [{port: 80}]", False),
}

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: web}}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx}}]
{extra}
"""
OTHERS = {
    "d-valid": (DEPLOYMENT.format(name="d-valid", extra="  replicas: 2"), True),
    "d-quoted-replicas": (DEPLOYMENT.format(name="d-quoted-replicas", extra="  replicas: \"2\""), False),
    "d-unknown-field": (DEPLOYMENT.format(name="d-unknown-field", extra="  replica: 2"), False),
    "d-container-without-name": ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d-container-without-name}\n"
                                 "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
                                 "    metadata: {labels: {app: web}}\n    spec: {containers: [{image: nginx}]}", False),
    "d-surge-percent": (DEPLOYMENT.format(name="d-surge-percent",
                                          extra="  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%}}"), True),
    "d-label-number": ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d-label-number, labels: {tier: 1}}\n"
                       "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
                       "    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}", False),
    "c-valid": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-valid}\ndata: {a: b}", True),
    "c-number": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-number}\ndata: {a: 1}", False),
    "c-unknown-field": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c-unknown-field}\ndate: {a: b}", False),
    "s-valid": ("apiVersion: v1\nkind: Service\nmetadata: {name: s-valid}\n"
                "spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}", True),
    "s-quoted-port": ("apiVersion: v1\nkind: Service\nmetadata: {name: s-quoted-port}\n"
                      "spec: {ports: [{port: \"80\"}]}", False),
    "a-valid": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a-valid, namespace: argocd}\n"
                "spec:\n  project: default\n  destination: {server: https://kubernetes.default.svc, namespace: web}\n"
                "  source: {repoURL: https://git.example.com/a.git, path: ., targetRevision: main}\n"
                "  syncPolicy: {automated: {prune: true}}", True),
    "a-ignore-difference": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a-ignore-difference}\n"
                            "spec:\n  project: default\n  destination: {server: https://kubernetes.default.svc}\n"
                            "  ignoreDifference: [{kind: Deployment}]", False),
    "a-no-destination": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a-no-destination}\n"
                         "spec: {project: default}", False),
    "a-prune-yes": ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a-prune-yes}\n"
                    "spec:\n  project: default\n  destination: {server: https://kubernetes.default.svc}\n"
                    "  syncPolicy: {automated: {prune: \"yes\"}}", False),
}

PIPELINE = """
apiVersion: kro.run/v1alpha1
kind: CICDPipeline
metadata: {{name: {name}, namespace: team-web}}
spec:
  name: web-cicd
  namespace: team-web
  aws: {{region: {region}, accountId: {account}, clusterName: peeks-hub-cluster{aws_extra}}}
  application: {{name: web}}
{gitlab}
"""
GITLAB = "  gitlab: {hostname: gitlab.example.com, username: platform}"
PIPELINES = {
    "p-valid": (PIPELINE.format(name="p-valid", region="us-west-2", account='"123456789012"', aws_extra="",
                                gitlab=GITLAB), True),
    "p-region": (PIPELINE.format(name="p-region", region="mars-1", account='"123456789012"', aws_extra="",
                                 gitlab=GITLAB), False),
    "p-account-number": (PIPELINE.format(name="p-account-number", region="us-west-2", account="123456789012",
                                         aws_extra="", gitlab=GITLAB), False),
    "p-account-pattern": (PIPELINE.format(name="p-account-pattern", region="us-west-2", account='"12345"',
                                          aws_extra="", gitlab=GITLAB), False),
    "p-no-gitlab": (PIPELINE.format(name="p-no-gitlab", region="us-west-2", account='"123456789012"', aws_extra="",
                                    gitlab=""), False),
    "p-regoin": (PIPELINE.format(name="p-regoin", region="us-west-2", account='"123456789012"',
                                 aws_extra=", regoin: us-east-1", gitlab=GITLAB), False),
}

# What kubeconform cannot judge, because a JSON Schema bundle cannot say it (each documented in
# wavegate.schemas.bundle); only these resources may get different verdicts, and they must.
ONLY_BUILTIN = {
    "w-duplicate-port-keys": "x-kubernetes-list-type: map keys are unique: JSON Schema has no uniqueness by key",
    "w-cel-limits": "x-kubernetes-validations (CEL) rules are not JSON Schema",
}
# Also not judged by kubeconform, and so kept out of the corpus: defaults (a value that comes
# from a schema default is never checked, and a default that breaks its schema is only found by
# the built-in engine), transition rules (oldSelf: neither engine checks them on create),
# CEL-only constraints of Kubernetes' own kinds, and RE2 vs Go regexp (both engines use RE2
# semantics: kubeconform's jsonschema uses Go's regexp, which is RE2).


def _documents(kind_header: str, corpus: dict) -> str:
    out = []
    for name, (text, _) in corpus.items():
        if kind_header:
            out.append(f"apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: {name}}}\nspec:\n"
                       + textwrap.indent(text, "  "))
        else:
            out.append(text.strip())
    return "\n---\n".join(out) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    write_repo(root, {
        "crds/widget.yaml": WIDGET_CRD,
        "rgd/cicd-pipeline-rgd.yaml": (REPO_ROOT / "templates" / "kro" / "cicd-pipeline-rgd.yaml").read_text(),
        "widgets.yaml": _documents("widget", WIDGETS),
        "others.yaml": _documents("", OTHERS),
        "pipelines.yaml": _documents("", PIPELINES),
    })
    return root


def _verdicts(root: Path) -> dict[str, tuple[bool, bool]]:
    """name -> (valid for the built-in engine, valid for kubeconform)."""
    repo = load(root)
    store = SchemaStore.build(repo, load_config(root))
    judged = [m for m in repo.manifests if m.name in {**WIDGETS, **OTHERS, **PIPELINES}]
    builtin_valid = {m.name: not [f for f in builtin.check_manifest(store, m) if f.severity.name == "ERROR"]
                     for m in judged}
    entries = [store.lookup(m.api_version, m.kind) for m in judged]
    directory, location = kubeconform.prepare_bundle(store, entries)
    results = kubeconform.run_kubeconform(root, sorted({m.path for m in judged}), location)
    assert not [r for r in results if r.status == "statusError"], results
    invalid = {m.name for m, r in kubeconform._match(results, judged)[0] if r.status == "statusInvalid"}
    return {m.name: (builtin_valid[m.name], m.name not in invalid) for m in judged}


def test_both_engines_give_the_same_verdict_per_resource(corpus):
    verdicts = _verdicts(corpus)
    expected = {name: valid for name, (_, valid) in {**WIDGETS, **OTHERS, **PIPELINES}.items()}
    assert len(verdicts) == len(expected) >= 40
    assert {name: b for name, (b, _) in verdicts.items()} == expected, "the built-in engine"
    disagree = {name for name, (b, k) in verdicts.items() if b != k}
    assert disagree == set(ONLY_BUILTIN), {n: verdicts[n] for n in disagree ^ set(ONLY_BUILTIN)}
    assert all(verdicts[name] == (False, True) for name in ONLY_BUILTIN)


def _findings(root: Path, engine: str):
    config = load_config(root)
    repo = load(root, exclude=config.exclude)
    ctx = Context(repo=repo, config=config, engine=engine)
    # (the built-in engine judges Kubernetes' own kinds in a check of their own; kubeconform judges
    # every object in the schema check, and that check then has nothing to do)
    found = [*builtin.check(repo, ctx), *schema_kubernetes.check(repo, ctx)]
    return sorted(found, key=lambda f: (f.path, f.line, f.column, f.rule, f.message))


def test_kubeconform_findings_use_the_schema_rules_at_the_lines_a_person_edits(corpus):
    ours = {(f.rule, f.path, f.line, f.column) for f in _findings(corpus, "kubeconform")}
    theirs = {(f.rule, f.path, f.line, f.column) for f in _findings(corpus, "builtin")}
    # Same rule at the same place for every finding kubeconform can make, e.g. the unknown field
    # `regoin` at its key, `size: "3"` at its value, a missing `size` at `spec`.
    assert ours - theirs == set(), sorted(ours - theirs)
    only_builtin = {(r, p, line) for r, p, line, _ in theirs - ours}
    # Only what kubeconform cannot judge (list-map keys, CEL), and the built-in engine's note that
    # CEL rules were skipped on an object that is already invalid.
    assert {r for r, _, _ in only_builtin} == {"schema-duplicate-item", "schema-cel-rule", "schema-not-checked"}
    unknown = [f for f in _findings(corpus, "kubeconform") if f.rule == "schema-unknown-field" and "regoin" in f.message]
    assert unknown and unknown[0].hint == "Did you mean spec.aws.region?"


def test_unknown_kinds_and_excluded_files_are_handled_as_the_builtin_engine_does(tmp_path):
    root = write_repo(tmp_path / "repo", {
        ".wavegate.yaml": "exclude: ['vendor/**']\n",
        "gadget.yaml": "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n",
        "vendor/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n",
        "ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: \"1\"}\n",
    })
    ours = sorted((f.rule, f.path, f.line) for f in _findings(root, "kubeconform"))
    assert ours == sorted((f.rule, f.path, f.line) for f in _findings(root, "builtin"))
    assert ours == [("schema-unknown-kind", "gadget.yaml", 2)]


def test_the_bundle_is_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = write_repo(tmp_path / "repo", {"crd.yaml": WIDGET_CRD, "w.yaml": _documents("widget", WIDGETS)})
    first = _findings(root, "kubeconform")
    bundles = list((tmp_path / "cache" / "wavegate" / "kubeconform").iterdir())
    assert len(bundles) == 1 and (bundles[0] / ".complete").exists()
    stamp = (bundles[0] / "widget-example-v1.json").stat().st_mtime_ns
    assert [f.message for f in _findings(root, "kubeconform")] == [f.message for f in first]
    assert (bundles[0] / "widget-example-v1.json").stat().st_mtime_ns == stamp
    (root / "crd.yaml").write_text(WIDGET_CRD.replace("maximum: 10", "maximum: 20"))
    _findings(root, "kubeconform")
    assert len(list((tmp_path / "cache" / "wavegate" / "kubeconform").iterdir())) == 2  # a changed CRD: a new bundle


def test_kinds_whose_kind_suffix_names_collide_use_the_group_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    other = WIDGET_CRD.replace("example.com", "example.org").replace("maximum: 10", "maximum: 100")
    root = write_repo(tmp_path / "repo", {
        "crd-com.yaml": WIDGET_CRD, "crd-org.yaml": other,
        "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\nspec: {region: eu-west-1, size: 50}\n"
                  "---\napiVersion: example.org/v1\nkind: Widget\nmetadata: {name: b}\nspec: {region: eu-west-1, size: 50}\n",
    })
    ours = [(f.rule, f.line) for f in _findings(root, "kubeconform")]
    assert ours == [("schema-invalid-value", 4)]  # 50 > 10 for example.com only; example.org allows 100
    bundle_dir = next((tmp_path / "cache" / "wavegate" / "kubeconform").iterdir())
    assert (bundle_dir / "example.com" / "widget_v1.json").exists()
    assert (bundle_dir / "example.org" / "widget_v1.json").exists()


UNDECODABLE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ratio}
data:
  ratio: .inf
---
apiVersion: v1
kind: ConfigMap
metadata: {name: flags}
data:
  verbose: yes
"""


def test_a_value_json_cannot_hold_is_refused_once_by_the_loader_never_again_by_kubeconform(tmp_path):
    root = write_repo(tmp_path / "repo", {"config.yaml": UNDECODABLE})
    # The loader reads YAML as the API server does and refuses `.inf` at its line...
    assert [(p.rule, p.line) for p in load(root).problems] == [("yaml-not-json", 10)]
    found = _findings(root, "kubeconform")
    # ...so kubeconform, which would refuse the whole object, adds nothing about it.
    assert not [f for f in found if f.rule == "schema-undecodable" or (f.resource and f.resource.name == "ratio")]
    # `yes` is a boolean for kubeconform (and the API server): a type error at its line.
    assert [(f.rule, f.line) for f in found if f.resource and f.resource.name == "flags"] == [
        ("schema-invalid-type", 16)]
    # The built-in engine finds the same.
    assert {f.resource.name for f in _findings(root, "builtin") if f.severity.name == "ERROR"} == {"flags"}


def test_a_document_only_kubeconform_can_see_is_reported_at_its_file(tmp_path, monkeypatch):
    without_infinity = UNDECODABLE.replace("  ratio: .inf", "  ratio: '.inf'")
    root = write_repo(tmp_path / "repo", {"config.yaml": without_infinity})
    real = kubeconform._match
    monkeypatch.setattr(kubeconform, "_match", lambda results, manifests: real(results, manifests[:1]))
    at_file = [(f.rule, f.line, f.message) for f in _findings(root, "kubeconform") if f.resource is None]
    assert [(rule, line) for rule, line, _ in at_file] == [("schema-invalid-value", 1)]
    assert "ConfigMap flags" in at_file[0][2]


def test_a_given_crd_whose_schema_is_invalid_is_reported_by_both_engines(tmp_path):
    # The API server refuses a CRD whose pattern is not RE2 or whose CEL rule does not compile;
    # the kubeconform engine judges its instances, and the store still says what is wrong with it.
    given = tmp_path / "widget-crd.yaml"
    given.write_text(widget_crd("type: object\nproperties:\n  size: {type: string, pattern: '([a-z'}\n"
                                "x-kubernetes-validations:\n  - rule: 'self.size ==='\n"))
    root = write_repo(tmp_path / "repo", {
        ".wavegate.yaml": f"schemas: [{given}]\n",
        "w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"
                  "spec: {size: small}\n"})
    ours = [(f.rule, f.path, f.line, f.message) for f in _findings(root, "kubeconform")]
    assert ours == [(f.rule, f.path, f.line, f.message) for f in _findings(root, "builtin")]
    assert [rule for rule, *_ in ours] == ["schema-crd-invalid", "schema-crd-invalid"]
