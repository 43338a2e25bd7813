"""Repository-local policy exceptions (`exceptions:` in .wavegate.yaml) and how they apply.

An exception names a policy, one resource (kind, name, optionally namespace), why, who approved
it and when it expires. A matching, unexpired exception turns the violation into an info finding
that names the exception; an expired one is an error and does not apply; a policy annotated
`wavegate.dev/non-exceptable: "true"` refuses exceptions; an exception naming a policy that is
not loaded is a warning.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from wavegate.findings import Finding
from wavegate.load import Manifest, read_yaml
from wavegate.policy.evaluate import Violation
from wavegate.policy.model import PolicySet
from wavegate.policy.rules import (EXCEPTION_APPLIED, EXCEPTION_EXPIRED, EXCEPTION_REFUSED, EXCEPTION_UNKNOWN,
                                   VIOLATION)


@dataclass(frozen=True)
class PolicyException:
    index: int
    policy: str
    kind: str
    name: str
    namespace: str | None
    reason: str
    approved_by: str
    expires: datetime.date | None

    def matches(self, violation: Violation) -> bool:
        m = violation.manifest
        return (self.policy == violation.policy and self.kind == m.kind and self.name == m.name
                and (self.namespace is None or self.namespace == (m.namespace or violation_namespace(violation))))

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        until = f", expires {self.expires.isoformat()}" if self.expires else ""
        return f"exceptions[{self.index}] ({self.reason!r}, approved by {self.approved_by}{until})"


def violation_namespace(violation: Violation) -> str | None:
    metadata = violation.manifest.data.get("metadata")
    return metadata.get("namespace") if isinstance(metadata, dict) else None


def _date(value) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def parse(raw: Iterable) -> list[PolicyException]:
    """Exceptions from the configuration's `exceptions:` list (already schema-validated)."""
    found = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict):
            continue
        resource = item.get("resource") if isinstance(item.get("resource"), dict) else {}
        found.append(PolicyException(
            index=i, policy=str(item.get("policy", "")), kind=str(resource.get("kind", "")),
            name=str(resource.get("name", "")), namespace=resource.get("namespace"),
            reason=str(item.get("reason", "")), approved_by=str(item.get("approvedBy", "")),
            expires=_date(item.get("expires"))))
    return found


def config_document(config_path: Path | None, root: Path) -> Manifest | None:
    """The configuration file as a positioned document, for findings that point into it."""
    if config_path is None or not Path(config_path).exists():
        return None
    try:
        rel = Path(config_path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        rel = str(config_path)
    documents, _ = read_yaml(config_path, rel=rel)
    return documents[0] if documents else None


def _at(rule, document: Manifest | None, path: tuple, message: str, hint: str = "") -> Finding:
    if document is None:
        return rule.at_file(".wavegate.yaml", message=message, hint=hint)
    finding = rule.at(document, path, message, hint=hint)
    return Finding(**{**finding.__dict__, "resource": None})


def violation_finding(violation: Violation, rule=VIOLATION, message: str | None = None, hint: str | None = None) -> Finding:
    finding = rule.at(violation.manifest, violation.field, message or f"{violation.policy}: {violation.message}",
                      hint=hint if hint is not None else
                      "Fix this field: the API server rejects (Deny) or warns about (Warn) the object when Argo CD "
                      "applies it. If the object is right, ask the policy owners for an exception in .wavegate.yaml.")
    severity = violation.severity if rule is VIOLATION else rule.severity
    return finding if finding.severity == severity else finding.with_severity(severity)


def apply(violations: list[Violation], exceptions: list[PolicyException], policies: PolicySet,
          document: Manifest | None, today: datetime.date | None = None) -> list[Finding]:
    """Findings for `violations` after exceptions, plus findings about the exceptions themselves."""
    today = today or datetime.date.today()
    findings: list[Finding] = []
    refused: set[int] = set()
    for violation in violations:
        matching = [e for e in exceptions if e.matches(violation)]
        usable = [e for e in matching if not e.expired(today)]
        if usable and violation.non_exceptable:
            refused.update(e.index for e in usable)
            usable = []
        if usable:
            exception = usable[0]
            findings.append(violation_finding(
                violation, EXCEPTION_APPLIED,
                f"{violation.policy}: {violation.message} (excepted by .wavegate.yaml {exception.describe()})",
                hint="Remove the exception once the object complies."))
        else:
            findings.append(violation_finding(violation))
    for exception in exceptions:
        base = ("exceptions", exception.index)
        if exception.policy not in policies.policies:
            findings.append(_at(EXCEPTION_UNKNOWN, document, base + ("policy",),
                                f"exception {exception.index} names policy {exception.policy!r}, which is not among "
                                f"the policies in use ({policies.source})",
                                hint=f"Known policies: {', '.join(sorted(policies.policies)) or 'none'}."))
        if exception.expired(today):
            findings.append(_at(EXCEPTION_EXPIRED, document, base + ("expires",),
                                f"exception {exception.index} for policy {exception.policy!r} on {exception.kind} "
                                f"{exception.name} expired on {exception.expires.isoformat()}; it no longer applies",
                                hint="Fix the object and remove the exception, or have it re-approved with a new date."))
        if exception.index in refused:
            findings.append(_at(EXCEPTION_REFUSED, document, base + ("policy",),
                                f"policy {exception.policy!r} is non-exceptable (wavegate.dev/non-exceptable: \"true\"); "
                                f"exception {exception.index} for {exception.kind} {exception.name} is ignored",
                                hint="Fix the object; this policy cannot be excepted."))
    return findings
