"""The schemas wavegate ships (Argo CD, Backstage, kro's RGD) accept and reject what the real ones
do. The real CRDs and JSON schemas are in ../shared/reference/schemas/ (tests.helpers.shared: a test
without them is skipped with the reason, and fails in CI)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7

from tests.helpers import SHARED, check_repo, require_native_loader, shared, write_repo
from wavegate.config import Config
from wavegate.load import Manifest, load, parse_documents
from wavegate.schemas import SchemaStore
from wavegate.schemas.store import load_shipped

REFERENCE = SHARED / "reference" / "schemas"
APPMOD = SHARED / "reference" / "appmod-blueprints"


def _require(path: Path) -> Path:
    return shared(*path.relative_to(SHARED).parts)


def _docs(text: str) -> list[Manifest]:
    manifests, problems = parse_documents("corpus.yaml", textwrap.dedent(text).lstrip("\n"))
    assert not problems, problems
    return manifests


def _problems(store: SchemaStore, manifest: Manifest) -> list[tuple[str, str]]:
    from wavegate.rules import format_path

    entry = store.lookup(manifest.api_version, manifest.kind)
    assert entry is not None, (manifest.api_version, manifest.kind)
    problems, _ = entry.validate(manifest.data)
    return sorted({(p.code, format_path(p.path)) for p in problems})


# -- Argo CD ----------------------------------------------------------------------------------------

ARGOCD_FILES = ("application-crd.yaml", "appproject-crd.yaml", "applicationset-crd.yaml")


@pytest.fixture(scope="module")
def argocd_stores():
    real = SchemaStore.build(None, Config(), extra_paths=[_require(REFERENCE / "argocd" / f) for f in ARGOCD_FILES])
    for kind in ("Application", "AppProject", "ApplicationSet"):
        assert real.lookup("argoproj.io/v1alpha1", kind).origin == "schemas"
    mine = SchemaStore()
    for kind in ("Application", "AppProject", "ApplicationSet"):
        assert mine.lookup("argoproj.io/v1alpha1", kind).origin == "shipped"
    return real, mine


def _appmod_argocd_manifests() -> list[Manifest]:
    found = []
    for snapshot in sorted(_require(APPMOD).iterdir()):
        repo = load(snapshot)
        found += [m for m in repo.manifests if m.group == "argoproj.io"
                  and m.kind in ("Application", "AppProject", "ApplicationSet")]
    return found


ARGOCD_VALID = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: multi, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  sources:
    - repoURL: https://charts.example.com
      chart: web
      targetRevision: 1.2.3
      helm:
        releaseName: web
        valueFiles: [$values/web/values.yaml]
        valuesObject: {replicaCount: 2, image: {tag: "1.0"}}
        parameters: [{name: image.tag, value: "1.0", forceString: true}]
        fileParameters: [{name: config, path: files/config.json}]
        skipCrds: true
    - repoURL: https://gitlab.example.com/team/values.git
      targetRevision: main
      ref: values
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers: [/spec/replicas]
      jqPathExpressions: ['.spec.template.spec.containers[].image']
      managedFieldsManagers: [kube-controller-manager]
  info: [{name: owner, value: team-web}]
  revisionHistoryLimit: 5
  syncPolicy:
    automated: {prune: true, selfHeal: true, allowEmpty: false}
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
    retry: {limit: 3, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
    managedNamespaceMetadata: {labels: {team: web}, annotations: {owner: web}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: kustomized, namespace: argocd}
spec:
  project: web
  destination: {name: in-cluster, namespace: web}
  source:
    repoURL: https://gitlab.example.com/team/app.git
    path: overlays/prod
    targetRevision: HEAD
    kustomize:
      namePrefix: prod-
      images: [web=registry.example.com/web:1.0]
      commonLabels: {env: prod}
      replicas: [{name: web, count: 3}, {name: worker, count: "2"}]
      patches:
        - target: {kind: Deployment, name: web}
          patch: |-
            - op: replace
              path: /spec/replicas
              value: 3
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: jsonnet, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://gitlab.example.com/team/app.git
    path: jsonnet
    directory:
      recurse: true
      exclude: '{config.yaml}'
      jsonnet:
        extVars: [{name: env, value: prod}]
        tlas: [{name: replicas, value: "3", code: true}]
        libs: [vendor]
operation:
  sync: {revision: main, prune: true, syncOptions: [Validate=false]}
  initiatedBy: {username: alice}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: plugin, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://gitlab.example.com/team/app.git
    path: .
    plugin:
      name: cmp-helmfile
      env: [{name: ENV, value: prod}]
      parameters: [{name: values, array: [a, b]}, {name: flags, map: {debug: "true"}}, {name: x, string: "y"}]
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: web, namespace: argocd}
spec:
  description: The web team
  sourceRepos: ['https://gitlab.example.com/team/*']
  sourceNamespaces: [web-apps]
  destinations: [{server: https://kubernetes.default.svc, namespace: 'web-*'}]
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]
  orphanedResources: {warn: true, ignore: [{kind: ConfigMap, name: kube-root-ca.crt}]}
  roles:
    - name: ci
      description: CI pipelines
      policies: ['p, proj:web:ci, applications, sync, web/*, allow']
      groups: [web-admins]
      jwtTokens: [{iat: 1700000000, id: token-1}]
  syncWindows:
    - {kind: deny, schedule: '0 22 * * *', duration: 8h, applications: ['*'], manualSync: true, timeZone: Europe/Berlin}
  signatureKeys: [{keyID: 4AEE18F83AFDEB23}]
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
    - git:
        repoURL: https://gitlab.example.com/team/app.git
        revision: main
        directories: [{path: 'envs/*'}, {path: envs/legacy, exclude: true}]
    - list:
        elements: [{env: dev}, {env: prod, replicas: 3}]
  template:
    metadata: {name: 'web-{{.path.basename}}', labels: {team: web}}
    spec:
      project: web
      source: {repoURL: https://gitlab.example.com/team/app.git, path: '{{.path.path}}', targetRevision: main}
      destination: {server: https://kubernetes.default.svc, namespace: '{{.path.basename}}'}
  syncPolicy: {preserveResourcesOnDeletion: true, applicationsSync: create-update}
  strategy:
    type: RollingSync
    rollingSync:
      steps: [{matchExpressions: [{key: env, operator: In, values: [dev]}], maxUpdate: 25%}]
  preservedFields: {annotations: [notified]}
"""

# Each: (what is wrong, the document). All are rejected (or pruned) by the real CRDs.
ARGOCD_INVALID = [
    ("ignoreDifference (missing s)", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a, namespace: argocd}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc, namespace: web}
          source: {repoURL: https://git.example.com/a.git, path: ., targetRevision: main}
          ignoreDifference:
            - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
        """),
    ("repoUrl casing", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          source: {repoUrl: https://git.example.com/a.git, path: .}
        """),
    ("prune as a string", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          source: {repoURL: https://git.example.com/a.git}
          syncPolicy: {automated: {prune: "true"}}
        """),
    ("retry limit quoted", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          source: {repoURL: https://git.example.com/a.git}
          syncPolicy: {retry: {limit: "5"}}
        """),
    ("no destination", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          source: {repoURL: https://git.example.com/a.git}
        """),
    ("no project", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          destination: {server: https://kubernetes.default.svc}
          source: {repoURL: https://git.example.com/a.git}
        """),
    ("no spec", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        """),
    ("source without repoURL", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          sources: [{path: charts/web}]
        """),
    ("ignoreDifferences without kind", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          ignoreDifferences: [{group: apps, jsonPointers: [/spec/replicas]}]
        """),
    ("syncOption (missing s) and selfheal casing", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          syncPolicy:
            automated: {selfheal: true}
            syncOption: [CreateNamespace=true]
        """),
    ("info without value; helm values as a map", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          info: [{name: owner}]
          source: {repoURL: https://charts.example.com, chart: web, helm: {values: {replicas: 2}}}
        """),
    ("kustomize replicas count as a boolean", """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: a}
        spec:
          project: default
          destination: {server: https://kubernetes.default.svc}
          source: {repoURL: https://git.example.com/a.git, kustomize: {replicas: [{name: web, count: true}]}}
        """),
    ("project role without name; whitelist without group", """
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {name: p}
        spec:
          roles: [{description: ci, policies: []}]
          clusterResourceWhitelist: [{kind: Namespace}]
        """),
    ("sync window manualSync as a string, sourceRepo (missing s)", """
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {name: p}
        spec:
          sourceRepo: ['*']
          syncWindows: [{kind: allow, schedule: '* * * * *', duration: 1h, manualSync: "yes"}]
        """),
    ("applicationset without template, bad applicationsSync, generator typo", """
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: s}
        spec:
          generators: [{lists: {elements: []}}]
          syncPolicy: {applicationsSync: create-delete-update}
        """),
    ("applicationset template spec without destination; git generator without revision", """
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: s}
        spec:
          generators: [{git: {repoURL: https://git.example.com/a.git, directories: [{path: '*'}]}}]
          template:
            metadata: {name: '{{path.basename}}'}
            spec: {project: default, source: {repoURL: https://git.example.com/a.git}}
        """),
]



def test_shipped_schema_files_are_read_by_the_native_loader():
    """Every run reads them: no anchors, aliases, or `?` inside a flow collection, which send a file
    to the Python path (about ten times slower; 10 ms of every run for these files)."""
    from wavegate import load_native
    from wavegate.load import MAX_DEPTH, Limits
    from wavegate.schemas.store import DATA

    require_native_loader()
    for path in sorted(DATA.glob("*.yaml")):
        assert load_native.parse(path.read_text(encoding="utf-8"), MAX_DEPTH, Limits().max_expanded_nodes), path.name

def test_shipped_argocd_schemas_compile_without_problems():
    for entry in load_shipped("argocd.yaml"):
        assert entry.node() is not None
        assert entry.problems == [], entry.problems


def test_real_argocd_manifests_are_valid_under_both(argocd_stores):
    real, mine = argocd_stores
    manifests = _appmod_argocd_manifests() + _docs(ARGOCD_VALID)
    assert len(manifests) >= 15
    for manifest in manifests:
        assert _problems(real, manifest) == [], (manifest.path, manifest.name)
        assert _problems(mine, manifest) == [], (manifest.path, manifest.name)


@pytest.mark.parametrize("what, text", ARGOCD_INVALID, ids=[w for w, _ in ARGOCD_INVALID])
def test_invalid_argocd_documents_are_rejected_alike(argocd_stores, what, text):
    real, mine = argocd_stores
    [manifest] = _docs(text)
    expected = _problems(real, manifest)
    assert expected, f"the real CRD accepts the {what} document"
    assert _problems(mine, manifest) == expected


def test_ignore_difference_typo_says_did_you_mean_ignore_differences(tmp_path):
    write_repo(tmp_path, {"app.yaml": ARGOCD_INVALID[0][1]})
    [finding] = [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")]
    assert finding.rule == "schema-unknown-field"
    assert finding.message == ("spec.ignoreDifference is not in the Application schema; "
                               "the API server drops it silently")
    assert finding.hint == "Did you mean spec.ignoreDifferences?"
    assert finding.line == 8


# -- kro's ResourceGraphDefinition ---------------------------------------------------------------------

RGDS = """
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: webapps.kro.run}
spec:
  schema:
    apiVersion: v1alpha1
    kind: WebApp
    spec:
      name: string | required=true
      replicas: integer | default=1
    status:
      ready: ${deployment.status.readyReplicas}
  resources:
    - id: deployment
      template: {apiVersion: apps/v1, kind: Deployment, metadata: {name: '${schema.spec.name}'}}
      readyWhen: ['${deployment.status.readyReplicas > 0}']
    - id: config
      externalRef: {apiVersion: v1, kind: ConfigMap, metadata: {name: platform-config}}
---
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: bad}
spec:
  schema:
    apiVersion: V1
    kind: webApp
    scope: Region
  resources:
    - id: both
      template: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}
      externalRef: {apiVersion: v1, kind: ConfigMap, metadata: {name: x, selector: {}}}
    - template: {apiVersion: v1, kind: ConfigMap, metadata: {name: y}}
      readyWhens: []
"""


def test_shipped_rgd_schema_agrees_with_kros_crd():
    real = SchemaStore.build(None, Config(),
                             extra_paths=[_require(REFERENCE / "kro" / "kro.run_resourcegraphdefinitions.yaml")])
    mine = SchemaStore()
    assert real.lookup("kro.run/v1alpha1", "ResourceGraphDefinition").origin == "schemas"
    assert mine.lookup("kro.run/v1alpha1", "ResourceGraphDefinition").origin == "shipped"
    good, bad = _docs(RGDS)
    assert _problems(real, good) == _problems(mine, good) == []
    expected = _problems(real, bad)
    assert ("unknown-field", "spec.resources[1].readyWhens") in expected
    assert ("cel", "spec.resources[0]") in expected and ("cel", "spec.resources[0].externalRef.metadata") in expected
    assert _problems(mine, bad) == expected


# -- Backstage ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backstage_real():
    root = _require(REFERENCE / "backstage")
    schemas, resources = {}, []
    for path in sorted(root.rglob("*.json")):
        schema = json.loads(path.read_text())
        schemas[schema["$id"]] = schema
        resources.append((schema["$id"], DRAFT7.create_resource(schema)))
    registry = Registry().with_resources(resources)
    by_kind = {"Component": "ComponentV1alpha1", "API": "ApiV1alpha1", "Resource": "ResourceV1alpha1",
               "System": "SystemV1alpha1", "Domain": "DomainV1alpha1", "Group": "GroupV1alpha1",
               "User": "UserV1alpha1", "Location": "LocationV1alpha1", "Template": "TemplateV1beta3"}
    return {kind: jsonschema.Draft7Validator(schemas[schema_id], registry=registry)
            for kind, schema_id in by_kind.items()}


BACKSTAGE_VALID = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: web
  title: Web
  description: The web frontend
  labels: {tier: frontend}
  annotations: {backstage.io/techdocs-ref: dir:.}
  tags: [web, python]
  links: [{url: https://web.example.com, title: Site, icon: web}]
spec:
  type: service
  lifecycle: production
  owner: group:web
  system: shop
  providesApis: [web-api]
  consumesApis: [payments-api]
  dependsOn: [resource:default/db]
  customField: backstage accepts fields it does not know in spec
relations: [{type: ownedBy, targetRef: group:default/web}]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: web-api}
spec: {type: openapi, lifecycle: production, owner: web, definition: 'openapi: 3.0.0'}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: db}
spec: {type: database, owner: web, system: shop}
---
apiVersion: backstage.io/v1beta1
kind: System
metadata: {name: shop}
spec: {owner: web, domain: commerce}
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata: {name: commerce}
spec: {owner: web}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: web}
spec: {type: team, profile: {displayName: Web}, parent: eng, children: [], members: [alice]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@example.com}, memberOf: [web]}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: all}
spec: {type: url, targets: [./a.yaml, ./b.yaml], presence: optional}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: web-app}
spec:
  owner: web
  type: service
  parameters:
    - title: Name
      required: [name]
      properties: {name: {type: string}}
    - title: Repo
      when: true
      properties: {repo: {type: string}}
  steps:
    - {id: fetch, name: Fetch, action: fetch:template, input: {url: ./skeleton}}
    - {id: publish, action: publish:gitlab, if: '${{ parameters.publish }}'}
  output:
    links: [{title: Repository, url: '${{ steps.publish.output.remoteUrl }}'}]
    text: [{title: Done, content: ok}]
"""

BACKSTAGE_INVALID = [
    ("no spec.owner", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n"
                      "spec: {type: service, lifecycle: production}\n"),
    ("lifecycle is a number", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n"
                              "spec: {type: service, lifecycle: 1, owner: me}\n"),
    ("an unknown top-level field", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n"
                                   "spec: {type: service, lifecycle: x, owner: me}\nspecs: {}\n"),
    ("no spec", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: a}\n"),
    ("an empty tag", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: a, tags: ['']}\n"
                     "spec: {owner: me}\n"),
    ("a link without url", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: a, links: [{title: x}]}\n"
                           "spec: {owner: me}\n"),
    ("a label that is not a string", "apiVersion: backstage.io/v1alpha1\nkind: Domain\n"
                                     "metadata: {name: a, labels: {n: 1}}\nspec: {owner: me}\n"),
    ("API without definition", "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: a}\n"
                               "spec: {type: openapi, lifecycle: x, owner: me}\n"),
    ("Group without children", "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a}\n"
                               "spec: {type: team}\n"),
    ("User memberOf a string", "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: a}\n"
                               "spec: {memberOf: web}\n"),
    ("Location presence not in enum", "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: a}\n"
                                      "spec: {target: ./a.yaml, presence: maybe}\n"),
    ("Resource dependsOn with an empty ref", "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: a}\n"
                                             "spec: {type: db, owner: me, dependsOn: ['']}\n"),
    ("Template without steps", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: a}\n"
                               "spec: {type: service}\n"),
    ("Template step without action", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
                                     "metadata: {name: a}\nspec: {type: service, steps: [{id: x}]}\n"),
    ("Template parameters as a string", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
                                        "metadata: {name: a}\nspec: {type: s, parameters: x, steps: []}\n"),
    ("a relation without targetRef", "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: a}\n"
                                     "spec: {owner: me}\nrelations: [{type: ownedBy}]\n"),
    ("owner is null", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: a}\nspec: {owner: null}\n"),
    ("metadata.name missing", "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {generateName: a}\n"
                              "spec: {owner: me}\n"),
]


def _appmod_backstage_manifests() -> list[Manifest]:
    found = []
    for snapshot in sorted(_require(APPMOD).iterdir()):
        repo = load(snapshot)
        found += [m for m in repo.manifests if m.group in ("backstage.io", "scaffolder.backstage.io")]
    return found


def _backstage_verdicts(validators, manifest: Manifest) -> tuple[bool, bool]:
    real = not list(validators[manifest.kind].iter_errors(manifest.data))
    entry = SchemaStore().lookup(manifest.api_version, manifest.kind)
    problems, _ = entry.validate(manifest.data)
    return real, not problems


def test_shipped_backstage_schemas_compile_without_problems():
    for entry in load_shipped("backstage.yaml"):
        assert entry.node() is not None and entry.problems == []


def test_real_and_handwritten_backstage_entities_are_valid_under_both(backstage_real):
    manifests = _appmod_backstage_manifests() + _docs(BACKSTAGE_VALID)
    assert len(manifests) >= 12
    for manifest in manifests:
        assert _backstage_verdicts(backstage_real, manifest) == (True, True), (manifest.path, manifest.kind)


@pytest.mark.parametrize("what, text", BACKSTAGE_INVALID, ids=[w for w, _ in BACKSTAGE_INVALID])
def test_invalid_backstage_entities_are_rejected_alike(backstage_real, what, text):
    [manifest] = _docs(text) if "generateName" not in text else [_doc_any(text)]
    assert _backstage_verdicts(backstage_real, manifest) == (False, False)


def _doc_any(text: str) -> Manifest:
    manifests, problems = parse_documents("corpus.yaml", text, require_object=False)
    return manifests[0]


def test_backstage_entity_findings_name_the_field(tmp_path):
    write_repo(tmp_path, {"catalog-info.yaml": BACKSTAGE_INVALID[0][1]})
    [finding] = [f for f in check_repo(tmp_path) if f.rule.startswith("schema-")]
    assert (finding.rule, finding.field, finding.message) == ("schema-required", "spec.owner",
                                                                "spec.owner: Required value")
