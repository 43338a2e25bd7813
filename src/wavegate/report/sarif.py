"""SARIF 2.1.0, for `artifacts: reports: sarif:` and any other SARIF consumer.

One run. `tool.driver.rules` describes every rule the results use (title, rationale, the bad and
good example when the rule is declared in the registry); each result points at its rule by id and
index, at the file by a `%SRCROOT%`-relative URI and at the line and column a person must edit,
and carries the line-independent fingerprint as `partialFingerprints["wavegate/v1"]`. The
output is valid against the OASIS 2.1.0 JSON schema (GitLab rejects SARIF that is not).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import wavegate
from wavegate.findings import Finding, ResourceRef, Result, Severity
from wavegate.report.codequality import description, unique_fingerprints
from wavegate.rule_examples import examples as examples_of
from wavegate.rules import REGISTRY

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "wavegate/v1"

# SARIF has no "info" level; `note` is its level for "worth knowing, not a problem".
LEVEL: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}


def _uri(path: str) -> str:
    """A relative URI reference for a repository path (`/`-separated, percent-encoded)."""
    return quote(path.replace("\\", "/"), safe="/")


def _prose(text: str) -> str:
    """Rationales are written as indented triple-quoted prose: reflow each paragraph to one line."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _help(rule) -> dict:
    from wavegate.rule_examples import as_markdown, as_text

    rationale = _prose(rule.rationale)
    examples = examples_of(rule.id)
    if examples is None:
        return {"text": rationale, "markdown": rationale}
    return {"text": f"{rationale}\n\n{as_text(examples)}",
            "markdown": f"{rationale}\n\n" + "\n".join(as_markdown(examples))}


def _descriptor(rule_id: str, first: Finding) -> dict:
    rule = REGISTRY.get(rule_id)
    if rule is None:
        # Not declared (tests, or a rule from a module that was not imported): say what we know.
        return {
            "id": rule_id,
            "shortDescription": {"text": rule_id},
            "defaultConfiguration": {"level": LEVEL[first.severity]},
        }
    descriptor = {
        "id": rule_id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": _prose(rule.rationale) or rule.title},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"tags": [rule.family]} if rule.family else {},
    }
    if rule.rationale or examples_of(rule.id):
        descriptor["help"] = _help(rule)
    if not descriptor["properties"]:
        del descriptor["properties"]
    return descriptor


def _logical_location(ref: ResourceRef) -> dict:
    namespace = f"{ref.namespace}/" if ref.namespace else ""
    return {
        "name": ref.name or "<unnamed>",
        "fullyQualifiedName": f"{ref.api_version}/{ref.kind}/{namespace}{ref.name or '<unnamed>'}",
        "kind": "resource",
    }


def _result(finding: Finding, rule_index: int, fingerprint: str) -> dict:
    location: dict = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": SRCROOT},
            "region": {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1)},
        },
    }
    if finding.resource is not None:
        location["logicalLocations"] = [_logical_location(finding.resource)]
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": description(finding)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }


def log(result: Result) -> dict:
    """The SARIF log as a JSON-ready object."""
    findings = result.sorted_findings()
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.rule, finding)
    rule_ids = sorted(first)
    rule_index = {rule_id: index for index, rule_id in enumerate(rule_ids)}
    rules = [_descriptor(rule_id, first[rule_id]) for rule_id in rule_ids]
    results = [_result(f, rule_index[f.rule], fp) for f, fp in zip(findings, unique_fingerprints(findings), strict=True)]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "wavegate", "version": wavegate.__version__, "rules": rules}},
            "originalUriBaseIds": {
                SRCROOT: {"description": {"text": "The repository root: the PATH wavegate checked."}},
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(result: Result, *, color: bool = False) -> str:  # no colour in JSON
    return json.dumps(log(result), indent=2, ensure_ascii=False) + "\n"
