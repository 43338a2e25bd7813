"""GitLab Code Quality: the JSON array read by `artifacts: reports: codequality:`.

GitLab reads a subset of the Code Climate issue format. Each entry carries all six fields the
current GitLab docs require: `description`, `check_name`, `fingerprint`, `severity`,
`location.path` and `location.lines.begin`. Findings that name no file are left out. GitLab
collapses entries that share a fingerprint, so fingerprints are made unique within the report (see
`unique_fingerprints`).
"""

from __future__ import annotations

import hashlib
import json

from wavegate.findings import Finding, Result, Severity

# Code Climate severities are info|minor|major|critical|blocker. An error blocks the merge but is
# a configuration mistake, not a security or data-loss emergency, so it is `major` (as
# eslint-formatter-gitlab maps ESLint errors); `critical` and `blocker` stay free for that.
SEVERITY: dict[Severity, str] = {
    Severity.ERROR: "major",
    Severity.WARNING: "minor",
    Severity.INFO: "info",
}


def unique_fingerprints(findings: list[Finding]) -> list[str]:
    """One fingerprint per finding, in order, unique within the list.

    The first finding with a fingerprint keeps `finding.fingerprint`; the n-th repeat (n >= 1)
    gets a hash of that fingerprint and n. Findings with equal fingerprints are identical in
    everything the fingerprint covers, so which one is "first" does not matter, and the result
    stays independent of line numbers.
    """
    taken: set[str] = set()
    repeats: dict[str, int] = {}
    result: list[str] = []
    for finding in findings:
        base = finding.fingerprint
        candidate = base
        while candidate in taken:
            repeats[base] = repeats.get(base, 0) + 1
            candidate = hashlib.sha256(f"{base}:{repeats[base]}".encode()).hexdigest()[:32]
        taken.add(candidate)
        result.append(candidate)
    return result


def description(finding: Finding) -> str:
    """The message, then the hint (GitLab shows only this text beside the location)."""
    return f"{finding.message} (hint: {finding.hint})" if finding.hint else finding.message


def issues(result: Result) -> list[dict]:
    # A finding about no file in particular (an internal error, a repository with nothing to
    # check) has no place in a diff: GitLab cannot link it. The job log and the other reports
    # carry it, and it still sets the exit code.
    findings = [f for f in result.sorted_findings() if f.path not in ("", ".")]
    entries = []
    for finding, fingerprint in zip(findings, unique_fingerprints(findings), strict=True):
        entries.append({
            "type": "issue",
            "engine_name": "wavegate",
            "description": description(finding),
            "check_name": finding.rule,
            "fingerprint": fingerprint,
            "severity": SEVERITY[finding.severity],
            "location": {"path": finding.path, "lines": {"begin": finding.line}},
        })
    return entries


def render(result: Result, *, color: bool = False) -> str:  # no colour in JSON
    return json.dumps(issues(result), indent=2, ensure_ascii=False) + "\n"
