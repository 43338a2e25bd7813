"""`wavegate report --gitlab-note` as CI runs it: real processes, python-gitlab's real HTTP stack,
the loopback GitLab API. The exit code follows the findings only; the token never shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.gitlab_server import GitLabServer
from tests.helpers import EXAMPLES, REPO_ROOT
from wavegate.findings import Finding, ResourceRef, Result, Severity
from wavegate.report.gitlab_note import MARKER, read_report, render_note

TOKEN = "glpat-Int3grationSecret-xyz987"
SHA = "0123456789abcdef0123456789abcdef01234567"

# Runs the real CLI (cli.main, with its error handling).
HARNESS = """
import sys
from wavegate import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def wavegate(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CI_") and "TOKEN" not in k}
    environment.update({"PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})})
    return subprocess.run([sys.executable, "-c", HARNESS, *map(str, args)], capture_output=True, text=True,
                          env=environment, timeout=120, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def defects_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "wavegate.json"
    done = wavegate("validate", EXAMPLES / "defects", "--report", f"json={out}", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "wavegate.json"
    done = wavegate("validate", EXAMPLES / "clean", "--report", f"json={out}", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture()
def server():
    with GitLabServer(token=TOKEN) as running:
        running.project_ = running.add_project("platform/web-cicd", branches=("main", "feature"))
        running.add_merge_request(running.project_["id"], "feature")
        yield running


def ci_env(server, **extra):
    return {"CI_SERVER_URL": server.url, "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": str(server.project_["id"]),
            "CI_MERGE_REQUEST_IID": "1", "CI_PROJECT_URL": "https://gitlab.example.com/platform/web-cicd",
            "CI_COMMIT_SHA": SHA, "CI_PIPELINE_URL": "https://gitlab.example.com/platform/web-cicd/-/pipelines/7",
            **extra}


def notes(server):
    return server.notes[(server.project_["id"], 1)]


def assert_no_token(done):
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    assert "Traceback" not in done.stderr


def test_posts_one_note_and_updates_it_on_the_next_pipeline(server, defects_report):
    done = wavegate("report", "--gitlab-note", "--input", defects_report, "--path-prefix", "examples/defects",
                    env=ci_env(server))
    assert done.returncode == 1, done.stderr  # the defects example has errors
    assert_no_token(done)
    assert "posted on merge request !1" in done.stderr
    (note,) = notes(server)
    body = note["body"]
    assert body.startswith(MARKER)
    report = json.loads(defects_report.read_text())
    errors = sum(f["severity"] == "error" for f in report["findings"])
    assert f"{errors} errors" in body
    first = report["findings"][0]
    link = f"https://gitlab.example.com/platform/web-cicd/-/blob/{SHA}/examples/defects/{first['path']}#L{first['line']}"
    assert link in body
    for finding in report["findings"]:
        assert f"`{finding['rule']}`" in body

    server.add_note(server.project_["id"], 1, "a reviewer's comment")
    again = wavegate("report", "--gitlab-note", "--input", defects_report, "--fail-on", "never",
                     env=ci_env(server, CI_COMMIT_SHA="f" * 40))
    assert again.returncode == 0 and "updated" in again.stderr
    ours = [n for n in notes(server) if MARKER in n["body"]]
    assert len(ours) == 1 and ours[0]["id"] == note["id"] and "/-/blob/ffffffff" in ours[0]["body"]
    assert len(notes(server)) == 2


@pytest.mark.parametrize("status", [500, 403, 401])
def test_gitlab_failures_warn_in_one_line_and_the_exit_code_follows_findings(server, defects_report, clean_report, status):
    server.fail(status, path="/notes", times=None)
    done = wavegate("report", "--gitlab-note", "--input", defects_report, env=ci_env(server))
    assert done.returncode == 1
    warning = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and f"GitLab answered {status}" in warning[0]
    assert_no_token(done)
    clean = wavegate("report", "--gitlab-note", "--input", clean_report, env=ci_env(server))
    assert clean.returncode == 0, clean.stderr
    assert "summary note not posted" in clean.stderr
    assert notes(server) == []


def test_gitlab_unreachable_or_not_configured_still_exits_by_findings(defects_report, clean_report):
    down = wavegate("report", "--gitlab-note", "--input", clean_report,
                    env={"CI_SERVER_URL": "http://127.0.0.1:9", "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": "1",
                         "CI_MERGE_REQUEST_IID": "1"})
    assert down.returncode == 0 and "cannot reach GitLab" in down.stderr
    assert_no_token(down)
    no_token = wavegate("report", "--gitlab-note", "--input", defects_report,
                        env={"CI_SERVER_URL": "http://127.0.0.1:9", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "1"})
    assert no_token.returncode == 1 and "GITLAB_TOKEN" in no_token.stderr
    branch_pipeline = wavegate("report", "--gitlab-note", "--input", clean_report,
                               env={"CI_SERVER_URL": "http://127.0.0.1:9", "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": "1"})
    assert branch_pipeline.returncode == 0 and "CI_MERGE_REQUEST_IID is not set" in branch_pipeline.stderr


def test_the_token_never_appears_even_with_debug_logging(server, defects_report):
    server.fail(500, path="/notes", times=1, body={"message": f"echo PRIVATE-TOKEN: {TOKEN}"})
    failing = wavegate("--debug", "report", "--gitlab-note", "--input", defects_report, "--debug", env=ci_env(server))
    assert failing.returncode == 1
    assert "DEBUG" in failing.stderr  # debug logging really was on (urllib3 logs each request)
    assert_no_token(failing)
    posting = wavegate("--debug", "report", "--gitlab-note", "--input", defects_report, "--debug", env=ci_env(server))
    assert posting.returncode == 1 and "posted" in posting.stderr
    assert_no_token(posting)


def test_usage_errors_exit_2(tmp_path, server):
    missing = wavegate("report", "--gitlab-note", "--input", tmp_path / "nope.json", env=ci_env(server))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    (tmp_path / "bad.json").write_text('{"findings": 3}')
    bad = wavegate("report", "--gitlab-note", "--input", tmp_path / "bad.json", env=ci_env(server))
    assert bad.returncode == 2 and "not a wavegate JSON report" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_print_shows_the_note_without_posting(server, defects_report):
    done = wavegate("report", "--gitlab-note", "--input", defects_report, "--print", "--fail-on", "never",
                    env=ci_env(server))
    assert done.returncode == 0 and done.stdout.startswith(MARKER) and notes(server) == []


# -- the note's markdown -------------------------------------------------------------------------

def finding(message, severity=Severity.ERROR, path="apps/web/deploy.yaml", line=3, hint=""):
    return Finding(rule="some-rule", severity=severity, message=message, path=path, line=line,
                   resource=ResourceRef("apps/v1", "Deployment", "web", "web"), hint=hint)


def test_cells_are_escaped_so_nothing_breaks_the_table_or_pings_anyone():
    body = render_note(Result(findings=[finding("image a|b @admin <script>x</script> #12\nsecond line",
                                                hint="use `x`")]),
                       project_url="https://g.example/p", commit_sha=SHA)
    row = next(line for line in body.splitlines() if "some-rule" in line)
    assert row.count(" | ") == 3  # four cells, none split by the message's pipe
    assert "<script>" not in body and "@admin" not in body and "#12" not in body
    assert "second line" in row  # multi-line messages stay in their row
    assert "https://g.example/p/-/blob/" + SHA + "/apps/web/deploy.yaml#L3" in row


def test_severity_order_counts_and_row_cap():
    findings = [finding(f"w{i}", Severity.WARNING, line=i + 1) for i in range(5)] + [finding("e", line=99)]
    body = render_note(Result(findings=findings, files=["a"]), max_rows=3)
    rows = [line for line in body.splitlines() if line.startswith("| 🔴") or line.startswith("| 🟠")]
    assert rows[0].startswith("| 🔴 error") and len(rows) == 3
    assert "1 error, 5 warnings, 0 info" in body and "3 more findings not shown" in body
    assert "/-/blob/" not in body  # no links without project URL and commit


def test_no_findings_note_and_json_round_trip(tmp_path):
    assert "no findings in 2 files" in render_note(Result(files=["a", "b"]))
    from wavegate.report import json_report

    original = Result(findings=[finding("m", hint="h")], files=["x"], resources=4)
    back = read_report(json_report.render(original), "r.json")
    assert [(f.rule, f.severity, f.path, f.line, f.hint, f.resource) for f in back.findings] == \
           [(f.rule, f.severity, f.path, f.line, f.hint, f.resource) for f in original.findings]
    assert len(back.files) == 1 and back.resources == 4
