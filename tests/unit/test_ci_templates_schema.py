"""Every CI/CD component (and this project's pipeline) is valid against GitLab's CI schema."""

import json

import jsonschema
import pytest
import yaml

from tests.helpers import REPO_ROOT, shared

COMPONENTS = sorted((REPO_ROOT / "templates").glob("*.yml"))


def validator():
    return jsonschema.Draft7Validator(json.loads(shared("reference", "schemas", "gitlab", "gitlab-ci.json").read_text()))


def test_there_are_components():
    assert {p.stem for p in COMPONENTS} >= {"validate", "dry-run", "promote"}


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.name)
def test_component_has_a_spec_header_and_valid_jobs(path):
    header, jobs = list(yaml.safe_load_all(path.read_text()))
    assert set(header) == {"spec"} and "inputs" in header["spec"]
    for name, spec in header["spec"]["inputs"].items():
        assert "default" in spec, f"input {name} must be optional"
    assert not {"default", "variables", "stages"} & set(jobs), "components must not set top-level defaults"
    errors = [e.message for e in validator().iter_errors(header)] + [e.message for e in validator().iter_errors(jobs)]
    assert errors == []


def test_project_pipeline_is_valid():
    pipeline = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    assert [e.message for e in validator().iter_errors(pipeline)] == []
