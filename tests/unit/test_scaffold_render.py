import pytest

from wavegate.scaffold.render import RenderError, evaluate, referenced_paths, render_text, render_tree

CONTEXT = {
    "values": {"appname": "web", "namespace": "team-web", "count": 3},
    "parameters": {"appname": "web"},
    "steps": {"fetchSystem": {"output": {"entity": {"spec": {"gituser": "platform"}}}}},
    "user": {},
}


def test_values_with_and_without_spaces():
    assert render_text("name: ${{values.appname}}-cicd\nns: ${{ values.namespace }}", CONTEXT) == \
        "name: web-cicd\nns: team-web"


def test_bracket_paths_and_filters():
    assert evaluate("steps['fetchSystem'].output.entity.spec.gituser", CONTEXT) == "platform"
    assert render_text('${{ values.appname | dump }}', CONTEXT) == '"web"'
    assert render_text('${{ user.entity.metadata.name | default("unknown") }}', CONTEXT) == "unknown"
    assert render_text("${{ values.appname | upper | replace('W', 'V') }}", CONTEXT) == "VEB"
    assert render_text("${{ values.count }}", CONTEXT) == "3"


def test_missing_value_is_an_error_with_its_line():
    with pytest.raises(RenderError, match=r"skeleton.yaml:2: values.aws_region is not defined"):
        render_text("a: 1\nregion: ${{ values.aws_region }}\n", CONTEXT, where="skeleton.yaml")


def test_unsupported_filters_and_tags_are_errors():
    with pytest.raises(RenderError, match="not supported"):
        render_text("${{ values.appname | slugify }}", CONTEXT)
    with pytest.raises(RenderError, match="Nunjucks tags"):
        render_text("{% if values.x %}a{% endif %}", CONTEXT)


def test_referenced_paths():
    assert referenced_paths("${{values.a}} ${{ values.b | dump }} ${{ parameters.c }}") == \
        ["values.a", "values.b", "parameters.c"]


def test_render_tree_renders_file_names_and_contents(tmp_path):
    source = tmp_path / "skeleton"
    (source / "manifests").mkdir(parents=True)
    (source / "manifests" / "${{ values.appname }}.yaml").write_text("name: ${{ values.appname }}\n")
    written = render_tree(source, tmp_path / "out", CONTEXT)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == ["manifests/web.yaml"]
    assert written[0].read_text() == "name: web\n"


def test_filter_arguments_may_be_paths_and_expressions_may_be_grouped():
    """As the platform's own template writes the creator: the first of several user fields that is
    set, with spaces replaced."""
    expression = ('(user.entity.spec.profile.displayName | default(user.entity.metadata.name) | default(user.ref) '
                  '| default("backstage-user")) | replace(" ", "-")')
    assert evaluate(expression, CONTEXT) == "backstage-user"
    named = {**CONTEXT, "user": {"ref": "user:default/jane doe", "entity": {"metadata": {"name": "jane"}}}}
    assert evaluate(expression, named) == "jane"
    assert evaluate(expression, {**named, "user": {"ref": "user:default/jane doe"}}) == "user:default/jane-doe"
    assert referenced_paths("${{ " + expression + " }}") == \
        ["user.entity.spec.profile.displayName", "user.entity.metadata.name", "user.ref"]
    assert render_text("${{ values.missing | default(values.appname) | upper }}", CONTEXT) == "WEB"


def test_an_argument_that_is_not_defined_is_said_by_its_path():
    with pytest.raises(RenderError, match=r"t.yaml:1: values.nope is not defined"):
        render_text("${{ values.appname | replace('w', values.nope) }}", CONTEXT, where="t.yaml")


@pytest.mark.parametrize("expression", ["values.appname |", "(values.appname", "values.appname | replace('a',",
                                        "values.appname | default(,)", "| dump", "values.appname ) x"])
def test_an_expression_that_cannot_be_read_is_an_error_that_says_so(expression):
    with pytest.raises(RenderError, match="cannot read|not closed|missing"):
        evaluate(expression, CONTEXT)
