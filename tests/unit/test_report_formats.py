"""The reporters: each format checked against what its reader (a person, a script, GitLab) needs.

Code Quality and SARIF are validated against the reference schemas in `../shared/reference/`
(tests.helpers.shared: without ../shared those tests are skipped with the reason; in CI they fail).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest

import wavegate
from tests.helpers import shared
from wavegate import report, rule_examples
from wavegate.findings import Finding, ResourceRef, Result, Severity
from wavegate.record import replace
from wavegate.report import codequality, json_report, junit, sarif, text
from wavegate.rules import REGISTRY, Rule

CODECLIMATE_SCHEMA = ("reference", "schemas", "gitlab", "codeclimate.json")
SARIF_SCHEMA = ("reference", "schemas", "sarif", "sarif-schema-2.1.0.json")

ANSI = re.compile(r"\x1b\[[0-9;]*m")

APP = ResourceRef("argoproj.io/v1alpha1", "Application", "argocd", "web")
NS = ResourceRef("v1", "Namespace", None, "web")


def load_schema(parts: tuple[str, ...]) -> dict:
    return json.loads(shared(*parts).read_text())


def sample() -> Result:
    return Result(
        findings=[
            Finding("argocd-sync-wave", Severity.ERROR, "Application syncs before its namespace",
                    "apps/web/application.yaml", 12, 5, APP, hint='set argocd.argoproj.io/sync-wave to "2"',
                    field="metadata.annotations"),
            Finding("yaml-duplicate-key", Severity.WARNING, "duplicate key 'name'",
                    "apps/web/application.yaml", 4, 3, APP),
            Finding("catalog-owner", Severity.INFO, "catalog-info.yaml has no spec.owner",
                    "catalog-info.yaml", 7, 1, None, hint="add spec.owner: group:platform"),
            Finding("ns-label", Severity.ERROR, "namespace lacks team label", "apps/web/namespace.yaml",
                    3, 1, NS, field="metadata.labels"),
        ],
        files=["catalog-info.yaml", "apps/web/namespace.yaml", "apps/web/application.yaml", "README.yaml"],
        resources=5,
        seconds=0.1234,
    )


def moved(result: Result, by: int) -> Result:
    """The same findings with every line (and column) shifted, as after edits elsewhere in the files."""
    return replace(result, findings=[
        replace(f, line=f.line + by, column=f.column + 1) for f in result.findings])


def duplicates() -> Result:
    """Two findings identical in everything but the line: same fingerprint."""
    first = Finding("argocd-sync-option", Severity.WARNING, "unknown sync option",
                    "apps/web/application.yaml", 20, 7, APP, field="spec.syncPolicy.syncOptions")
    second = replace(first, line=22)
    third = replace(first, line=24)
    assert first.fingerprint == second.fingerprint == third.fingerprint
    return Result(findings=[third, first, second], files=["apps/web/application.yaml"], resources=1, seconds=0.01)


def empty() -> Result:
    return Result(findings=[], files=["b.yaml", "a.yaml"], resources=2, seconds=0.05)


# ---------------------------------------------------------------------------------------------
# dispatch


def test_formats_are_the_cli_contract():
    assert report.FORMATS == ("text", "json", "junit", "codequality", "sarif")


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_dispatch_matches_each_renderer(fmt):
    modules = {"text": text, "json": json_report, "junit": junit, "codequality": codequality, "sarif": sarif}
    assert report.render(fmt, sample()) == modules[fmt].render(sample())


def test_unknown_format_names_the_valid_ones():
    with pytest.raises(ValueError) as excinfo:
        report.render("html", sample())
    message = str(excinfo.value)
    assert "'html'" in message
    for fmt in report.FORMATS:
        assert fmt in message


@pytest.mark.parametrize("fmt", ["json", "junit", "codequality", "sarif"])
def test_machine_formats_never_contain_colour(fmt):
    assert not ANSI.search(report.render(fmt, sample(), color=True))
    assert report.render(fmt, sample(), color=True) == report.render(fmt, sample(), color=False)


# ---------------------------------------------------------------------------------------------
# text


def test_text_lines_grouped_by_sorted_file_and_line():
    out = text.render(sample())
    finding_lines = [line for line in out.splitlines() if re.match(r"^\S+:\d+:\d+: ", line)]
    assert finding_lines == [
        "apps/web/application.yaml:4:3: warning yaml-duplicate-key duplicate key 'name' [Application argocd/web]",
        "apps/web/application.yaml:12:5: error argocd-sync-wave Application syncs before its namespace"
        " [Application argocd/web]",
        "apps/web/namespace.yaml:3:1: error ns-label namespace lacks team label [Namespace web]",
        "catalog-info.yaml:7:1: info catalog-owner catalog-info.yaml has no spec.owner",
    ]
    # Files are separated by a blank line; findings of one file are not.
    blocks = out.rstrip("\n").split("\n\n")
    assert [block.splitlines()[0].split(":")[0] for block in blocks[:-1]] == [
        "apps/web/application.yaml", "apps/web/namespace.yaml", "catalog-info.yaml"]
    assert len(blocks[0].splitlines()) == 3  # two findings and one hint


def test_text_hint_is_indented_under_its_finding():
    lines = text.render(sample()).splitlines()
    index = next(i for i, line in enumerate(lines) if "argocd-sync-wave" in line)
    assert lines[index + 1] == '    hint: set argocd.argoproj.io/sync-wave to "2"'
    # no hint line for a finding without a hint
    index = next(i for i, line in enumerate(lines) if "yaml-duplicate-key" in line)
    assert not lines[index + 1].lstrip().startswith("hint:")


def test_text_summary_counts_files_and_time():
    out = text.render(sample())
    assert out.endswith("\n")
    assert out.splitlines()[-1] == "2 errors, 1 warning, 1 info in 4 files (0.12 s)"


def test_text_summary_singular_and_no_findings():
    one = Result(findings=[Finding("r", Severity.ERROR, "m", "a.yaml")], files=["a.yaml"], seconds=1)
    assert text.render(one).splitlines()[-1] == "1 error, 0 warnings, 0 info in 1 file (1.00 s)"
    assert text.render(empty()) == "No findings in 2 files (0.05 s)\n"
    assert text.render(Result()) == "No findings in 0 files (0.00 s)\n"


def test_text_colour_only_when_asked():
    plain = text.render(sample())
    coloured = text.render(sample(), color=True)
    assert not ANSI.search(plain)
    assert "\x1b[1;31merror\x1b[0m" in coloured
    assert "\x1b[33mwarning\x1b[0m" in coloured
    assert "\x1b[36minfo\x1b[0m" in coloured
    # Stripping the codes gives exactly the plain report.
    assert ANSI.sub("", coloured) == plain
    assert ANSI.search(text.render(empty(), color=True))
    assert not ANSI.search(text.render(empty(), color=False))


def test_text_multiline_message_stays_in_its_block():
    result = Result(findings=[Finding("r", Severity.ERROR, "first\nsecond", "a.yaml", 2, 1, hint="h1\nh2")])
    assert text.render(result).splitlines()[:4] == [
        "a.yaml:2:1: error r first", "    second", "    hint: h1", "    h2"]


# ---------------------------------------------------------------------------------------------
# json


def test_json_matches_design_contract_key_for_key():
    out = json_report.render(sample())
    assert out.endswith("}\n")
    assert out.startswith('{\n  "version": 1,\n  "findings": [\n    {\n      "rule"')  # 2-space indent
    doc = json.loads(out)
    assert list(doc) == ["version", "findings", "summary"]
    assert doc["version"] == 1
    assert doc["summary"] == {"errors": 2, "warnings": 1, "infos": 1, "files": 4, "resources": 5,
                              "seconds": pytest.approx(0.123, abs=1e-3)}
    assert list(doc["summary"]) == ["errors", "warnings", "infos", "files", "resources", "seconds"]
    keys = ["rule", "severity", "message", "path", "line", "column", "resource", "hint", "fingerprint"]
    for item in doc["findings"]:
        assert list(item) == keys
        assert item["severity"] in {"error", "warning", "info"}
        assert item["resource"] is None or list(item["resource"]) == ["apiVersion", "kind", "namespace", "name"]
    assert doc["findings"] == [f.as_json() for f in sample().sorted_findings()]
    first = doc["findings"][0]
    assert (first["path"], first["line"], first["column"], first["rule"]) == \
        ("apps/web/application.yaml", 4, 3, "yaml-duplicate-key")
    assert first["resource"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                                 "namespace": "argocd", "name": "web"}


def test_json_empty():
    doc = json.loads(json_report.render(empty()))
    assert doc == {"version": 1, "findings": [],
                   "summary": {"errors": 0, "warnings": 0, "infos": 0, "files": 2, "resources": 2,
                               "seconds": 0.05}}


# ---------------------------------------------------------------------------------------------
# junit


def parse_junit(out: str) -> ET.Element:
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(out.encode())


def test_junit_structure_gitlab_reads():
    result = sample()
    root = parse_junit(junit.render(result))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "wavegate validate"
    cases = suite.findall("testcase")
    assert len(cases) == len(result.findings) == int(suite.get("tests"))
    assert suite.get("errors") == "0" and suite.get("skipped") == "0"
    assert float(suite.get("time")) == pytest.approx(0.123, abs=1e-3)
    for case in cases:
        assert case.get("time") is not None, ET.tostring(case)
        float(case.get("time"))
        assert case.get("classname") and case.get("name")
    # failures = error + warning findings; info is a passing testcase with system-out
    failing = [c for c in cases if c.find("failure") is not None]
    counts = result.counts()
    assert len(failing) == counts["error"] + counts["warning"] == int(suite.get("failures")) == 3
    assert int(root.get("failures")) == 3 and int(root.get("tests")) == 4
    info = [c for c in cases if c.find("system-out") is not None]
    assert len(info) == 1 and info[0].find("failure") is None
    assert info[0].get("classname") == "catalog-info.yaml"
    assert "hint: add spec.owner: group:platform" in info[0].find("system-out").text
    # no element GitLab would read as error or skipped
    assert root.find(".//error") is None and root.find(".//skipped") is None


def test_junit_failure_names_rule_location_and_hint():
    root = parse_junit(junit.render(sample()))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("argocd-sync-wave"))
    assert case.get("classname") == "apps/web/application.yaml"
    # the name carries no line: GitLab matches cases across pipelines by name
    assert case.get("name") == "argocd-sync-wave: Application argocd/web at metadata.annotations"
    failure = case.find("failure")
    assert failure.get("type") == "argocd-sync-wave"
    assert "Application syncs before its namespace" in failure.get("message")
    body = failure.text
    assert "apps/web/application.yaml:12:5" in body
    assert "Application syncs before its namespace" in body
    assert 'hint: set argocd.argoproj.io/sync-wave to "2"' in body


def test_junit_testcase_times_add_up_to_the_run():
    root = parse_junit(junit.render(sample()))
    times = [float(c.get("time")) for c in root.iter("testcase")]
    assert sum(times) == pytest.approx(0.1234, abs=0.005)


def test_junit_duplicate_case_names_are_made_unique():
    """GitLab keys testcases by classname + name and keeps only one per key."""
    result = duplicates()
    result.findings.append(replace(result.findings[0], message="another option"))  # same line 24
    root = parse_junit(junit.render(result))
    keys = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(keys) == len(set(keys)) == 4


def test_junit_escapes_markup_and_control_characters():
    finding = Finding("r", Severity.ERROR, 'value "<a>" & \x07bell', "dir/x&y.yaml", 1, 1, hint="use ]]> carefully")
    root = parse_junit(junit.render(Result(findings=[finding], files=["dir/x&y.yaml"])))
    case = root.find("testsuite/testcase")
    assert case.get("classname") == "dir/x&y.yaml"
    assert 'value "<a>" & \\x07bell' in case.find("failure").text
    assert "use ]]> carefully" in case.find("failure").text


def test_junit_no_findings_one_passing_case_per_file():
    root = parse_junit(junit.render(empty()))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("a.yaml", "wavegate validate"), ("b.yaml", "wavegate validate")]
    assert all(c.get("time") is not None and len(c) == 0 for c in cases)
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


def test_junit_no_files_one_passing_case_and_tool_name():
    root = parse_junit(junit.render(Result(tool="dry-run")))
    suite = root.find("testsuite")
    assert suite.get("name") == "wavegate dry-run"
    cases = suite.findall("testcase")
    assert len(cases) == 1 and cases[0].get("name") == "wavegate dry-run" and cases[0].get("time") is not None
    assert suite.get("tests") == "1" and suite.get("failures") == "0"


# ---------------------------------------------------------------------------------------------
# codequality


REQUIRED_CODEQUALITY = ("description", "check_name", "fingerprint", "severity")


def assert_valid_codequality(out: str) -> list[dict]:
    schema = load_schema(CODECLIMATE_SCHEMA)
    entries = json.loads(out)
    assert isinstance(entries, list)
    validator = jsonschema.Draft7Validator(schema)
    for entry in entries:
        errors = list(validator.iter_errors(entry))
        assert not errors, errors
        for key in REQUIRED_CODEQUALITY:
            assert isinstance(entry[key], str) and entry[key], (key, entry)
        assert isinstance(entry["location"]["path"], str) and entry["location"]["path"]
        assert isinstance(entry["location"]["lines"]["begin"], int)
        assert entry["severity"] in {"info", "minor", "major", "critical", "blocker"}
    fingerprints = [e["fingerprint"] for e in entries]
    assert len(fingerprints) == len(set(fingerprints)), "GitLab collapses duplicate fingerprints"
    return entries


def test_codequality_valid_and_complete():
    result = sample()
    entries = assert_valid_codequality(codequality.render(result))
    assert len(entries) == 4
    by_rule = {e["check_name"]: e for e in entries}
    wave = by_rule["argocd-sync-wave"]
    assert wave["severity"] == "major"
    assert wave["location"] == {"path": "apps/web/application.yaml", "lines": {"begin": 12}}
    assert wave["description"].startswith("Application syncs before its namespace")
    assert 'set argocd.argoproj.io/sync-wave to "2"' in wave["description"]
    assert by_rule["yaml-duplicate-key"]["severity"] == "minor"
    assert by_rule["catalog-owner"]["severity"] == "info"
    assert by_rule["yaml-duplicate-key"]["description"] == "duplicate key 'name'"
    # Unique findings keep their own fingerprint, the one the JSON report shows.
    assert {e["fingerprint"] for e in entries} == {f.fingerprint for f in result.findings}


def test_codequality_severity_mapping_is_total():
    assert codequality.SEVERITY == {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def test_codequality_duplicate_fingerprints_made_unique_deterministically():
    result = duplicates()
    entries = assert_valid_codequality(codequality.render(result))
    assert len(entries) == 3
    base = result.findings[0].fingerprint
    assert entries[0]["fingerprint"] == base  # the first keeps the finding's own fingerprint
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["fingerprint"]) for e in entries)
    # Deterministic: input order does not matter, and rendering twice gives the same.
    reordered = replace(result, findings=list(reversed(result.findings)))
    assert codequality.render(reordered) == codequality.render(result)
    # Stable when the lines move.
    again = json.loads(codequality.render(moved(result, 9)))
    assert [e["fingerprint"] for e in again] == [e["fingerprint"] for e in entries]


def test_codequality_empty_is_an_empty_array():
    assert json.loads(codequality.render(empty())) == []
    assert_valid_codequality(codequality.render(Result()))


# ---------------------------------------------------------------------------------------------
# sarif


def assert_valid_sarif(out: str) -> dict:
    schema = load_schema(SARIF_SCHEMA)
    doc = json.loads(out)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return doc


def test_sarif_valid_and_complete():
    result = sample()
    doc = assert_valid_sarif(sarif.render(result))
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "wavegate" and driver["version"] == wavegate.__version__
    assert "%SRCROOT%" in run["originalUriBaseIds"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert sorted(rule_ids) == sorted({f.rule for f in result.findings})
    assert len(run["results"]) == 4
    levels = {}
    for item in run["results"]:
        assert driver["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert item["partialFingerprints"]["wavegate/v1"]
        levels[item["ruleId"]] = item["level"]
    assert levels == {"argocd-sync-wave": "error", "ns-label": "error", "yaml-duplicate-key": "warning",
                      "catalog-owner": "note"}
    wave = next(r for r in run["results"] if r["ruleId"] == "argocd-sync-wave")
    assert wave["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "apps/web/application.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12, "startColumn": 5},
    }
    assert wave["message"]["text"].startswith("Application syncs before its namespace")
    assert 'sync-wave to "2"' in wave["message"]["text"]
    assert wave["partialFingerprints"] == {"wavegate/v1": result.findings[0].fingerprint}
    assert wave["locations"][0]["logicalLocations"][0]["name"] == "web"
    # An unregistered rule still gets a descriptor with a level.
    unregistered = driver["rules"][rule_ids.index("catalog-owner")]
    assert unregistered["defaultConfiguration"]["level"] == "note"
    assert unregistered["shortDescription"]["text"]


def test_sarif_rule_help_from_the_registry(monkeypatch):
    from wavegate.rules import all_rules

    all_rules()
    examples = rule_examples.examples("sync-wave-not-integer")  # files in wavegate/data/rule-examples/
    rule = Rule(id="argocd-sync-wave", severity=Severity.ERROR, title="Sync waves follow dependencies",
                rationale="Argo CD applies lower waves first.", family="argocd")
    monkeypatch.setitem(REGISTRY, rule.id, rule)
    real = sarif.examples_of
    monkeypatch.setattr(sarif, "examples_of", lambda rule_id: examples if rule_id == rule.id else real(rule_id))
    doc = assert_valid_sarif(sarif.render(sample()))
    descriptor = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == rule.id)
    assert descriptor["shortDescription"] == {"text": rule.title}
    assert descriptor["fullDescription"] == {"text": rule.rationale}
    assert descriptor["defaultConfiguration"] == {"level": "error"}
    bad = examples.bad.files[0].text.rstrip("\n")
    good = examples.good.files[0].text.rstrip("\n")
    assert bad != good and bad in descriptor["help"]["markdown"] and good in descriptor["help"]["markdown"]
    assert "configmap.yaml:6" in descriptor["help"]["text"]  # where the bad example's finding points
    assert "```yaml" in descriptor["help"]["markdown"]


def test_sarif_reflows_indented_rationale(monkeypatch):
    """Rationales come from indented triple-quoted strings; SARIF viewers should not show the indent."""
    rule = Rule(id="ns-label", severity=Severity.ERROR, title="Namespaces carry a team label",
                rationale="The label routes alerts.\n    Without it nobody is paged.\n\n    Second paragraph.", family="")
    monkeypatch.setitem(REGISTRY, rule.id, rule)
    doc = assert_valid_sarif(sarif.render(sample()))
    descriptor = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == rule.id)
    assert descriptor["fullDescription"]["text"] == \
        "The label routes alerts. Without it nobody is paged.\n\nSecond paragraph."
    assert descriptor["help"]["text"] == descriptor["fullDescription"]["text"]  # no example folder: the rationale
    assert "properties" not in descriptor  # no family, no empty tags


def test_sarif_uri_is_percent_encoded_relative_reference():
    result = Result(findings=[Finding("r", Severity.WARNING, "m", "apps/my app/x#1.yaml", 3, 2)])
    doc = assert_valid_sarif(sarif.render(result))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "apps/my%20app/x%231.yaml"


def test_sarif_duplicates_keep_distinct_fingerprints():
    doc = assert_valid_sarif(sarif.render(duplicates()))
    prints = [r["partialFingerprints"]["wavegate/v1"] for r in doc["runs"][0]["results"]]
    assert len(prints) == len(set(prints)) == 3
    cq = [e["fingerprint"] for e in json.loads(codequality.render(duplicates()))]
    assert prints == cq


def test_sarif_empty_run():
    doc = assert_valid_sarif(sarif.render(empty()))
    run = doc["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


# ---------------------------------------------------------------------------------------------
# across formats


def test_fingerprints_do_not_depend_on_line_numbers():
    before, after = sample(), moved(sample(), 40)
    assert [f.line for f in before.findings] != [f.line for f in after.findings]

    def codequality_prints(result):
        return sorted(e["fingerprint"] for e in json.loads(codequality.render(result)))

    def sarif_prints(result):
        doc = json.loads(sarif.render(result))
        return sorted(r["partialFingerprints"]["wavegate/v1"] for r in doc["runs"][0]["results"])

    def json_prints(result):
        return sorted(f["fingerprint"] for f in json.loads(json_report.render(result))["findings"])

    assert codequality_prints(before) == codequality_prints(after)
    assert sarif_prints(before) == sarif_prints(after)
    assert json_prints(before) == json_prints(after)
    assert codequality_prints(before) == sarif_prints(before) == json_prints(before)
    # ...while the reports do show the new lines.
    assert json.loads(codequality.render(after))[0]["location"]["lines"]["begin"] != \
        json.loads(codequality.render(before))[0]["location"]["lines"]["begin"]


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_every_format_renders_an_empty_result(fmt):
    for result in (empty(), Result()):
        out = report.render(fmt, result)
        assert out.endswith("\n")
        if fmt == "json":
            assert json.loads(out)["findings"] == []
        elif fmt == "codequality":
            assert json.loads(out) == []
        elif fmt == "sarif":
            assert_valid_sarif(out)
        elif fmt == "junit":
            assert parse_junit(out).find("testsuite").get("failures") == "0"
        else:
            assert out.startswith("No findings in ")


def test_reporters_are_pure():
    result = sample()
    snapshot = replace(result, findings=list(result.findings))
    for fmt in report.FORMATS:
        assert report.render(fmt, result) == report.render(fmt, result)
    assert result == snapshot
