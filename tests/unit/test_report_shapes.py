"""The text report's shapes for people reading a long list (--quiet, --statistics), control
characters from the repository, and Code Quality entries GitLab can link."""

from __future__ import annotations

import json

from wavegate import report
from wavegate.findings import Finding, ResourceRef, Result, Severity
from wavegate.report import codequality, text

CM = ResourceRef("v1", "ConfigMap", "web", "settings")


def result() -> Result:
    return Result(findings=[
        Finding("sync-wave-not-integer", Severity.ERROR, "sync-wave '1.5' is not a base-10 integer",
                "apps/web/cm.yaml", 7, 35, CM, hint='Write a whole number such as "0".'),
        Finding("sync-wave-not-integer", Severity.ERROR, "sync-wave 'one' is not a base-10 integer",
                "apps/api/cm.yaml", 7, 35, CM, hint='Write a whole number such as "0".'),
        Finding("yaml-duplicate-key", Severity.ERROR, "key 'name' appears twice\nfirst at line 3",
                "apps/web/cm.yaml", 5, 3, CM),
        Finding("argocd-tracking-label-in-git", Severity.WARNING, "tracking label written in Git",
                "apps/web/cm.yaml", 4, 5, CM, hint="Remove it."),
        Finding("catalog-owner", Severity.INFO, "no owner", "catalog-info.yaml", 1, 1),
    ], files=["apps/web/cm.yaml", "apps/api/cm.yaml", "catalog-info.yaml"], resources=3, seconds=0.25)


def test_quiet_is_one_line_per_finding_and_nothing_else():
    lines = text.render(result(), quiet=True).splitlines()
    assert len(lines) == 5
    assert lines[0] == "apps/api/cm.yaml:7:35: error sync-wave-not-integer sync-wave 'one' is not a base-10 integer " \
                       "[ConfigMap web/settings]"
    # A multi-line message is folded onto its line; no hints, no blank lines, no summary.
    assert "key 'name' appears twice first at line 3" in lines[2]
    assert not any("hint:" in line or not line for line in lines)
    assert text.render(Result(), quiet=True) == ""


def test_statistics_count_each_rule_most_frequent_first_then_the_summary_last():
    from wavegate.rules import all_rules

    all_rules()  # the titles come from the catalog
    lines = text.render(result(), statistics=True).splitlines()
    assert lines[0].split() == ["2", "error", "sync-wave-not-integer", *"The sync-wave annotation is not a base-10 "
                                                                        "integer".split()]
    assert [line.split()[2] for line in lines[1:4]] == ["yaml-duplicate-key", "argocd-tracking-label-in-git",
                                                        "catalog-owner"]
    assert lines[-2] == "" and lines[-1] == text.summary(result())
    assert len(lines) == 6 and not any("apps/web" in line for line in lines)


def test_the_summary_is_the_last_line_of_the_full_report():
    assert text.render(result()).splitlines()[-1] == "3 errors, 1 warning, 1 info in 3 files (0.25 s)"


def test_shapes_reach_the_text_report_only():
    assert report.render("text", result(), quiet=True) == text.render(result(), quiet=True)
    assert report.render("json", result(), quiet=True) == report.render("json", result())


def test_control_characters_from_the_repository_are_escaped():
    odd = Result(findings=[
        Finding("yaml-syntax", Severity.ERROR, "invalid YAML", "a\nb.yaml", 1, 1),
        Finding("schema-invalid-type", Severity.ERROR, "value '\x1b[2J' is not a number", "c.yaml", 2, 1,
                ResourceRef("v1", "ConfigMap", None, "x\x1b[31m")),
    ], files=["a\nb.yaml", "c.yaml"])
    for shape in ({}, {"quiet": True}):
        out = text.render(odd, **shape)
        assert "a\\nb.yaml:1:1: error yaml-syntax" in out and "\x1b" not in out
        assert "'\\x1b[2J'" in out and "[ConfigMap x\\x1b[31m]" in out


def test_code_quality_leaves_out_findings_that_name_no_file():
    with_internal = Result(findings=[*result().findings, Finding(
        "internal-error", Severity.ERROR, "check 'x' failed: KeyError: 'y'", ".", 1, 1)])
    entries = json.loads(codequality.render(with_internal))
    assert len(entries) == 5 and all(e["location"]["path"] not in (".", "") for e in entries)
