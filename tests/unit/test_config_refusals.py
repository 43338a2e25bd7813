"""Configuration that cannot mean what it says is refused at its line (exit 2), never silently accepted."""

import pytest

from tests.helpers import write_repo
from wavegate.config import ConfigError, load_config


def refused(tmp_path, text: str) -> str:
    write_repo(tmp_path, {".wavegate.yaml": text})
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    return str(error.value)


def test_an_unknown_rule_id_is_refused_with_the_closest_one(tmp_path):
    message = refused(tmp_path, "rules:\n  sync-wave-not-integer: info\n  sync-wave-not-integr: off\n")
    assert message.endswith(".wavegate.yaml:3:3: rules: there is no rule 'sync-wave-not-integr'; "
                            "did you mean 'sync-wave-not-integer'?")


def test_an_unknown_rule_id_without_a_close_one_points_at_the_list(tmp_path):
    assert "there is no rule 'no-such-rule'; `wavegate rules` lists them" in refused(tmp_path, "rules: {no-such-rule: off}\n")


def test_known_rules_of_every_family_are_accepted(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  yaml-duplicate-key: warning\n  dry-run-refused: off\n"
                                            "  schema-unknown-kind: info\n  argocd-tracking-label-in-git: off\n"})
    assert set(load_config(tmp_path).rules) == {"yaml-duplicate-key", "dry-run-refused", "schema-unknown-kind",
                                                "argocd-tracking-label-in-git"}


def test_a_rule_the_repository_may_not_configure_is_refused(tmp_path):
    message = refused(tmp_path, "rules:\n  policy-exception-expired: info\n")
    assert ".wavegate.yaml:2:3: rules: policy-exception-expired cannot be changed or turned off" in message
    assert "exceptions:" in message


def test_a_missing_argocd_config_map_is_refused_at_its_value(tmp_path):
    message = refused(tmp_path, "argocd:\n  configMap: /missing.yaml\n")
    assert ".wavegate.yaml:2:14: argocd.configMap: '/missing.yaml' is not a file" in message


def test_an_argocd_config_map_next_to_the_configuration_is_accepted(tmp_path):
    write_repo(tmp_path, {"platform/argocd-cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n",
                          ".wavegate.yaml": "argocd:\n  configMap: platform/argocd-cm.yaml\n"})
    assert load_config(tmp_path).argocd_config_map == "platform/argocd-cm.yaml"


@pytest.mark.parametrize("pattern, why", [
    ("/docs/", "relative to the repository root; write 'docs/'"),
    ("./docs", "write 'docs'"),
    ("docs//old", "write 'docs/old'"),
    ("../platform", "never leave the repository"),
    ("docs\\old", "separated by '/'; write 'docs/old'"),
])
def test_an_exclude_pattern_that_can_never_match_is_refused(tmp_path, pattern, why):
    message = refused(tmp_path, f"exclude:\n  - docs/\n  - '{pattern}'\n")
    assert f".wavegate.yaml:3:5: exclude: {pattern!r} can never match: " in message and why in message


def test_exclude_patterns_that_can_match_are_accepted(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "exclude: [docs/, '*.values.yaml', '**/generated/*', 'apps/*/tmp']\n"})
    assert load_config(tmp_path).exclude == ("docs/", "*.values.yaml", "**/generated/*", "apps/*/tmp")


@pytest.mark.parametrize("text", ["- rules\n- exclude\n", "just text\n"])
def test_a_configuration_that_is_not_a_mapping_says_what_it_must_be(tmp_path, text):
    message = refused(tmp_path, text)
    assert ".wavegate.yaml:1:1: the configuration is not a mapping of settings" in message
    assert "Kubernetes object" not in message


def test_a_misspelt_rule_id_stops_validate_with_one_line_and_exit_2(tmp_path, capsys):
    from wavegate.cli import main

    write_repo(tmp_path, {".wavegate.yaml": "rules:\n  sync-wave-not-integr: off\n",
                          "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"})
    assert main(["validate", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("wavegate: ")
    assert "rules: there is no rule 'sync-wave-not-integr'; did you mean 'sync-wave-not-integer'?" in captured.err
