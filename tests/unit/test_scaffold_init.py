"""`wavegate init`, the Backstage template, its skeletons and the template lint."""

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

import wavegate
from tests.helpers import REPO_ROOT, shared
from wavegate.load import parse_documents, read_yaml
from wavegate.scaffold.init import InitError, init, read_values, skeleton_dir, template_path, templates_root
from wavegate.scaffold.lint import lint_template

TEMPLATES = REPO_ROOT / "templates" / "backstage"
ORIGIN = shared("reference", "appmod-blueprints", "at-7e8ddfab", "platform", "backstage", "templates", "cicd-pipeline")

GOOD = """\
appname: web
aws_region: us-west-2
aws_account_id: "123456789012"
gitlab_hostname: gitlab.example.com
argocd_hostname: argocd.example.com
git_username: platform
cluster_name: peeks-hub-cluster
dockerfile_path: "."
deployment_path: ./deployment
"""


def values_file(tmp_path, text=GOOD, **changes) -> Path:
    lines = [line for line in text.splitlines() if line.split(":")[0] not in changes]
    lines += [f"{key}: {json.dumps(value)}" for key, value in changes.items() if value is not None]
    path = tmp_path / "values.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- values -----------------------------------------------------------------------------------------

def test_good_values_get_the_templates_defaults(tmp_path):
    values = read_values(values_file(tmp_path))
    assert values["namespace"] == "team-web"  # as the template passes it: team-${{ parameters.appname }}
    assert values["aws_resource_prefix"] == "peeks" and values["created_by"] == "unknown"


def test_a_values_wrapper_copied_from_the_template_is_accepted(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("values:\n" + "".join("  " + line + "\n" for line in GOOD.splitlines()))
    assert read_values(path)["appname"] == "web"


@pytest.mark.parametrize("key, value, expected", [
    ("appname", "Web_App", "appname: 'Web_App' is not a DNS-1123 label"),
    ("appname", "a" * 50, "at most 49"),
    ("aws_region", "us-west-3", "did you mean 'us-west-2'?"),
    ("aws_account_id", "12345", "is not a 12-digit AWS account id"),
    ("gitlab_hostname", "https://gitlab.example.com", "has a scheme; write the host name only, e.g. 'gitlab.example.com'"),
    ("argocd_hostname", "argocd.example.com/argocd", "has a path"),
    ("dockerfile_path", "backend", "starting with './'"),
    ("deployment_path", "/deployment", "starting with './'"),
    ("deployment_path", ".", "starting with './'"),
    ("cluster_name", "peeks_hub", "is not an EKS cluster name"),
    ("namespace", "Team", "namespace: 'Team' is not a DNS-1123 label"),
])
def test_each_malformed_value_is_one_clear_error_at_its_line(tmp_path, key, value, expected):
    with pytest.raises(InitError) as raised:
        read_values(values_file(tmp_path, **{key: value}))
    assert len(raised.value.problems) == 1, raised.value.problems
    problem = raised.value.problems[0]
    assert expected in problem
    assert problem.startswith(f"{tmp_path / 'values.yaml'}:")


def test_every_problem_is_reported_at_once(tmp_path):
    path = values_file(tmp_path, appname="Web", git_username=None, gitlab_hostname="http://x", colour="blue")
    with pytest.raises(InitError) as raised:
        read_values(path)
    text = "\n".join(raised.value.problems)
    assert len(raised.value.problems) == 4
    assert "unknown value 'colour'" in text and "git_username is missing" in text
    assert "appname" in text and "gitlab_hostname" in text


def test_an_unquoted_account_id_is_accepted_only_with_twelve_digits(tmp_path):
    assert read_values(values_file(tmp_path, aws_account_id=123456789012))["aws_account_id"] == "123456789012"
    with pytest.raises(InitError, match="quoted string"):
        read_values(values_file(tmp_path, aws_account_id=12345678901))


def test_missing_and_broken_values_files(tmp_path):
    with pytest.raises(InitError, match="no such values file"):
        read_values(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("appname: [web\n")
    with pytest.raises(InitError, match=r"broken.yaml:\d+:\d+"):
        read_values(broken)


# --- rendering --------------------------------------------------------------------------------------

def test_init_refuses_a_non_empty_directory_unless_forced(tmp_path):
    values = read_values(values_file(tmp_path))
    target = tmp_path / "out"
    target.mkdir()
    (target / "README.md").write_text("mine\n")
    with pytest.raises(InitError, match="not empty.*--force"):
        init(target, values)
    written = init(target, values, force=True)
    assert (target / "README.md").read_text() == "mine\n"  # --force overwrites, never deletes
    assert {p.relative_to(target).as_posix() for p in written} == {
        ".gitlab-ci.yml", ".wavegate.yaml", "argocd/application.yaml", "argocd/project.yaml",
        "catalog-info.yaml", "manifests/kro-cicd-pipeline.yaml", "manifests/namespace.yaml"}


def test_environments_variant_has_one_application_per_environment(tmp_path):
    written = init(tmp_path / "out", read_values(values_file(tmp_path)), variant="environments")
    rels = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    for env in ("dev", "staging", "prod"):
        assert {f"environments/{env}/namespace.yaml", f"environments/{env}/kro-cicd-pipeline.yaml",
                f"argocd/application-{env}.yaml"} <= rels
        app = read_yaml(tmp_path / "out" / "argocd" / f"application-{env}.yaml")[0][0].data
        assert app["spec"]["source"]["path"] == f"environments/{env}"
        assert app["metadata"]["name"] == f"web-cicd-{env}"
    config = read_yaml(tmp_path / "out" / ".wavegate.yaml")[0][0].data
    assert [e["name"] for e in config["environments"]] == ["dev", "staging", "prod"]
    assert [e.get("promoteFrom") for e in config["environments"]] == [None, "dev", "staging"]
    # Promotion copies every field but the `keep` ones, so the environments' manifests start identical.
    for name in ("namespace.yaml", "kro-cicd-pipeline.yaml"):
        texts = {(tmp_path / "out" / "environments" / env / name).read_text() for env in ("dev", "staging", "prod")}
        assert len(texts) == 1


def test_rendered_manifests_are_what_the_clean_example_holds(tmp_path):
    """examples/clean is the hand-written generated repository; ours renders to the same objects
    (comments and the created-by annotation aside)."""
    values = read_values(values_file(tmp_path, created_by="jdoe"))
    init(tmp_path / "out", values)
    for rel in ("manifests/namespace.yaml", "manifests/kro-cicd-pipeline.yaml", "argocd/application.yaml"):
        ours = read_yaml(tmp_path / "out" / rel)[0][0].data
        example = read_yaml(REPO_ROOT / "examples" / "clean" / rel)[0][0].data
        ours["metadata"].get("annotations", {}).pop("backstage.io/created-by", None)
        assert ours.get("spec") == example.get("spec"), rel
        assert ours["metadata"].get("labels") == example["metadata"].get("labels"), rel
        assert ours["metadata"]["name"] == example["metadata"]["name"]
        assert ours["metadata"].get("finalizers") == example["metadata"].get("finalizers")
        assert ours["metadata"].get("annotations", {}) == example["metadata"].get("annotations", {})


# --- one source of truth ------------------------------------------------------------------------------

def test_the_package_reaches_the_one_copy_under_templates():
    # From a checkout the package links to templates/; from an installed wheel (as under tox) it
    # holds a copy made at build time, which must be that same one copy, file for file.
    for name in ("backstage", "kro", "argocd"):
        link = REPO_ROOT / "src" / "wavegate" / "scaffold" / "templates" / name
        assert link.is_symlink() and link.resolve() == (REPO_ROOT / "templates" / name).resolve()
        source, reached = REPO_ROOT / "templates" / name, templates_root() / name
        files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(reached) for p in reached.rglob("*") if p.is_file())
        assert all((source / f).read_bytes() == (reached / f).read_bytes() for f in files)
    assert skeleton_dir().parent == templates_root() / "backstage"
    assert template_path().name == "template-cicd-pipeline-gitops.yaml"


def test_files_both_skeletons_share_do_not_drift():
    for rel in (".gitlab-ci.yml",):
        assert (TEMPLATES / "skeleton" / rel).read_text() == (TEMPLATES / "skeleton-environments" / rel).read_text()
    base = (TEMPLATES / "skeleton" / ".wavegate.yaml").read_text()
    assert (TEMPLATES / "skeleton-environments" / ".wavegate.yaml").read_text().startswith(base)
    for name in ("namespace.yaml", "kro-cicd-pipeline.yaml"):
        for env in ("dev", "staging", "prod"):
            assert (TEMPLATES / "skeleton-environments" / "environments" / env / name).read_text() == \
                (TEMPLATES / "skeleton" / "manifests" / name).read_text()


# --- the Backstage template -------------------------------------------------------------------------

def backstage_validator():
    root = shared("reference", "schemas", "backstage")
    template_schema = json.loads((root / "scaffolder-common" / "Template.v1beta3.schema.json").read_text())
    resources = []
    for path in sorted((root / "catalog-model" / "schema").rglob("*.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)))
    registry = Registry().with_resources(resources)
    return jsonschema.Draft7Validator(template_schema, registry=registry)


def template_data() -> dict:
    documents, problems = read_yaml(TEMPLATES / "template-cicd-pipeline-gitops.yaml")
    assert not problems and len(documents) == 1
    return documents[0].data


def test_template_validates_against_backstages_v1beta3_schema():
    errors = sorted(backstage_validator().iter_errors(template_data()), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schema_check_itself_catches_a_broken_template():
    broken = template_data()
    broken["spec"]["steps"][0].pop("action")
    del broken["spec"]["type"]
    broken["metadata"]["name"] = ""  # checked by the referenced Entity / EntityMeta schemas
    messages = [e.message for e in backstage_validator().iter_errors(broken)]
    assert any("'action' is a required property" in m for m in messages)
    assert any("'type' is a required property" in m for m in messages)
    assert any("'' should be non-empty" in m or "is too short" in m for m in messages), messages


def test_template_passes_the_value_names_the_origin_passes():
    origin = read_yaml(ORIGIN / "template-cicd-pipeline-gitops.yaml")[0][0].data
    origin_values = next(s for s in origin["spec"]["steps"] if s["action"] == "fetch:template")["input"]["values"]
    ours = [s for s in template_data()["spec"]["steps"] if s["action"] == "fetch:template"]
    assert [s["input"]["url"] for s in ours] == ["./skeleton/", "./skeleton-environments/"]
    for step in ours:
        assert set(step["input"]["values"]) == set(origin_values)
    origin_parameters = {k for page in origin["spec"]["parameters"] for k in page["properties"]}
    our_parameters = {k for page in template_data()["spec"]["parameters"] for k in page["properties"]}
    assert origin_parameters <= our_parameters


def test_argocd_objects_are_created_from_the_repositorys_own_files():
    steps = template_data()["spec"]["steps"]
    applies = [s for s in steps if s["action"] == "cnoe:kubernetes:apply"]
    paths = [s["input"]["manifestPath"] for s in applies]
    assert paths[0] == "argocd/project.yaml"  # the project exists before any Application names it
    assert set(paths) == {"argocd/project.yaml", "argocd/application.yaml", "argocd/application-dev.yaml",
                          "argocd/application-staging.yaml", "argocd/application-prod.yaml"}
    assert all("manifest" not in s["input"] and "manifestString" not in s["input"] for s in applies)
    for path in paths:
        assert (TEMPLATES / "skeleton" / path).is_file() or (TEMPLATES / "skeleton-environments" / path).is_file()
    order = [s["action"] for s in steps]
    assert order.index("publish:gitlab") < order.index("cnoe:kubernetes:apply") < order.index("catalog:register")


# --- the template lint ------------------------------------------------------------------------------

def test_our_template_lints_clean():
    assert lint_template(TEMPLATES / "template-cicd-pipeline-gitops.yaml") == []


def test_lint_finds_the_origins_gituser():
    problems = lint_template(ORIGIN / "template-cicd-pipeline-gitops.yaml")
    assert [(p.kind, p.path, p.line) for p in problems] == [("value-not-passed", "skeleton/manifests/argo-app-dev.yaml", 24)]
    assert "values.gituser" in problems[0].message and "git_username" in problems[0].message


def test_lint_finds_unused_values_and_parameters(tmp_path):
    (tmp_path / "skeleton").mkdir()
    (tmp_path / "skeleton" / "${{ values.appname }}.yaml").write_text("ns: ${{ values.namespace | dump }}\n")
    (tmp_path / "t.yaml").write_text(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n"
        "  parameters:\n    - properties:\n        appname: {type: string}\n        colour: {type: string}\n"
        "  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n"
        "        values:\n          appname: ${{ parameters.appname }}\n          region: us-west-2\n")
    problems = {(p.kind, p.line) for p in lint_template(tmp_path / "t.yaml")}
    assert problems == {("value-not-passed", 1), ("value-not-used", 18), ("parameter-not-used", 10)}


# --- CI and config files of the skeleton -----------------------------------------------------------

def test_gitlab_ci_validates_against_gitlabs_schema_and_pins_this_version(tmp_path):
    schema = json.loads(shared("reference", "schemas", "gitlab", "gitlab-ci.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    for variant in ("single", "environments"):
        out = tmp_path / variant
        init(out, read_values(values_file(tmp_path)), variant=variant)
        data = read_yaml(out / ".gitlab-ci.yml")[0][0].data
        errors = list(validator.iter_errors(data))
        assert not errors, [e.message for e in errors]
        components = [item["component"] for item in data["include"]]
        assert components == [f"$CI_SERVER_FQDN/platform/wavegate/validate@{wavegate.__version__}"]
    broken = dict(data, include=[{"component": 42}])
    assert list(validator.iter_errors(broken))


def test_component_inputs_the_skeleton_passes_exist():
    candidates = [REPO_ROOT / "ci-templates" / "validate.yml", REPO_ROOT / "templates" / "validate.yml",
                  REPO_ROOT / "ci-templates" / "validate" / "template.yml", REPO_ROOT / "templates" / "validate" / "template.yml"]
    component = next((c for c in candidates if c.is_file()), None)
    if component is None:
        pytest.skip("the validate CI component is not in this checkout yet (issue 8)")
    header = parse_documents("validate.yml", component.read_text(), require_object=False)[0][0].data
    declared = set(header["spec"]["inputs"])
    include = read_yaml(TEMPLATES / "skeleton" / ".gitlab-ci.yml")[0][0].data["include"][0]
    assert set(include["inputs"]) <= declared


def test_generated_config_loads(tmp_path):
    from wavegate.config import load_config

    for variant in ("single", "environments"):
        out = tmp_path / variant
        init(out, read_values(values_file(tmp_path)), variant=variant)
        config = load_config(out)
        assert config.repo_url == "https://gitlab.example.com/platform/web-cicd.git"
        assert config.require_resources_finalizer


def test_template_and_init_agree_on_what_a_value_may_be():
    from wavegate.scaffold.init import APPNAME_MAX, AWS_REGIONS

    properties = {k: v for page in template_data()["spec"]["parameters"] for k, v in page["properties"].items()}
    assert properties["appname"]["maxLength"] == APPNAME_MAX
    assert tuple(properties["aws_region"]["enum"]) == AWS_REGIONS
