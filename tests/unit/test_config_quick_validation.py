"""The configuration check recognises valid configurations with jsonschema_rs (no jsonschema
import) and leaves every other verdict and message to jsonschema: on valid and randomly broken
configurations it gives exactly jsonschema's errors."""

from __future__ import annotations

import copy
import random

import jsonschema

from wavegate import config

VALID = {
    "rules": {"sync-wave-not-integer": "warning", "yaml-tab-indent": False, "x": "off"},
    "exclude": ["vendor/**", "*.tmp.yaml"],
    "maxFileBytes": 2048,
    "repoURL": "https://gitlab.example.com/platform/web.git",
    "namespaces": ["team-web", "a"],
    "argocd": {"version": 3, "requireResourcesFinalizer": True},
    "kubernetesVersion": "1.31",
    "schemas": ["../../templates/kro/"],
    "policies": "policies",
    "environments": [
        {"name": "dev", "path": "environments/dev/"},
        {"name": "staging", "path": "./environments/staging", "promoteFrom": "dev",
         "keep": [{"group": "kro.run", "kind": "CICDPipeline", "jsonPointers": ["/spec/aws/accountId"],
                   "jqPathExpressions": [".spec.x"]}],
         "gates": {"healthy": True, "soak": "1h30m", "approvals": 2,
                   "freeze": [{"days": ["sat", "sun"]},
                              {"start": "2026-12-20", "end": "2027-01-02T00:00:00Z", "reason": "holidays"}]},
         "application": {"name": "web-staging", "namespace": "argocd"}},
    ],
}
ODD = [None, True, False, 0, 1, -1, 2.0, 3.5, 1023, 1024, 10**20, float("nan"), float("inf"), "", "a", "A",
       "team-web\n", "a\n", "-a", "1.31\n", "v1.31", "x" * 300, "sat", "mon", [], ["sat", "sat"], ["sat"],
       [1, 1.0], [True, 1], {}, {"unknown": 1}, {"name": "x"}, "1h30m\n", "/a\rb", "/a\nb", "2026-12-20\n"]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, path + (i,))


def _set(document, path, value):
    if not path:
        return value
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return document


def _expected(data):
    errors = sorted(jsonschema.Draft202012Validator(config.config_schema()).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    return [(list(e.absolute_path), e.validator, e.message) for e in errors]


def test_quick_validation_gives_jsonschemas_errors():
    rnd = random.Random(3)
    paths = list(_paths(VALID))
    documents = [copy.deepcopy(VALID), {}]
    for _ in range(1500):
        document = copy.deepcopy(VALID)
        for _ in range(rnd.randint(1, 3)):
            path = rnd.choice(list(_paths(document)))
            if path and rnd.random() < 0.2 and isinstance(path[-1], str):  # an unknown key beside it
                path = path[:-1] + (path[-1] + "x",)
            try:
                document = _set(document, path, copy.deepcopy(rnd.choice(ODD)))
            except (KeyError, IndexError, TypeError):
                continue
        documents.append(document)
    assert len(paths) > 40
    valid = 0
    for document in documents:
        expected = _expected(document)
        valid += not expected
        assert [(list(e.absolute_path), e.validator, e.message) for e in config._schema_errors(document)] == expected
    assert 50 < valid < len(documents) - 500  # both verdicts are exercised
