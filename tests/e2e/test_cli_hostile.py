"""The command line on hostile input: one line naming the problem and the right exit code,
never a traceback or an "internal error"."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES, REPO_ROOT, write_repo
from wavegate import cli

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n"


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in out + err
    return code, out, err


def process(*args, stdout=subprocess.PIPE, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "wavegate", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120, **kwargs)


def test_a_reader_that_stops_reading_ends_the_command_quietly():
    # `wavegate rules --format json | head -c 10`: the pipe closes after the first bytes.
    done = subprocess.run(f"{sys.executable} -m wavegate rules --format json | head -c 10", shell=True,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
                          executable="/bin/bash")
    assert done.stdout == '[\n  {\n    '
    assert done.stderr == ""


def test_a_closed_pipe_exits_with_the_sigpipe_status(tmp_path):
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as closed:
        done = process("rules", "--format", "json", stdout=closed)
    assert done.returncode == cli.EXIT_PIPE_CLOSED and done.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [("rules",), ("validate", EXAMPLES / "defects")])
def test_a_full_disk_is_one_line_and_exit_2(args):
    with open("/dev/full", "w") as full:
        done = process(*args, stdout=full)
    assert done.returncode == 2
    assert done.stderr == "wavegate: cannot write the output: No space left on device\n"


def test_kubeconform_engine_without_kubeconform_is_a_usage_error_with_the_install_hint(capsys, monkeypatch, tmp_path):
    from wavegate import tools

    monkeypatch.setattr(tools, "tool_dirs", lambda: [])
    monkeypatch.setenv("PATH", str(tmp_path))
    write_repo(tmp_path, {"ns.yaml": NAMESPACE})
    code, out, err = run(capsys, "validate", tmp_path, "--engine", "kubeconform")
    assert code == 2 and out == ""
    assert err.startswith("wavegate: --engine kubeconform: kubeconform not found") and "scripts/install-tools" in err
    assert len(err.splitlines()) == 1


def test_files_that_do_not_exist_or_lie_outside_are_usage_errors(capsys, tmp_path):
    write_repo(tmp_path, {"repo/ns.yaml": NAMESPACE, "elsewhere.yaml": NAMESPACE})
    code, _, err = run(capsys, "validate", tmp_path / "repo", "--files", tmp_path / "repo" / "nosuch.yaml")
    assert code == 2 and err == f"wavegate: --files {tmp_path}/repo/nosuch.yaml: no such file\n"
    code, _, err = run(capsys, "validate", tmp_path / "repo", "--files", tmp_path / "elsewhere.yaml")
    assert code == 2 and "not inside the repository" in err
    code, out, _ = run(capsys, "validate", tmp_path / "repo", "--files", tmp_path / "repo" / "ns.yaml")
    assert code == 0 and out.startswith("No findings")


def test_a_link_passed_in_files_is_reported_as_the_link(capsys, tmp_path):
    write_repo(tmp_path, {"outside.yaml": NAMESPACE})
    (tmp_path / "repo").mkdir()
    os.symlink(tmp_path / "outside.yaml", tmp_path / "repo" / "link.yaml")
    code, out, _ = run(capsys, "validate", tmp_path / "repo", "--files", tmp_path / "repo" / "link.yaml", "-q")
    assert code == 1 and out.startswith("link.yaml:1:1: error yaml-symlink-escape")


def test_policy_test_on_a_folder_without_policies_is_a_usage_error(capsys, tmp_path):
    code, out, err = run(capsys, "policy", "test", tmp_path)
    assert code == 2 and out == ""
    assert err == f"wavegate: {tmp_path}: holds no ValidatingAdmissionPolicy; give the directory of the policies " \
                  "(with their fixtures/)\n"


def test_an_absolute_schemas_path_is_shown_as_given(capsys, tmp_path):
    write_repo(tmp_path, {"repo/ns.yaml": NAMESPACE})
    missing = tmp_path / "nonexistent" / "dir"
    code, _, err = run(capsys, "validate", tmp_path / "repo", "--schemas", missing)
    assert code == 2 and err == f"wavegate: schemas path {missing}: no such file or directory\n"
    write_repo(tmp_path, {"repo/.wavegate.yaml": f"schemas: [{missing}]\n"})
    code, _, err = run(capsys, "validate", tmp_path / "repo")
    assert code == 2 and err == f"wavegate: schemas path {missing}: no such file or directory\n"


def test_findings_in_an_absolute_schemas_path_name_it_as_given(capsys, tmp_path):
    write_repo(tmp_path, {"repo/ns.yaml": NAMESPACE, "crds/bad.yaml": "a: [\n"})
    code, out, _ = run(capsys, "validate", tmp_path / "repo", "--schemas", tmp_path / "crds", "-q")
    assert out.startswith(f"{tmp_path}/crds/bad.yaml:2:1: error yaml-syntax")


def test_quiet_and_statistics_shape_the_text_report(capsys):
    code, quiet, _ = run(capsys, "validate", EXAMPLES / "defects", "--quiet")
    assert code == 1 and len(quiet.splitlines()) == 14 and "hint:" not in quiet
    code, stats, _ = run(capsys, "validate", EXAMPLES / "defects", "--statistics")
    lines = stats.splitlines()
    assert code == 1 and lines[0].split()[:3] == ["3", "error", "policy-violation"]
    assert lines[-1].startswith("12 errors, 2 warnings, 0 info in 4 files")  # the waves of an unsynced folder are not compared
    code, _, err = run(capsys, "validate", EXAMPLES / "defects", "--statistics", "--format", "json")
    assert code == 2 and "--statistics shapes the text report" in err
    with pytest.raises(SystemExit):
        cli.main(["validate", str(EXAMPLES / "defects"), "--statistics", "--quiet"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_quiet_and_statistics_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["validate", "--help"])
    out = capsys.readouterr().out
    assert "--quiet" in out and "--statistics" in out and "one line per finding" in out


def test_a_path_the_system_refuses_is_one_line_and_exit_2(capsys, tmp_path):
    # Found by tests/property: a `schemas:` entry of thousands of characters was an internal error.
    write_repo(tmp_path, {"repo/ns.yaml": NAMESPACE, "repo/.wavegate.yaml": f"schemas: ['{'9' * 5000}']\n"})
    long = str(tmp_path / "repo" / ("9" * 5000))
    code, out, err = run(capsys, "validate", tmp_path / "repo")
    assert code == 2 and out == ""
    assert err == f"wavegate: {long[:60]!r}... ({len(long):,} characters): File name too long\n"
    code, _, err = run(capsys, "validate", tmp_path / ("a" * 300))
    assert code == 2 and err.endswith(f"... ({len(str(tmp_path)) + 301:,} characters): File name too long\n")


def test_an_error_about_a_value_holding_a_newline_stays_one_line(capsys, tmp_path):
    # Found by tests/property: `schemas: ["a\nb"]` split the one-line error in two.
    write_repo(tmp_path, {"repo/ns.yaml": NAMESPACE, "repo/.wavegate.yaml": 'schemas: ["a\\nb"]\n'})
    code, _, err = run(capsys, "validate", tmp_path / "repo")
    assert code == 2 and err == "wavegate: schemas path a\\nb: no such file or directory\n"


def test_a_repository_the_user_cannot_read_is_an_error_naming_it(capsys):
    # Root reads everything, so as root the command runs in a child that has become nobody
    # (after a first run here has imported what it needs: nobody cannot read this Python).
    import io
    import multiprocessing
    import shutil
    import tempfile
    from contextlib import redirect_stderr, redirect_stdout

    base = Path(tempfile.mkdtemp(prefix="wavegate-perm-"))
    try:
        base.chmod(0o755)
        write_repo(base, {"repo/ns.yaml": NAMESPACE})
        run(capsys, "validate", base / "repo")
        (base / "repo").chmod(0)
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)

        def child():
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = cli.main(["validate", str(base / "repo")])
            send.send((code, out.getvalue(), err.getvalue()))

        process = context.Process(target=child)
        process.start()
        assert receive.poll(60), "no answer"
        code, out, err = receive.recv()
        process.join()
        assert code == 2 and out == ""
        assert err == f"wavegate: '{base}/repo/.wavegate.yaml': Permission denied\n"
    finally:
        (base / "repo").chmod(0o755)
        shutil.rmtree(base)
