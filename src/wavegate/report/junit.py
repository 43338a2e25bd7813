"""JUnit XML for GitLab's `artifacts: reports: junit:` (the MR widget and the pipeline Tests tab).

Shape (what GitLab's parser reads: testsuites > testsuite > testcase > failure | system-out):

    <testsuites name="wavegate" tests="2" failures="1" errors="0" skipped="0" time="0.120">
      <testsuite name="wavegate validate" tests="2" failures="1" errors="0" skipped="0" time="0.120">
        <testcase classname="apps/web/app.yaml" name="rule-id: Application argocd/web at spec.source.path" time="0.060">
          <failure message="..." type="rule-id">apps/web/app.yaml:12:5 ...</failure>
        </testcase>

- One testcase per finding. Errors and warnings are `<failure>`s; info findings are passing
  testcases whose details are in `<system-out>`.
- Every testcase carries `time` (an even share of the run's seconds; wavegate does not time
  single findings), because GitLab and other readers expect it.
- GitLab keys testcases by suite, classname and name and silently keeps only one of a duplicate
  key, so a repeated name gets a ` (2)`, ` (3)`, ... suffix.
- With no findings: one passing testcase per file checked (or one for the run when no file was),
  so the MR widget shows that the gate ran and passed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wavegate.findings import Finding, Result, Severity
from wavegate.regex import lazy_compile

FAILING = frozenset({Severity.ERROR, Severity.WARNING})

# Characters XML 1.0 cannot carry at all, even escaped; ElementTree would write them as-is.
_INVALID_XML = lazy_compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _details(finding: Finding) -> str:
    lines = [
        f"{finding.path}:{finding.line}:{finding.column}",
        f"{finding.severity} {finding.rule}: {finding.message}",
    ]
    if finding.resource is not None:
        lines.append(f"resource: {finding.resource.display()} ({finding.resource.api_version})")
    if finding.hint:
        lines.append(f"hint: {finding.hint}")
    return _clean("\n".join(lines))


def _case_name(finding: Finding) -> str:
    # No line number: GitLab matches test cases between pipelines by name, so a finding whose
    # line moved must keep its name or it shows as one fixed and one new failure.
    name = finding.rule
    if finding.resource is not None:
        name += f": {finding.resource.display()}"
    if finding.field:
        name += f" at {finding.field}"
    return name


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def render(result: Result, *, color: bool = False) -> str:  # no colour in XML
    suite_name = f"wavegate {result.tool}"
    findings = result.sorted_findings()

    cases: list[tuple[str, str, Finding | None]] = []  # (classname, name, finding)
    if findings:
        seen: dict[tuple[str, str], int] = {}
        for finding in findings:
            name = _case_name(finding)
            occurrence = seen.get((finding.path, name), 0) + 1
            seen[(finding.path, name)] = occurrence
            if occurrence > 1:
                name = f"{name} ({occurrence})"
            cases.append((finding.path, name, finding))
    else:
        files = sorted(set(result.files))
        cases = [(path, suite_name, None) for path in files] or [("wavegate", suite_name, None)]

    failures = sum(1 for f in findings if f.severity in FAILING)
    share = result.seconds / len(cases)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "skipped": "0",
        "time": _seconds(result.seconds),
    }

    root = ET.Element("testsuites", {"name": "wavegate", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, **counts})
    for classname, name, case_finding in cases:
        case = ET.SubElement(suite, "testcase", {
            "classname": _clean(classname),
            "name": _clean(name),
            "time": _seconds(share),
        })
        if case_finding is None:
            continue
        if case_finding.severity in FAILING:
            failure = ET.SubElement(case, "failure", {
                "message": _clean(f"{case_finding.severity}: {case_finding.message}"),
                "type": _clean(case_finding.rule),
            })
            failure.text = _details(case_finding)
        else:
            ET.SubElement(case, "system-out").text = _details(case_finding)

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
