"""Policy exceptions and how they apply: a repository's (`exceptions:` in .wavegate.yaml) and the
policy owners' (`spec.exceptions.granted` of the PolicySet in the policy directory).

An exception names a policy, one resource (kind, name, optionally namespace), why, who approved
it and the last day it applies. A matching exception that counts turns the violation into an
info finding that names the exception. One that does not count leaves the violation an error and
is itself a finding: expired (`expires` has passed), too long (a repository's exception expires
further ahead than the policy set's `maxLifetimeDays`), unapproved (a merge-request pipeline in
which the exception is new or changed and no member of the policy set's approvers group approved
the merge request; see policy.review). Outside a merge-request pipeline a repository's exception
counts, with an info finding that its approval was not checked. A policy annotated
`wavegate.dev/non-exceptable: "true"` refuses exceptions; an exception naming a policy that is not
loaded is a warning.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from pathlib import Path

from wavegate.argocd.application import canonical_repo_url
from wavegate.findings import Finding
from wavegate.load import Manifest, read_yaml
from wavegate.policy.evaluate import Violation
from wavegate.policy.model import PolicySet
from wavegate.policy.review import Review
from wavegate.policy.rules import (
    EXCEPTION_APPLIED,
    EXCEPTION_EXPIRED,
    EXCEPTION_REFUSED,
    EXCEPTION_TOO_LONG,
    EXCEPTION_UNAPPROVED,
    EXCEPTION_UNKNOWN,
    EXCEPTION_UNVERIFIED,
    VIOLATION,
)
from wavegate.policy.settings import real_date
from wavegate.record import record


@record(frozen=True)
class PolicyException:
    index: int
    policy: str
    kind: str
    name: str
    namespace: str | None
    reason: str
    approved_by: str
    expires: datetime.date | None
    central: bool = False  # granted in the policy set, not written in the repository

    def matches(self, violation: Violation) -> bool:
        m = violation.manifest
        return (self.policy == violation.policy and self.kind == m.kind and self.name == m.name
                and (self.namespace is None or self.namespace == (m.namespace or violation_namespace(violation))))

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and self.expires < today

    @property
    def where(self) -> str:
        return f"the policy set's granted exception {self.index}" if self.central else f".wavegate.yaml exceptions[{self.index}]"

    def describe(self) -> str:
        until = f", expires {self.expires.isoformat()}" if self.expires else ""
        return f"{self.where} ({self.reason!r}, approved by {self.approved_by}{until})"

    @property
    def target(self) -> str:
        return f"policy {self.policy!r} on {self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def violation_namespace(violation: Violation) -> str | None:
    metadata = violation.manifest.data.get("metadata")
    return metadata.get("namespace") if isinstance(metadata, dict) else None


def _exception(index: int, item: dict, central: bool = False) -> PolicyException:
    resource = resource if isinstance(resource := item.get("resource"), dict) else {}
    return PolicyException(
        index=index, policy=str(item.get("policy", "")), kind=str(resource.get("kind", "")),
        name=str(resource.get("name", "")), namespace=resource.get("namespace"), reason=str(item.get("reason", "")),
        approved_by=str(item.get("approvedBy", "")), expires=real_date(item.get("expires")), central=central)


def parse(raw: Iterable) -> list[PolicyException]:
    """Exceptions from the configuration's `exceptions:` list (schema-validated, dates checked)."""
    return [_exception(i, item) for i, item in enumerate(raw or []) if isinstance(item, dict)]


def granted(policies: PolicySet, repo_url: str | None) -> list[PolicyException]:
    """The policy owners' exceptions for this repository (those naming no repository apply to all)."""
    here = canonical_repo_url(repo_url) if repo_url else None
    return [_exception(item["index"], item, central=True) for item in policies.settings.granted
            if not item.get("repository") or (here is not None and (
                here.endswith("/" + item["repository"].strip("/")) or here == item["repository"].strip("/")))]


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
          document: Manifest | None, today: datetime.date | None = None, review: Review | None = None,
          central: Sequence[PolicyException] = ()) -> list[Finding]:
    """Findings for `violations` after the repository's `exceptions` and the policy owners'
    `central` ones, plus findings about the exceptions themselves. `review`: what the merge
    request says about the repository's exceptions (None: not a merge-request pipeline)."""
    today = today or datetime.date.today()
    review = review or Review()
    settings = policies.settings
    findings: list[Finding] = []
    problems: dict[PolicyException, list[Finding]] = {}

    def problem(exception: PolicyException, rule, path: tuple, message: str, hint: str) -> None:
        if exception.central:
            if settings.manifest is None:
                return
            finding = rule.at(settings.manifest, ("spec", "exceptions", "granted", exception.index) + path, message,
                              hint=hint)
            finding = Finding(**{**finding.__dict__, "resource": None})
        else:
            finding = _at(rule, document, ("exceptions", exception.index) + path, message, hint)
        problems.setdefault(exception, []).append(finding)

    counts: dict[PolicyException, bool] = {}
    for exception in [*exceptions, *central]:
        counts[exception] = True
        if exception.policy not in policies.policies:
            problem(exception, EXCEPTION_UNKNOWN, ("policy",),
                    f"{exception.where} names policy {exception.policy!r}, which is not among the policies in use "
                    f"({policies.source})", f"Known policies: {', '.join(sorted(policies.policies)) or 'none'}.")
        if exception.expired(today):
            counts[exception] = False
            problem(exception, EXCEPTION_EXPIRED, ("expires",),
                    f"{exception.where} for {exception.target} ({exception.reason!r}, approved by "
                    f"{exception.approved_by}) expired on {exception.expires}; it no longer applies",
                    "Fix the object and remove the exception, or have it approved again with a new date.")
            continue
        if exception.central:
            continue
        limit = settings.max_lifetime_days
        if exception.expires is not None and (exception.expires - today).days > limit:
            counts[exception] = False
            problem(exception, EXCEPTION_TOO_LONG, ("expires",),
                    f"{exception.where} for {exception.target} expires on {exception.expires.isoformat()}, "
                    f"{(exception.expires - today).days} days from today; the policy set allows at most {limit} days, "
                    f"so it does not apply",
                    f"Set expires to {(today + datetime.timedelta(days=limit)).isoformat()} or earlier.")
            continue
        if review.merge_request is None:
            problem(exception, EXCEPTION_UNVERIFIED, ("approvedBy",),
                    f"{exception.where} for {exception.target} applies, but who approved it was not checked "
                    f"({review.outside or 'not a merge-request pipeline'})",
                    "The merge-request pipeline checks that a member of the policy set's approvers group "
                    "approved the merge request.")
        elif exception.index not in review.unchanged and review.approver is None:
            counts[exception] = False
            problem(exception, EXCEPTION_UNAPPROVED, ("approvedBy",),
                    f"{exception.where} for {exception.target} is new or changed in merge request "
                    f"{review.merge_request}, which {review.problem}; the violation stays an error",
                    review.hint or "Ask a member of the approvers group to approve the merge request, then run "
                                   "the job again.")

    refused: set[PolicyException] = set()
    for violation in violations:
        usable = [e for e in [*exceptions, *central] if counts.get(e) and e.matches(violation)]
        if usable and violation.non_exceptable:
            refused.update(usable)
            usable = []
        if not usable:
            findings.append(violation_finding(violation))
            continue
        exception = usable[0]
        by = (f"; approved in {review.merge_request} by {review.approver}" if not exception.central
              and review.merge_request and exception.index not in review.unchanged else "")
        findings.append(violation_finding(
            violation, EXCEPTION_APPLIED,
            f"{violation.policy}: {violation.message} (excepted by {exception.describe()}{by})",
            hint="Remove the exception once the object complies."))
    for exception in refused:
        problem(exception, EXCEPTION_REFUSED, ("policy",),
                f"policy {exception.policy!r} is non-exceptable (wavegate.dev/non-exceptable: \"true\"); "
                f"{exception.where} for {exception.kind} {exception.name} is ignored",
                "Fix the object; this policy cannot be excepted.")
    for exception in [*exceptions, *central]:
        findings.extend(problems.get(exception, ()))
    return findings
