"""The command line as a user runs it: a real process, real files, exit codes and outputs."""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import EXAMPLES, REPO_ROOT, write_repo


def wavegate(*args, cwd=None, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})}
    environment.pop("CI_PROJECT_URL", None)
    return subprocess.run([sys.executable, "-m", "wavegate", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=120)


def assert_no_traceback(done):
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout


def test_clean_example_passes_with_nothing_at_warning_or_above():
    done = wavegate("validate", EXAMPLES / "clean", "--format", "json", "--fail-on", "warning")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [f for f in report["findings"] if f["severity"] in ("error", "warning")] == []


def test_defects_example_fails_and_the_json_contract_holds():
    done = wavegate("validate", EXAMPLES / "defects", "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["version"] == 1 and set(report) == {"version", "findings", "summary"}
    for finding in report["findings"]:
        assert set(finding) - {"application"} == {"rule", "severity", "message", "path", "line", "column", "resource",
                                                   "hint", "fingerprint"}
        assert isinstance(finding.get("application", ""), str)
        assert finding["severity"] in ("error", "warning", "info")
        assert not finding["path"].startswith("/") and "\\" not in finding["path"]
        assert finding["line"] >= 1 and finding["column"] >= 1
    rules = {f["rule"] for f in report["findings"]}
    assert {"sync-wave-not-integer", "application-path-missing"} <= rules


def test_fixing_the_defects_examples_path_shows_the_waves_it_syncs_out_of_order(tmp_path):
    """Argo CD orders what an Application syncs; with the path wrong, nothing is synced and the
    waves of manifests/ are not compared. Fix the path and they are."""
    import shutil

    repo = tmp_path / "examples" / "defects"  # .wavegate.yaml reads ../../templates/kro
    shutil.copytree(EXAMPLES / "defects", repo)
    shutil.copytree(EXAMPLES.parent / "templates" / "kro", tmp_path / "templates" / "kro")
    app = repo / "argocd" / "application.yaml"
    app.write_text(app.read_text().replace("path: manifest ", "path: manifests "))
    done = wavegate("validate", repo, "--format", "json")
    rules = {f["rule"] for f in json.loads(done.stdout)["findings"]}
    assert "application-path-missing" not in rules and "sync-wave-namespace-after-resources" in rules


def test_every_report_in_one_run(tmp_path):
    done = wavegate("validate", EXAMPLES / "defects", "--report", f"junit={tmp_path}/junit.xml",
                    "--report", f"codequality={tmp_path}/cq.json", "--report", f"sarif={tmp_path}/out.sarif",
                    "--format", "text")
    assert done.returncode == 1 and "sync-wave-not-integer" in done.stdout
    assert ET.parse(tmp_path / "junit.xml").getroot().tag == "testsuites"
    assert json.loads((tmp_path / "cq.json").read_text())
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"


@pytest.mark.parametrize("fail_on, expected", [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on_threshold(tmp_path, fail_on, expected):
    write_repo(tmp_path, {
        "ns.yaml": 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  annotations:\n    argocd.argoproj.io/sync-wave: "2"\n',
        "cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: web\n',
        ".wavegate.yaml": "rules: {schema-unknown-kind: off}\n",
    })
    done = wavegate("validate", tmp_path, "--fail-on", fail_on)
    assert done.returncode == expected, done.stdout + done.stderr


@pytest.mark.parametrize("args, message", [
    (["validate", "/no/such/dir"], "no such directory"),
    (["validate", ".", "--format", "html"], "--format 'html'"),
    (["validate", ".", "--report", "junit"], "FMT=FILE"),
    (["explain", "sync-wave-not-integr"], "did you mean sync-wave-not-integer"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    done = wavegate(*args, cwd=EXAMPLES / "clean")
    assert done.returncode == 2
    assert_no_traceback(done)
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_config_exits_2_naming_file_and_line(tmp_path):
    write_repo(tmp_path, {".wavegate.yaml": "rulez: {}\n"})
    done = wavegate("validate", tmp_path)
    assert done.returncode == 2 and ".wavegate.yaml:1:1" in done.stderr and "'rulez'" in done.stderr
    assert_no_traceback(done)


def test_hostile_input_never_crashes(tmp_path):
    bomb = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    bomb += [f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]" for i in range(1, 10)]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb))
    (tmp_path / "bin.yaml").write_bytes(b"\x00\xff\xfe garbage")
    (tmp_path / "tab.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n")
    (tmp_path / "weird.yaml").write_text("? [complex, key]\n: value\n!!python/object:os.system x: 1\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 50000 + "]" * 50000 + "\n")
    done = wavegate("validate", tmp_path, "--format", "json")
    assert_no_traceback(done)
    assert done.returncode == 1, done.stderr
    paths = {f["path"] for f in json.loads(done.stdout)["findings"]}
    assert {"bomb.yaml", "bin.yaml", "tab.yaml", "deep.yaml"} <= paths


def test_rules_and_explain_render_every_declaration():
    listing = wavegate("rules", "--format", "json")
    assert listing.returncode == 0
    rules = json.loads(listing.stdout)
    assert len({r["id"] for r in rules}) == len(rules) > 10
    for rule in rules:
        assert rule["title"] and rule["rationale"] and rule["bad"]["files"] and rule["good"]["files"], rule["id"]
        assert rule["bad"]["findingAt"] or rule.get("note"), rule["id"]
    duplicate = next(r for r in rules if r["id"] == "yaml-duplicate-key")
    assert duplicate["bad"]["findingAt"] == [{"path": "deployment.yaml", "line": 9}]
    explained = wavegate("explain", "yaml-duplicate-key")
    assert explained.returncode == 0
    # The example files with line numbers, the line the finding points at marked.
    assert "Bad: the finding points at deployment.yaml:9" in explained.stdout and "Good" in explained.stdout
    assert re.search(r"^ +> +9  ", explained.stdout, re.MULTILINE), explained.stdout


def test_help_teaches():
    done = wavegate("validate", "--help")
    assert done.returncode == 0 and "--fail-on" in done.stdout and "Examples:" in done.stdout


def test_the_rules_page_is_generated_from_the_declarations():
    """docs/rules.md is `wavegate rules --format markdown`; regenerate it when a rule changes."""
    listing = wavegate("rules", "--format", "markdown")
    assert listing.returncode == 0
    assert (REPO_ROOT / "docs" / "rules.md").read_text() == listing.stdout, \
        "docs/rules.md is stale: run `wavegate rules --format markdown > docs/rules.md`"


def test_validate_ends_the_process_without_freeing_what_it_built_and_says_everything_first(tmp_path):
    # The process entry point ends a validate run with os._exit (cli.entry): every byte of a long
    # report must still reach the pipe, with the exit code, and main() called in-process must be
    # unaffected (the tests' own runs).
    files = {f"cm-{i:04d}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name_{i}\n"
                                 f"  namespace: default\ndata: {{k: v}}\n" for i in range(400)}
    root = write_repo(tmp_path / "repo", files)
    done = wavegate("validate", root, "--format", "json", "--no-cache")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)  # (the whole document: more than a pipe holds at once)
    assert len(done.stdout) > 65536 and report["summary"]["resources"] == 400
    assert {f["path"] for f in report["findings"] if f["severity"] == "error"} == set(files)
    text = wavegate("validate", root, "--no-cache")
    assert text.returncode == 1 and all(name in text.stdout for name in files)

    from wavegate import cli

    assert cli._KEPT_UNTIL_EXIT is None  # (no entry() in this process: nothing is kept past main())
