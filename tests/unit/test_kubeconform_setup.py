"""--engine kubeconform without a kubeconform binary is a setup error (exit 2, one line naming
scripts/install-tools), never an internal-error finding or a traceback."""

from tests.helpers import write_repo
from wavegate import tools
from wavegate.cli import main


def _missing(name):
    raise tools.ToolNotFoundError(f"{name} not found; " + tools.INSTALL_HINT.format(name=name))


def test_a_missing_kubeconform_is_exit_2_with_the_install_hint(tmp_path, monkeypatch, capsys):
    root = write_repo(tmp_path, {"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"})
    monkeypatch.setattr(tools, "find_tool", _missing)
    assert main(["validate", str(root), "--engine", "kubeconform"]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("wavegate: --engine kubeconform: kubeconform not found")
    assert "scripts/install-tools --only kubeconform" in line
    assert "internal" not in line and "Traceback" not in captured.err and captured.out == ""


def test_the_builtin_engine_does_not_need_kubeconform(tmp_path, monkeypatch, capsys):
    root = write_repo(tmp_path, {"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"})
    monkeypatch.setattr(tools, "find_tool", _missing)
    assert main(["validate", str(root)]) == 0
