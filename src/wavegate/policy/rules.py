"""The rules of the policy family. Declared here so the engine, the validator and `wavegate policy
test` share them; `wavegate.validators.policy` imports this module, so `wavegate rules` lists them.

Decision: every violation of every policy is one generic rule, `policy-violation`, and the message
starts with the policy's name. The set of rule ids stays fixed whatever policy directory is in
use, so `wavegate explain`, SARIF rule tables and Code Quality keys stay stable, and no policy
directory can register, shadow or collide with a built-in rule. The policy, binding and the
API server's exact message are kept on each `Violation`.
"""

from __future__ import annotations

from wavegate.rules import declare

_F = "policy"

VIOLATION = declare(
    "policy-violation", "error", "An object violates a ValidatingAdmissionPolicy",
    """The security policies (ValidatingAdmissionPolicy + binding) are evaluated offline, exactly as
    the API server will evaluate them when Argo CD applies the object: a Deny binding makes this an
    error (the sync would fail), Warn a warning, Audit an info. The message starts with the policy's
    name and is the policy's own message. Fix the object; if the object is right and the policy is
    wrong for it, ask the policy owners for an exception in .wavegate.yaml (policy, resource, reason,
    approvedBy, expires).""",
    "kind: Application\nspec:\n  project: default",
    "kind: Application\nspec:\n  project: web-project", _F, configurable=False)
UNSUPPORTED = declare(
    "policy-unsupported", "error", "A policy uses CEL that wavegate cannot evaluate offline",
    """A policy expression that does not compile here (an unknown function or variable, such as
    `authorizer`, or a type error) cannot be evaluated, so the policy would silently pass every
    object. wavegate reports it instead, at the expression. Rewrite the expression with the
    supported CEL libraries, or report the missing function.""",
    "validations:\n  - expression: authorizer.requestResource.check('create').allowed()",
    "validations:\n  - expression: object.spec.project != 'default'", _F, configurable=False)
INVALID = declare(
    "policy-invalid", "error", "A policy, binding or parameter is malformed",
    """A ValidatingAdmissionPolicy or binding the API server would reject or ignore (no
    matchConstraints.resourceRules, a binding without validationActions or naming a policy that
    does not exist, a policy nothing binds, a syntax error in an expression) protects nothing.""",
    "kind: ValidatingAdmissionPolicyBinding\nspec:\n  policyName: no-such-policy",
    "kind: ValidatingAdmissionPolicyBinding\nspec:\n  policyName: app-project-not-default\n"
    "  validationActions: [Deny]", _F, configurable=False)
EXCEPTION_APPLIED = declare(
    "policy-exception-applied", "info", "A policy violation is excepted in .wavegate.yaml",
    """An approved, unexpired exception in .wavegate.yaml covers this violation. It is reported so
    that exceptions stay visible in every merge request until they expire or are removed.""",
    "exceptions: []   # and a violation",
    "exceptions:\n  - policy: app-project-not-default\n    resource: {kind: Application, name: web}\n"
    "    reason: migration\n    approvedBy: security@example.com\n    expires: 2026-12-31", _F, configurable=False)
EXCEPTION_EXPIRED = declare(
    "policy-exception-expired", "error", "A policy exception has expired",
    """Exceptions are temporary by design: after `expires` the exception no longer applies and the
    violation it covered is reported again. Fix the object and remove the exception, or have it
    re-approved with a new date.""",
    "exceptions:\n  - policy: app-project-not-default\n    expires: 2020-01-31   # in the past",
    "exceptions: []   # the object was fixed", _F, configurable=False)
EXCEPTION_TOO_LONG = declare(
    "policy-exception-too-long", "error", "A policy exception expires further ahead than the policy set allows",
    """The policy owners limit how far ahead a repository's exception may expire
    (`spec.exceptions.maxLifetimeDays` of the PolicySet in the policy directory, 90 days unless they
    set another), so that every exception is looked at again. A longer one does not apply and the
    violation stays. Choose an earlier date; to extend it, have it approved again before it expires.""",
    "exceptions:\n  - policy: pod-security-restricted\n    expires: 2031-12-31   # years ahead",
    "exceptions:\n  - policy: pod-security-restricted\n    expires: 2027-03-31   # within 90 days", _F,
    configurable=False)
EXCEPTION_UNAPPROVED = declare(
    "policy-exception-unapproved", "error", "A new or changed exception is not approved by the policy set's approvers",
    """In a merge-request pipeline an exception that the merge request adds or changes in
    .wavegate.yaml counts only when the merge request is approved by a member of the approvers group
    the policy set names (`spec.exceptions.approvers`), someone other than its author: anyone can
    write `approvedBy:`, only the approvers can approve. Until then the violation stays an error.
    Ask a member of the group to approve the merge request, then run the job again. Exceptions kept
    in the central policy repository need no approval here.""",
    "exceptions:\n  - policy: pod-security-restricted\n    approvedBy: security@example.com   # nobody approved the MR",
    "# the merge request is approved by a member of the approvers group, e.g. platform/security", _F,
    configurable=False)
EXCEPTION_UNVERIFIED = declare(
    "policy-exception-unverified", "info", "A policy exception applies but its approval was not checked",
    """Outside a merge-request pipeline (on a developer's machine, on a branch pipeline) wavegate
    cannot see who approved the merge request, so a repository's exception is honoured and this
    says so. The merge-request pipeline checks the approval.""",
    "# wavegate validate on a laptop, with an exception in .wavegate.yaml",
    "# the same exception, in a merge-request pipeline, approved by a member of the approvers group", _F,
    configurable=False)
EXCEPTION_REFUSED = declare(
    "policy-exception-refused", "warning", "An exception names a policy that cannot be excepted",
    """A policy annotated `wavegate.dev/non-exceptable: "true"` guards something no single
    repository may opt out of; an exception for it is ignored and the violation stays.""",
    "exceptions:\n  - policy: no-cluster-admin-binding   # non-exceptable",
    "exceptions: []   # bind a narrower role instead", _F, configurable=False)
EXCEPTION_UNKNOWN = declare(
    "policy-exception-unknown-policy", "warning", "An exception names a policy that is not loaded",
    """The exception cannot match anything: the policy name is misspelt, or the policy was renamed
    or removed from the central policy directory. Correct or remove the exception.""",
    "exceptions:\n  - policy: app-projet-not-default", "exceptions:\n  - policy: app-project-not-default", _F, configurable=False)
