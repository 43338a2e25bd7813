"""The CEL wrapper: compile errors, evaluation errors, and the Kubernetes libraries it adds."""

import pytest

from wavegate import cel

V = ("object",)
OBJ = {"object": {"spec": {"project": "default", "items": [3, 1, 2], "text": "a12b345",
                           "url": "https://gitlab.example.com:8443/team/app.git?ref=main", "ip": "10.1.2.3",
                           "memory": "2Gi"}}}


@pytest.mark.parametrize("expression, expected", [
    ("object.spec.project != 'default'", False),
    ("has(object.spec.missing)", False),
    ("object.spec.?missing.orValue('x')", "x"),
    ("object.spec.project.matches('^def')", True),
    ("'a, b'.split(',').map(s, s.trim())", ["a", "b"]),
    ("'%s-%d'.format(['a', 1])", "a-1"),
    ("object.spec.items.isSorted()", False),
    ("object.spec.items.sum()", 6),
    ("object.spec.items.max()", 3),
    ("object.spec.text.find('[0-9]+')", "12"),
    ("object.spec.text.findAll('[0-9]+')", ["12", "345"]),
    ("isURL(object.spec.url) && url(object.spec.url).getHostname() == 'gitlab.example.com'", True),
    ("url(object.spec.url).getPort()", "8443"),
    ("cidr('10.0.0.0/8').containsIP(object.spec.ip)", True),
    ("isIP('::1') && !isIP('10.0.0.300')", True),
    ("quantity(object.spec.memory).isGreaterThan(quantity('1Gi'))", True),
    ("quantity('1500m').compareTo(quantity('2'))", -1),
    ("isQuantity('1.5Gi') && !isQuantity('lots')", True),
    ("cel.bind(x, object.spec.items.size(), x * 2)", 6),
])
def test_supported_expressions(expression, expected):
    assert cel.evaluate(expression, OBJ, V) == expected


def test_unknown_function_and_variable_are_unsupported_compile_errors():
    for expression in ("authorizer.group('apps').check('create').allowed()", "object.spec.noSuchFunction()"):
        with pytest.raises(cel.CompileError) as error:
            cel.compile_expression(expression, V)
        assert error.value.unsupported
        assert "undeclared reference" in error.value.message


def test_syntax_error_is_a_compile_error_with_a_position():
    with pytest.raises(cel.CompileError) as error:
        cel.compile_expression("object.spec +", V)
    assert not error.value.unsupported
    assert error.value.message.startswith("1:")


def test_missing_key_is_an_evaluation_error():
    with pytest.raises(cel.EvalError) as error:
        cel.evaluate("object.spec.nothing == 1", OBJ, V)
    assert "nothing" in error.value.message


def test_errors_in_added_functions_are_evaluation_errors():
    with pytest.raises(cel.EvalError):
        cel.evaluate("[].min()", OBJ, V)
    with pytest.raises(cel.EvalError):
        cel.evaluate("quantity('lots')", OBJ, V)


def test_environment_for_other_variables_such_as_x_kubernetes_validations():
    assert cel.evaluate("self.replicas <= 3", {"self": {"replicas": 2}}, ("self", "oldSelf")) is True
