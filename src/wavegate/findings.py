"""Findings: what every check, the dry-run and promotion report, and what every reporter renders."""

from __future__ import annotations

import enum

from wavegate.record import field, record


class Severity(enum.IntEnum):
    """Ordered so that `a >= b` means "a is at least as serious as b"."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use error, warning or info") from None

    def __str__(self) -> str:
        return self.name.lower()


@record(frozen=True)
class ResourceRef:
    """The Kubernetes identity of the object a finding is about."""

    api_version: str
    kind: str
    namespace: str | None
    name: str | None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    def identity(self) -> str:
        """Group/kind/namespace/name: what stays the same when the object moves or its version changes."""
        return f"{self.group}/{self.kind}/{self.namespace or ''}/{self.name or ''}"

    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name or '<unnamed>'}"

    def as_json(self) -> dict:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


@record(frozen=True)
class Finding:
    """One problem, at the line a person must edit.

    `field` is the dotted path of the offending key inside the document (for example
    `spec.syncPolicy.syncOptions[1]`); with the rule, the file and the resource it makes the
    fingerprint, so the fingerprint survives edits that only move lines.
    """

    rule: str
    severity: Severity
    message: str
    path: str
    line: int = 1
    column: int = 1
    resource: ResourceRef | None = None
    hint: str = ""
    field: str = ""
    # The Application whose sync the finding belongs to (a rendered object's), when there is one.
    application: str | None = None

    @property
    def fingerprint(self) -> str:
        import hashlib  # (only reports that name findings import it: it loads OpenSSL)

        parts = [self.rule, self.path, self.resource.identity() if self.resource else "", self.field, self.message]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def with_severity(self, severity: Severity) -> Finding:
        return Finding(**{**self.__dict__, "severity": severity})

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule, self.message)

    def as_json(self) -> dict:
        found = {
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "resource": self.resource.as_json() if self.resource else None,
            "hint": self.hint,
            "fingerprint": self.fingerprint,
        }
        if self.application is not None:
            found["application"] = self.application
        return found


@record
class Result:
    """What one run produced: the findings, and what was looked at (for summaries and JUnit)."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    resources: int = 0
    seconds: float = 0.0
    tool: str = "validate"

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def counts(self) -> dict[str, int]:
        counts = {str(s): 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[str(finding.severity)] += 1
        return counts

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)
