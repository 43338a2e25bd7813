"""wavegate adopt's command line: usage errors are one line each, exit 2, no cluster needed."""

from __future__ import annotations

import argparse

import pytest

from wavegate.cli import main
from wavegate.scaffold.adopt_cli import add_parser


@pytest.mark.parametrize("argv, says", [
    (["adopt", "--out", "x"], "adopt needs NAME or --all"),
    (["adopt", "web", "--all", "--out", "x"], "adopt needs NAME or --all (not both)"),
    (["adopt", "web"], "adopt needs --out DIR"),
    (["adopt", "web", "--out", "x", "--gitlab-project", "a/b"], "--gitlab-project needs --publish"),
])
def test_usage_errors(argv, says, capsys):
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def test_a_missing_values_file_is_named(tmp_path, capsys):
    assert main(["adopt", "web", "--out", str(tmp_path / "o"), "--values", str(tmp_path / "nope.yaml")]) == 2
    assert f"wavegate adopt: {tmp_path / 'nope.yaml'}: no such values file" in capsys.readouterr().err


def test_a_missing_kubeconfig_is_one_line(tmp_path, capsys):
    code = main(["adopt", "web", "--out", str(tmp_path / "o"), "--kubeconfig", str(tmp_path / "kc")])
    err = capsys.readouterr().err
    assert code == 1 and "kubeconfig" in err and "does not exist" in err and "Traceback" not in err


def test_the_global_debug_flag_is_not_reset_by_the_subcommand():
    parser = argparse.ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    add_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["--debug", "adopt", "web"]).debug is True
    assert parser.parse_args(["adopt", "web", "--debug"]).debug is True
