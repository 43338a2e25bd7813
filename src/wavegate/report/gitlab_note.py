"""The merge request summary note, and `wavegate report --gitlab-note` which posts it.

The note is markdown: a hidden marker (`<!-- wavegate:summary -->`) by which later pipelines find
it again and update it instead of adding notes, a heading with the counts, and a table of the
findings (most serious first) whose locations link to the exact line at the commit the pipeline
ran on: `{CI_PROJECT_URL}/-/blob/{CI_COMMIT_SHA}/{path}#L{line}`.

The command reads the JSON report `wavegate validate --report json=FILE` wrote (`--input FILE`,
or `-` for stdin). It does not run validate itself: the CI job has validated already (that run
also wrote JUnit and Code Quality), a second run would double the work and could disagree with
the first, and posting is a separate step that must not change what was found.

Exit codes follow the findings only (`--fail-on`, as validate): a GitLab problem (down, token
missing or lacking scope, not a merge request pipeline) prints one warning line to stderr and
never changes the exit code. An unreadable input file is a usage error (2).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote

from wavegate.errors import FAIL_ON, exit_code
from wavegate.findings import Finding, ResourceRef, Result, Severity
from wavegate.report.markdown import escape

MARKER = "<!-- wavegate:summary -->"
MAX_ROWS = 200
# GitLab refuses a note longer than this (Note validates `note` to at most 1,000,000 characters);
# the diff section is cut to stay below it, with room to spare for the findings and the marker.
NOTE_LIMIT = 1_000_000
DIFF_ARTIFACT = "wavegate-diff.md"
_ICON = {Severity.ERROR: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def line_url(project_url: str, commit_sha: str, path: str, line: int) -> str:
    return f"{project_url.rstrip('/')}/-/blob/{commit_sha}/{quote(path)}#L{line}"


def render_note(result: Result, *, project_url: str | None = None, commit_sha: str | None = None,
                path_prefix: str = "", pipeline_url: str | None = None, marker: str = MARKER,
                max_rows: int = MAX_ROWS) -> str:
    """The note's markdown. Links appear only when both `project_url` and `commit_sha` are known;
    `path_prefix` is the validated directory relative to the repository root."""
    counts = result.counts()
    prefix = path_prefix.strip("/")
    lines = [marker]
    if not result.findings:
        lines.append(f"### ✅ wavegate: no findings in {_plural(len(result.files), 'file')}")
    else:
        worst = result.worst()
        icon = "❌" if worst == Severity.ERROR else "⚠️" if worst == Severity.WARNING else "ℹ️"
        lines.append(f"### {icon} wavegate: {_plural(counts['error'], 'error')}, "
                     f"{_plural(counts['warning'], 'warning')}, {counts['info']} info")
    context = []
    if commit_sha:
        context.append(f"commit `{commit_sha[:8]}`")
    if pipeline_url:
        context.append(f"[pipeline]({pipeline_url})")
    context.append(f"{_plural(len(result.files), 'file')}, {_plural(result.resources, 'resource')} checked")
    lines += ["", " · ".join(context)]
    if result.findings:
        lines += ["", "| Severity | Rule | Where | Finding |", "|---|---|---|---|"]
        ordered = sorted(result.findings, key=lambda f: (-f.severity, f.sort_key()))
        for finding in ordered[:max_rows]:
            path = f"{prefix}/{finding.path}" if prefix and finding.path != "." else finding.path
            where = escape(f"{path}:{finding.line}")
            if project_url and commit_sha and finding.path != ".":
                where = f"[{where}]({line_url(project_url, commit_sha, path, finding.line)})"
            text = escape(finding.message)
            if finding.resource is not None:
                text += f" <sub>{escape(finding.resource.display())}</sub>"
            if finding.hint:
                text += f"<br>*{escape(finding.hint)}*"
            lines.append(f"| {_ICON[finding.severity]} {finding.severity} | `{finding.rule}` | {where} | {text} |")
        if len(ordered) > max_rows:
            lines += ["", f"{_plural(len(ordered) - max_rows, 'more finding')} not shown: see the job's "
                          "Code Quality and JUnit reports, or run `wavegate validate` locally."]
    lines += ["", "<sub>`wavegate explain RULE` says why a rule matters and how to fix it. "
                  "This note is updated by every pipeline.</sub>", ""]
    return "\n".join(lines)


def render(result: Result, *, color: bool = False) -> str:
    """The note without links (reporter signature of `wavegate.report`)."""
    return render_note(result)


# -- reading a JSON report ---------------------------------------------------------------------

def read_report(text: str, source: str) -> Result:
    """A `Result` from the `--format json` contract (version 1). Raises ValueError naming `source`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not JSON ({error.msg} at line {error.lineno}); give the file "
                         f"`wavegate validate --report json=FILE` wrote") from None
    if not isinstance(document, dict) or document.get("version") != 1 or not isinstance(document.get("findings"), list):
        raise ValueError(f"{source}: not a wavegate JSON report (version 1 with findings); "
                         f"write one with `wavegate validate --report json=FILE`")
    findings = []
    for index, item in enumerate(document["findings"]):
        try:
            resource = item.get("resource")
            findings.append(Finding(
                rule=str(item["rule"]), severity=Severity.parse(item["severity"]), message=str(item["message"]),
                path=str(item["path"]), line=int(item.get("line") or 1), column=int(item.get("column") or 1),
                resource=ResourceRef(resource.get("apiVersion") or "", resource.get("kind") or "",
                                     resource.get("namespace"), resource.get("name")) if resource else None,
                hint=str(item.get("hint") or "")))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f"{source}: finding {index + 1} does not follow the JSON report contract") from None
    summary = summary if isinstance(summary := document.get("summary"), dict) else {}
    files = summary.get("files", 0)
    return Result(findings=findings, files=[""] * files if isinstance(files, int) else [],
                  resources=summary.get("resources", 0) if isinstance(summary.get("resources"), int) else 0,
                  seconds=float(summary.get("seconds") or 0.0))


def with_diff(body: str, diff, *, project_url: str | None = None, artifact_url: str | None = None,
              limit: int = NOTE_LIMIT) -> str:
    """The note with the diff's section (wavegate.diff.output.markdown) before its closing line,
    the whole within `limit` characters."""
    from wavegate.diff.output import markdown

    head, sep, footer = body.rpartition("\n<sub>")
    if not sep:
        head, footer = body, ""
    budget = limit - len(body) - 200
    section = markdown(diff, budget=budget, project_url=project_url, artifact_url=artifact_url)
    return f"{head}\n{section}" + (f"\n<sub>{footer}" if sep else "")


def _read_diff(file: str):
    from wavegate.diff.model import Diff
    from wavegate.errors import UsageError

    try:
        return Diff.from_json(json.loads(Path(file).read_text(encoding="utf-8")))
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"{file}: {error}; write it with `wavegate diff --format json --output FILE`") from None


def _artifact_url(job_url: str | None, artifact: str) -> str | None:
    return f"{job_url.rstrip('/')}/artifacts/file/{quote(artifact)}" if job_url and artifact else None


# -- the command -------------------------------------------------------------------------------

def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `wavegate report` on the CLI's subparsers."""
    report = subparsers.add_parser(
        "report", help="publish a validate report: the merge request summary note (--gitlab-note)",
        description="Post or update wavegate's summary note on the GitLab merge request of this pipeline, "
                    "from the JSON report validate wrote. Exit 0/1 by the findings and --fail-on, like "
                    "validate; GitLab problems only print a warning. 2 on usage errors.",
        epilog="Example (GitLab CI, merge request pipeline):\n"
               "  wavegate validate --report json=wavegate.json --fail-on never\n"
               "  wavegate report --gitlab-note --input wavegate.json\n\n"
               "Token: a masked CI/CD variable GITLAB_TOKEN (or WAVEGATE_GITLAB_TOKEN) holding a project\n"
               "access token with api scope and at least the Reporter role. CI_JOB_TOKEN cannot post notes.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("--gitlab-note", action="store_true", required=True,
                        help="post the summary note on the merge request (updating wavegate's earlier note)")
    report.add_argument("--input", required=True, metavar="FILE",
                        help="the JSON report from `wavegate validate --report json=FILE` (- for stdin)")
    report.add_argument("--diff", metavar="FILE",
                        help="also show this `wavegate diff --format json` report: per Application a collapsible "
                             "rendered diff and a Mermaid diagram of the sync order")
    report.add_argument("--diff-artifact", default=DIFF_ARTIFACT, metavar="PATH",
                        help=f"the job artifact holding the full diff as markdown, linked when the note is cut "
                             f"(default: {DIFF_ARTIFACT})")
    report.add_argument("--fail-on", choices=FAIL_ON, default="error",
                        help="lowest severity that fails the run (default: error)")
    report.add_argument("--path-prefix", default="", metavar="DIR",
                        help="the directory validate checked, relative to the repository root (for line links)")
    report.add_argument("--project", metavar="ID", help="project id or path (default: CI_PROJECT_ID)")
    report.add_argument("--merge-request", type=int, metavar="IID",
                        help="merge request IID (default: CI_MERGE_REQUEST_IID)")
    report.add_argument("--gitlab-url", metavar="URL", help="GitLab server URL (default: CI_SERVER_URL)")
    report.add_argument("--print", dest="print_only", action="store_true",
                        help="print the note's markdown instead of posting it")
    report.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    report.set_defaults(handler=cmd_report)
    return report


def cmd_report(args) -> int:
    from wavegate.errors import UsageError
    from wavegate.gitlab import GitLab, GitLabError, scrub_env

    debug = getattr(args, "debug", False)
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.input == "-":
            text, source = sys.stdin.read(), "stdin"
        else:
            text, source = Path(args.input).read_text(encoding="utf-8"), args.input
        result = read_report(text, source)
    except OSError as error:
        raise UsageError(f"cannot read {args.input}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(str(error)) from None

    env = os.environ
    body = render_note(result, project_url=env.get("CI_PROJECT_URL"),
                       commit_sha=env.get("CI_COMMIT_SHA"), path_prefix=args.path_prefix,
                       pipeline_url=env.get("CI_PIPELINE_URL"))
    if args.diff:
        body = with_diff(body, _read_diff(args.diff), project_url=env.get("CI_PROJECT_URL"),
                         artifact_url=_artifact_url(env.get("CI_JOB_URL"), args.diff_artifact))
    if args.print_only:
        sys.stdout.write(body)
        return exit_code(result, args.fail_on)
    gl = None
    try:
        gl = GitLab.from_env(url=args.gitlab_url)
        project = args.project or gl.project
        iid = args.merge_request if args.merge_request is not None else gl.mr_iid
        note = gl.upsert_summary_note(project, iid, body, MARKER)
        action = "posted" if note.created else "updated" if note.changed else "left unchanged"
        print(f"wavegate: summary note {note.id} {action} on merge request !{iid}", file=sys.stderr)
    except GitLabError as error:
        print(f"wavegate: warning: summary note not posted: {error}", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - posting must never change the exit code
        detail = scrub_env(f"{type(error).__name__}: {error}")
        if gl is not None:
            detail = gl.scrub(detail)
        print(f"wavegate: warning: summary note not posted: unexpected {detail}", file=sys.stderr)
    return exit_code(result, args.fail_on)
