"""Policy directories: ValidatingAdmissionPolicies, their bindings, and parameter objects.

`load_policies(None)` gives the default policies shipped inside the package
(`wavegate/policies/`); `load_policies(DIR)` those of another directory (a central policy
repository). Everything under a `fixtures/` directory is test input for `wavegate policy test`,
never a policy or a parameter. Every expression of a directory is compiled once, here; what does
not compile is a finding about the policy (never a silent pass). The shipped defaults are the
exception: a test proves each of their expressions compiles, so each is compiled when first
evaluated, and a repository without Pods does not pay for compiling a hundred it never runs.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path

from wavegate import cel
from wavegate.findings import Finding, Severity
from wavegate.load import Manifest, load
from wavegate.policy.cel import all_hold, top_level_reads
from wavegate.policy.match import crd_plurals
from wavegate.policy.rules import INVALID, UNSUPPORTED
from wavegate.policy.settings import Settings, is_settings
from wavegate.policy.settings import read as read_settings
from wavegate.record import field, record
from wavegate.rules import format_path

ADMISSION_GROUP = "admissionregistration.k8s.io"
NON_EXCEPTABLE = "wavegate.dev/non-exceptable"
# The variables an admission policy expression may use (authorizer is not offered offline).
VARIABLES = ("object", "oldObject", "request", "params", "namespaceObject", "variables")
BUILTIN_DISPLAY = "<wavegate>/policies"


@record
class Policy:
    manifest: Manifest
    # Expressions that failed to compile, by their YAML path in the policy; not evaluated.
    broken: set[tuple] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.manifest.name or ""

    @property
    def spec(self) -> dict:
        spec = self.manifest.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def failure_policy(self) -> str:
        return self.spec.get("failurePolicy") or "Fail"

    @property
    def param_kind(self) -> dict | None:
        value = self.spec.get("paramKind")
        return value if isinstance(value, dict) else None

    @property
    def non_exceptable(self) -> bool:
        return str(self.manifest.annotations.get(NON_EXCEPTABLE, "")).lower() == "true"

    def list_of(self, key: str) -> list[dict]:
        value = self.spec.get(key)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    @cached_property
    def reads(self) -> dict[str, frozenset[str] | None]:
        """For each variable bound to a mapping (object, oldObject, request, params,
        namespaceObject): the top-level fields that some expression of the policy can read, or
        None when one may read any part of it (top_level_reads). Evaluation passes CEL only
        those fields: converting whole objects was most of the cost of the policy check."""
        found: dict[str, frozenset[str] | None] = {}
        all_expressions = [expression for _, expression in expressions(self)]
        for name in ("object", "oldObject", "request", "params", "namespaceObject"):
            found[name] = _fields_read(all_expressions, name)
        return found


    @cached_property
    def all_hold(self) -> str | None:
        """One expression that is true exactly when every validation holds (policy.cel.all_hold),
        or None when the policy's expressions cannot be combined or one does not compile."""
        variables = []
        for i, variable in enumerate(self.list_of("variables")):
            name, expression = variable.get("name"), variable.get("expression")
            if not isinstance(name, str) or not isinstance(expression, str) or \
                    ("spec", "variables", i, "expression") in self.broken:
                return None
            variables.append((name, expression))
        validations = [text for i, v in enumerate(self.list_of("validations"))
                       if isinstance(text := v.get("expression"), str)
                       and ("spec", "validations", i, "expression") not in self.broken]
        from wavegate.cache import derived

        return derived("policy-all-hold", (variables, validations), lambda: all_hold(variables, validations))


@record
class Binding:
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.name or ""

    @property
    def spec(self) -> dict:
        spec = self.manifest.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def policy_name(self) -> str | None:
        value = self.spec.get("policyName")
        return value if isinstance(value, str) else None

    @property
    def actions(self) -> list[str]:
        value = self.spec.get("validationActions")
        return [a for a in value if isinstance(a, str)] if isinstance(value, list) else []

    @property
    def param_ref(self) -> dict | None:
        value = self.spec.get("paramRef")
        return value if isinstance(value, dict) else None

    @property
    def match_resources(self) -> dict | None:
        value = self.spec.get("matchResources")
        return value if isinstance(value, dict) else None


@record
class PolicySet:
    """The policies of one directory, in file order, and what is wrong with them."""

    source: str
    policies: dict[str, Policy] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    params: list[Manifest] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    plurals: dict[tuple[str, str], str] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)  # the directory's PolicySet (policy.settings)
    # The parameter objects each (policy, binding, namespace) selects, found once (policy.evaluate;
    # keyed by the ids of this set's own Policy and Binding objects).
    params_found: dict[tuple, list[dict]] = field(default_factory=dict, repr=False, compare=False)
    # What evaluation reads of each (policy, binding) pair, worked out once (policy.evaluate._plan).
    plans: dict[tuple, object] = field(default_factory=dict, repr=False, compare=False)

    def bindings_of(self, policy: Policy) -> list[Binding]:
        return [b for b in self.bindings if b.policy_name == policy.name]

    @property
    def environment(self) -> cel.Environment:
        return cel.environment(VARIABLES)


def builtin_policy_dir() -> Path:
    return Path(__file__).parent.parent / "policies"


_CACHE: dict[str, PolicySet] = {}
_LOCK = threading.Lock()


def load_policies(path: str | Path | None = None) -> PolicySet:
    """The policies of `path`, or the built-in defaults when `path` is None. Cached per process.

    Raises FileNotFoundError / NotADirectoryError for a missing directory (the CLI reports it).
    """
    if path is None:  # (their expressions compile: tests/unit/test_policy_defaults.py)
        directory, display = builtin_policy_dir(), BUILTIN_DISPLAY
    else:
        directory = Path(path)
        if not os.path.exists(directory):  # os.path: False, not OSError, for a name too long
            raise FileNotFoundError(f"{path}: no such policy directory")
        if not os.path.isdir(directory):
            raise NotADirectoryError(f"{path}: not a directory; give the directory that holds the policies")
        display = str(path).rstrip("/")
    key = str(directory.resolve())
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        cached = _load(directory, display, compile_now=path is not None)
        with _LOCK:
            _CACHE[key] = cached
    return cached


def policies_for(ctx) -> PolicySet:
    """The policy set a checking context uses: the one the CLI put on it (`ctx.policies`: a set,
    or a directory), else the directory its configuration names, else the built-in defaults."""
    chosen = getattr(ctx, "policies", None)
    if isinstance(chosen, PolicySet):
        return chosen
    if chosen is None:
        chosen = getattr(ctx.config, "policies", None)
    return load_policies(chosen)


def _load(directory: Path, display: str, compile_now: bool) -> PolicySet:
    repo = load(directory, exclude=("fixtures", "**/fixtures"))
    found = PolicySet(source=display)
    for problem in repo.problems:
        found.problems.append(Finding(**{**problem.__dict__, "path": f"{display}/{problem.path}"}))
    for manifest in repo.manifests:
        manifest.path = f"{display}/{manifest.path}"
        if manifest.group == ADMISSION_GROUP and manifest.kind == "ValidatingAdmissionPolicy":
            policy = Policy(manifest)
            if policy.name in found.policies:
                found.problems.append(INVALID.at(manifest, ("metadata", "name"),
                                                 f"ValidatingAdmissionPolicy {policy.name!r} is defined twice "
                                                 f"(also in {found.policies[policy.name].manifest.path})",
                                                 hint="Rename or remove one of them."))
                continue
            found.policies[policy.name] = policy
        elif manifest.group == ADMISSION_GROUP and manifest.kind == "ValidatingAdmissionPolicyBinding":
            found.bindings.append(Binding(manifest))
        elif not is_settings(manifest):
            found.params.append(manifest)
    found.settings, problems = read_settings(repo.manifests, display)
    found.problems.extend(problems)
    found.plurals = crd_plurals(repo.manifests)
    for policy in found.policies.values():
        found.problems.extend(_check_policy(policy, found, compile_now))
    for binding in found.bindings:
        found.problems.extend(_check_binding(binding, found))
    return found


def expressions(policy: Policy):
    """(YAML path, expression) of every CEL expression of `policy`."""
    for key, field_name in (("matchConditions", "expression"), ("variables", "expression"),
                            ("validations", "expression"), ("validations", "messageExpression")):
        for i, item in enumerate(policy.list_of(key)):
            expression = item.get(field_name)
            if isinstance(expression, str):
                yield ("spec", key, i, field_name), expression


def _fields_read(all_expressions: list[str], name: str) -> frozenset[str] | None:
    """The top-level fields of `name` the expressions read, or None when one may read any."""
    fields: set[str] = set()
    for expression in all_expressions:
        read = top_level_reads(expression, name)
        if read is None:
            return None
        fields |= read
    return frozenset(fields)


def _check_policy(policy: Policy, found: PolicySet, compile_now: bool) -> list[Finding]:
    problems = []
    manifest = policy.manifest
    rules = (policy.spec.get("matchConstraints") or {}).get("resourceRules") if isinstance(
        policy.spec.get("matchConstraints"), dict) else None
    if not rules:
        problems.append(INVALID.at(manifest, ("spec", "matchConstraints"),
                                   f"ValidatingAdmissionPolicy {policy.name!r} has no matchConstraints.resourceRules; "
                                   "the API server rejects it", hint="Add resourceRules naming the resources it checks."))
    if not policy.list_of("validations"):
        problems.append(INVALID.at(manifest, ("spec",),
                                   f"ValidatingAdmissionPolicy {policy.name!r} has no validations; it checks nothing",
                                   hint="Add spec.validations with CEL expressions."))
    if policy.failure_policy not in ("Fail", "Ignore"):
        problems.append(INVALID.at(manifest, ("spec", "failurePolicy"),
                                   f"failurePolicy {policy.failure_policy!r} is not Fail or Ignore", key=False))
    if not found.bindings_of(policy):
        finding = INVALID.at(manifest, ("metadata", "name"),
                             f"ValidatingAdmissionPolicy {policy.name!r} has no ValidatingAdmissionPolicyBinding, "
                             "so no API server enforces it",
                             hint="Add a binding with spec.policyName and validationActions.")
        problems.append(finding.with_severity(Severity.WARNING))
    if not compile_now:
        return problems
    env = found.environment
    for path, expression in expressions(policy):
        error = env.check(expression)
        if error is None:
            continue
        policy.broken.add(path)
        rule = UNSUPPORTED if error.unsupported else INVALID
        what = "uses CEL wavegate cannot evaluate offline" if error.unsupported else "does not compile"
        problems.append(rule.at(manifest, path,
                                f"ValidatingAdmissionPolicy {policy.name!r}: {format_path(path[1:])} {what}: "
                                f"{error.message}",
                                hint="Use the CEL libraries Kubernetes and wavegate share (standard, strings, lists, "
                                     "regex, url, ip/cidr, quantity, optionals); `authorizer` is not available offline.",
                                key=False))
    return problems


def _check_binding(binding: Binding, found: PolicySet) -> list[Finding]:
    problems = []
    manifest = binding.manifest
    if binding.policy_name not in found.policies:
        problems.append(INVALID.at(manifest, ("spec", "policyName"),
                                   f"binding {binding.name!r} names policy {binding.policy_name!r}, which is not in "
                                   f"{found.source}; the API server ignores it", key=False,
                                   hint=f"Known policies: {', '.join(sorted(found.policies)) or 'none'}."))
    actions = binding.actions
    if not actions or any(a not in ("Deny", "Warn", "Audit") for a in actions) or set(actions) >= {"Deny", "Warn"}:
        problems.append(INVALID.at(manifest, ("spec", "validationActions"),
                                   f"binding {binding.name!r} has validationActions {actions!r}; give one or more of "
                                   "Deny, Warn and Audit (Deny and Warn not together)",
                                   hint="validationActions: [Deny]"))
    policy = found.policies.get(binding.policy_name or "")
    if policy is not None and policy.param_kind and not binding.param_ref:
        problems.append(INVALID.at(manifest, ("spec",),
                                   f"policy {policy.name!r} takes parameters ({policy.param_kind.get('kind')}) but "
                                   f"binding {binding.name!r} has no paramRef",
                                   hint="Add spec.paramRef with name (or selector) and parameterNotFoundAction."))
    return problems
