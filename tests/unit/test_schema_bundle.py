"""The store written as a kubeconform schema directory: names kubeconform finds, self-contained strict
JSON schemas, the same verdicts as the built-in engine where JSON Schema can say it, and read back
exactly with --schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.helpers import widget_crd, write_repo
from wavegate.config import Config
from wavegate.load import load, parse_documents
from wavegate.schemas import SchemaStore
from wavegate.schemas.bundle import file_name, write_bundle

CRD = widget_crd("""
              type: object
              required: [region, tier]
              properties:
                region: {type: string, pattern: '^[a-z]+-[a-z]+-[0-9]$'}
                tier: {type: string, enum: [free, pro], default: free}
                replicas: {type: integer, minimum: 1, maximum: 5, nullable: true}
                port: {x-kubernetes-int-or-string: true}
                tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
                values: {type: object, x-kubernetes-preserve-unknown-fields: true}
""")

KINDS = [("apps", "v1", "Deployment"), ("", "v1", "ConfigMap"), ("argoproj.io", "v1alpha1", "Application"),
         ("example.com", "v1", "Widget"), ("backstage.io", "v1alpha1", "Component")]

CORPUS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replica: 2
  selector: {matchLabels: {app: web}}
  template: {spec: {containers: [{name: web, image: nginx}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template: {spec: {containers: [{name: web, image: nginx, ports: [{containerPort: "80"}]}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, lables: {a: b}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: 1}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source: {repoURL: https://git.example.com/a.git, path: ., kustomize: {replicas: [{name: web, count: "2"}]}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc}
  ignoreDifference: [{kind: Deployment}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a}
spec: {destination: {}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {region: eu-west-1, replicas: null, port: http, tags: [a, b], values: {x: 1}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {region: EU, tier: gold, replicas: 9, port: 1.5, tags: [a, a]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {region: eu-west-1, colour: red}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: service, lifecycle: production, owner: web}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: service, owner: web}
"""


@pytest.fixture()
def store(tmp_path):
    write_repo(tmp_path / "repo", {"crd.yaml": CRD})
    return SchemaStore.build(load(tmp_path / "repo"), Config())


@pytest.mark.parametrize("key, name", [
    (("apps", "v1", "Deployment"), "deployment-apps-v1.json"),
    (("", "v1", "ConfigMap"), "configmap-v1.json"),
    (("argoproj.io", "v1alpha1", "Application"), "application-argoproj-v1alpha1.json"),
    (("rbac.authorization.k8s.io", "v1", "ClusterRole"), "clusterrole-rbac-v1.json"),
])
def test_file_names_follow_kubeconforms_kind_suffix(key, name):
    assert file_name(*key) == name


def test_bundle_files_are_self_contained_and_say_their_kind(store, tmp_path):
    paths = write_bundle(store, tmp_path / "bundle", KINDS)
    assert sorted(p.name for p in paths) == sorted(file_name(*k) for k in KINDS)
    for path in paths:
        text = path.read_text()
        assert '"$ref"' not in text
        schema = json.loads(text)
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["x-kubernetes-group-version-kind"][0]["kind"] in {k for _, _, k in KINDS}


def test_bundle_verdicts_match_the_builtin_engine(store, tmp_path):
    write_bundle(store, tmp_path / "bundle", KINDS)
    manifests, problems = parse_documents("corpus.yaml", CORPUS)
    assert not problems
    verdicts = []
    for manifest in manifests:
        group, _, version = manifest.api_version.rpartition("/")
        schema = json.loads((tmp_path / "bundle" / file_name(group, version, manifest.kind)).read_text())
        bundle_ok = jsonschema.Draft7Validator(schema).is_valid(manifest.data)
        engine_problems, _ = store.lookup(manifest.api_version, manifest.kind).validate(manifest.data)
        verdicts.append((manifest.kind, bundle_ok, not engine_problems))
    assert all(bundle == engine for _, bundle, engine in verdicts), verdicts
    assert [ok for _, ok, _ in verdicts] == [True, False, False, False, False, True, False, False,
                                             True, False, False, True, False]


def test_a_written_bundle_reads_back_exactly_with_schemas(store, tmp_path):
    write_bundle(store, tmp_path / "bundle", KINDS)
    again = SchemaStore.build(None, Config(), extra_paths=[tmp_path / "bundle"])
    for group, version, kind in KINDS:
        entry = again.lookup(f"{group}/{version}" if group else version, kind)
        # Extra paths rank above the shipped and built-in schemas.
        assert entry.origin == "bundle" and entry.source.endswith(file_name(group, version, kind))
