"""Evaluate ValidatingAdmissionPolicies offline, object by object, as the API server would on CREATE.

For each policy and each of its bindings: match (policy matchConstraints, then the binding's
matchResources), resolve params (paramKind + paramRef, from the policy directory), then for each
param: matchConditions (all must be true; an error follows failurePolicy), variables (in order;
a validation that uses a variable whose evaluation failed fails with that error), validations.
A validation that is not `true` is a violation with the policy's message (messageExpression
first, then message, then "failed expression: ..."); an evaluation error with failurePolicy
Fail is a violation with the error. The binding's validationActions set the severity: Deny is
an error, Warn a warning, Audit an info. `Violation.server_message` is the text the API server
answers a denied (or warned) request with.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import cast

from wavegate import cel, kube
from wavegate.findings import Severity
from wavegate.load import Manifest
from wavegate.policy.cel import narrowed
from wavegate.policy.match import Request, SelectorError, guess_plural, resources_match, rule_matches, selector_matches
from wavegate.policy.model import VARIABLES, Binding, Policy, PolicySet
from wavegate.policy.projection import cut, needs
from wavegate.record import field, fields, record, replace
from wavegate.regex import lazy_compile
from wavegate.schemas.defaults import copy_data

MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
ACTION_SEVERITY = {"Deny": Severity.ERROR, "Warn": Severity.WARNING, "Audit": Severity.INFO}


@record(frozen=True)
class Violation:
    policy: str
    binding: str
    actions: tuple[str, ...]
    message: str
    manifest: Manifest
    field: tuple = ()  # the offending field's path in the manifest (keys and list indexes)
    reason: str = "Invalid"
    expression: str = ""
    error: bool = False  # an evaluation error under failurePolicy Fail, not a false validation
    non_exceptable: bool = False

    @property
    def severity(self) -> Severity:
        return max((ACTION_SEVERITY[a] for a in self.actions if a in ACTION_SEVERITY), default=Severity.ERROR)

    @property
    def denied(self) -> bool:
        return "Deny" in self.actions

    @property
    def server_message(self) -> str:
        """The API server's text: the error of a Deny, or the warning header of a Warn."""
        if self.denied or not self.actions:
            return (f"ValidatingAdmissionPolicy '{self.policy}' with binding '{self.binding}' "
                    f"denied request: {self.message}")
        if "Warn" in self.actions:
            return (f"Validation failed for ValidatingAdmissionPolicy '{self.policy}' with binding '{self.binding}': "
                    f"{self.message}")
        return ""


@record
class Target:
    """What is known about one manifest besides its data."""

    manifest: Manifest
    namespace: str | None
    namespace_object: dict | None
    request: Request
    admitted: Callable[[Manifest], dict] | None = None
    _object: dict | None = field(default=None, repr=False)
    # What evaluate_one works out once per policy binding and namespace, shared by the targets of
    # one Environment (the namespace's object and the parameters, as the policy reads them).
    shared: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def object(self) -> dict:
        """The object as admission sees it (defaulted), computed when a policy first needs it."""
        if self._object is None:
            self._object = self.admitted(self.manifest) if self.admitted is not None else self.manifest.data
        return self._object


@record
class Environment:
    """What the repository says about namespaces, scopes and plurals."""

    namespaces: dict[str, dict] = field(default_factory=dict)  # name -> Namespace object
    plurals: dict[tuple[str, str], str] = field(default_factory=dict)
    scopes: dict[tuple[str, str], str] = field(default_factory=dict)
    default_namespace: Callable[[Manifest], str | None] = lambda manifest: None
    # The object as the API server holds it when admission runs (after decoding and defaulting:
    # wavegate.schemas.defaults.admitted); by default the manifest's data as written.
    admitted: Callable[[Manifest], dict] | None = None
    # (namespace_object, its labels) by name, shared by every target in the namespace (nothing changes them).
    _namespace_objects: dict[str, tuple[dict, dict]] = field(default_factory=dict, repr=False, compare=False)
    _shared: dict = field(default_factory=dict, repr=False, compare=False)  # (Target.shared)
    _kinds: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, manifests: Iterable[Manifest], repo=None, plurals: dict | None = None,
           default_namespace: Callable[[Manifest], str | None] | None = None,
           admitted: Callable[[Manifest], dict] | None = None) -> Environment:
        from wavegate.policy.match import crd_plurals

        manifests = list(manifests)
        env = cls()
        for m in manifests:
            if m.kind == "Namespace" and m.group == "" and m.name:
                env.namespaces[m.name] = m.data
        env.plurals = {**(plurals or {}), **crd_plurals(manifests)}
        env.scopes = kube.repo_scopes(repo) if repo is not None else {}
        if default_namespace is not None:
            env.default_namespace = default_namespace
        env.admitted = admitted
        return env

    def plural(self, manifest: Manifest) -> str:
        return self._kind(manifest)[0]

    def scope(self, manifest: Manifest) -> str | None:
        return self._kind(manifest)[1]

    def _kind(self, manifest: Manifest) -> tuple[str, str | None]:
        """(plural, scope) of the manifest's kind: asked for every object, worked out once per kind."""
        key = (manifest.group, manifest.kind)
        known = self._kinds.get(key)
        if known is None:
            known = self._kinds[key] = (self.plurals.get(key) or guess_plural(key[1]),
                                        kube.scope(key) or self.scopes.get(key))
        return known

    def placed(self, manifest: Manifest) -> tuple[str | None, bool, str | None]:
        """(its kind's scope, whether it is cluster-scoped, the namespace it lands in)."""
        scope = self.scope(manifest)
        if scope == kube.CLUSTER:
            return scope, True, None
        own = manifest.namespace
        if own:
            return scope, False, own
        default = self.default_namespace(manifest)
        if scope is None and own is None and default is None:
            return scope, True, None  # (neither Kubernetes nor the repository knows the kind: as written)
        return scope, False, default or "default"

    def target(self, manifest: Manifest, placed: tuple[str | None, bool, str | None]) -> Target:
        """What admission knows of `manifest`, placed as self.placed(manifest) says."""
        scope, cluster_scoped, namespace = placed
        namespace_object = None
        namespace_labels = None
        if namespace is not None:
            known = self._namespace_objects.get(namespace)
            if known is None:
                made = self.namespace_object(namespace)
                known = self._namespace_objects[namespace] = (made, dict(made["metadata"].get("labels") or {}))
            namespace_object, namespace_labels = known
        labels = manifest.labels  # (read, never changed: a Request's labels are only matched against)
        if manifest.kind == "Namespace" and manifest.group == "" and manifest.name:
            labels = {**labels, NAMESPACE_NAME_LABEL: labels.get(NAMESPACE_NAME_LABEL, manifest.name)}
        request = Request(group=manifest.group, version=manifest.version, kind=manifest.kind,
                          resource=self.plural(manifest), namespace=namespace, name=manifest.name,
                          scope=scope or (kube.CLUSTER if cluster_scoped else kube.NAMESPACED),
                          labels=labels, namespace_labels=namespace_labels)
        return Target(manifest, namespace, namespace_object, request, admitted=self.admitted, shared=self._shared)

    def namespace_object(self, name: str) -> dict:
        data = copy_data(self.namespaces.get(name)) or {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": name}}
        metadata = data.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {"name": name}
        labels = metadata.get("labels")
        if not isinstance(labels, dict):
            labels = metadata["labels"] = {}
        labels.setdefault(NAMESPACE_NAME_LABEL, name)
        return data


class Candidates:
    """The (policy, binding) pairs that can match an object, by what their resourceRules look at
    (group, version, resource, scope, namespaced or not): worked out from the first object with
    that key. Most policies are about one or two kinds, and most objects match none, so an object
    with no candidate needs neither its admission target nor a look in the cache."""

    def __init__(self, policies: PolicySet, env: Environment):
        self.pairs = [(policy, binding) for policy in policies.policies.values()
                      for binding in policies.bindings_of(policy)]
        self.env = env
        self.by_key: dict[tuple, list[tuple[Policy, Binding, bool]]] = {}

    def of(self, manifest: Manifest, placed: tuple[str | None, bool, str | None]) -> list[tuple[Policy, Binding, bool]]:
        scope, cluster_scoped, namespace = placed  # (the key of the Request env.target would make)
        key = (manifest.group, manifest.version, self.env.plural(manifest),
               scope or (kube.CLUSTER if cluster_scoped else kube.NAMESPACED), namespace is None)
        found = self.by_key.get(key)
        if found is None:
            found = self.by_key[key] = _applicable(self.pairs, self.env.target(manifest, placed).request)
        return found


def evaluate(policies: PolicySet, manifests: Iterable[Manifest], env: Environment | None = None) -> list[Violation]:
    """Every violation of every policy in `policies` by `manifests`."""
    manifests = list(manifests)
    env = env or Environment.of(manifests, plurals=policies.plurals)
    violations: list[Violation] = []
    candidates = Candidates(policies, env)
    # A document that several Applications apply into the same namespace is one copy per
    # Application sharing its data: evaluated once, its violations given to each copy.
    first: dict[tuple[int, str | None], tuple[Manifest, list[Violation]]] = {}
    for manifest in manifests:
        if not kube.is_kubernetes_object(manifest):
            continue
        placed = env.placed(manifest)
        applicable = candidates.of(manifest, placed)
        if not applicable:
            continue
        known = first.get((id(manifest.data), placed[2]))
        if known is not None and manifest.is_copy_of(known[0]):
            violations.extend(replace(v, manifest=manifest) for v in known[1])
            continue
        target = env.target(manifest, placed)
        found = [v for policy, binding, matched in applicable
                 for v in evaluate_one(policies, policy, binding, target, matched)]
        first[(id(manifest.data), placed[2])] = (manifest, found)
        violations.extend(found)
    return violations


def plain_violation(violation: Violation) -> tuple:
    """`violation` without its manifest, as plain data (what the cache keeps and the policy worker
    sends: wavegate.policy.ahead); violation_from_plain makes it whole again."""
    return tuple((name, getattr(violation, name)) for name in _PLAIN_FIELDS)


def violation_from_plain(manifest: Manifest, plain) -> Violation:
    """The Violation of `manifest` that plain_violation gave `plain` for (TypeError or ValueError
    when `plain` is not such data)."""
    return Violation(manifest=manifest, **dict(plain))


_PLAIN_FIELDS = tuple(f.name for f in fields(Violation) if f.name != "manifest")


def _applicable(pairs: list[tuple[Policy, Binding]], request: Request) -> list[tuple[Policy, Binding, bool]]:
    """The pairs that can match requests with `request`'s candidate key (group, version, resource,
    scope, namespaced or not), each with True when it matches every such request: neither the
    policy nor the binding selects by labels or by name, so the key alone decides (and the pairs
    it rules out are left out)."""
    found = []
    for policy, binding in pairs:
        if _rules_exclude(policy, request):
            continue
        constraints, resources = policy.spec.get("matchConstraints"), binding.match_resources
        if _decided_by_key(constraints) and _decided_by_key(resources):
            if resources_match(constraints, request, require_rules=True) and \
                    resources_match(resources, request, require_rules=False):
                found.append((policy, binding, True))
            continue
        found.append((policy, binding, False))
    return found


def _decided_by_key(match) -> bool:
    """Whether MatchResources `match` decides alike for every request with the same group, version,
    resource and scope: no label selector (absent or empty), no rule naming resources."""
    if match is None:
        return True
    if not isinstance(match, dict):
        return False
    if any(match.get(selector) not in (None, {}) for selector in ("objectSelector", "namespaceSelector")):
        return False
    for rules in (match.get("resourceRules"), match.get("excludeResourceRules")):
        if rules is None:
            continue
        if not isinstance(rules, list) or not all(isinstance(rule, dict) and not rule.get("resourceNames")
                                                  for rule in rules):
            return False
    return True


def _rules_exclude(policy: Policy, request: Request) -> bool:
    """True when the policy's matchConstraints.resourceRules cannot match any request with this
    request's group, version, resource and scope (so evaluate_one would return nothing). False
    whenever unsure (malformed constraints, rules that name resources)."""
    constraints = policy.spec.get("matchConstraints")
    if not isinstance(constraints, dict):
        return False
    rules = constraints.get("resourceRules")
    if not isinstance(rules, list) or not all(isinstance(rule, dict) and not rule.get("resourceNames")
                                              for rule in rules):
        return False
    return not any(rule_matches(rule, request) for rule in rules)


class _Plan:
    """What evaluate_one reads of one (policy, binding) pair, worked out when the pair is first
    evaluated: the same for every object, and evaluated for thousands of them. (A plain class: a
    dataclass costs every run that imports it the compiling of its methods.)"""

    __slots__ = ("actions", "fail", "conditions", "all_hold", "environment", "param_kind", "param_ref", "reads",
                 "answers")

    def __init__(self, actions: tuple[str, ...], fail: bool, conditions: tuple[tuple[str, object], ...],
                 all_hold: cel.Program | None, environment: cel.Environment, policy: Policy, binding: Binding):
        self.actions = actions
        self.fail = fail  # failurePolicy is not Ignore
        self.conditions = conditions  # (expression, name) of each matchCondition that compiles
        self.all_hold = all_hold  # Policy.all_hold, compiled; None when it cannot be used
        self.environment = environment  # (what all_hold was compiled in)
        self.param_kind = policy.param_kind
        self.param_ref = binding.param_ref
        self.reads = policy.reads
        # all_hold's answers by the inputs cut to what it reads (policy.projection); made when
        # the pair is first evaluated (_all_hold).
        self.answers: _Answers | None = None


def _plan(policies: PolicySet, policy: Policy, binding: Binding) -> _Plan:
    key = (id(policy), id(binding))
    plan = cast("_Plan | None", policies.plans.get(key))
    environment = policies.environment
    if plan is None or plan.environment is not environment:
        conditions = tuple((expression, condition.get("name"))
                           for i, condition in enumerate(policy.list_of("matchConditions"))
                           if isinstance(expression := condition.get("expression"), str)
                           and ("spec", "matchConditions", i, "expression") not in policy.broken)
        combined = None
        if policy.all_hold is not None:
            try:
                combined = environment.compile(policy.all_hold)
            except cel.CelError:
                combined = None
        plan = policies.plans[key] = _Plan(tuple(binding.actions), policy.failure_policy != "Ignore", conditions,
                                           combined, environment, policy, binding)
    return plan


def prepare(policies: PolicySet, policy: Policy) -> None:
    """Work out now what evaluating `policy` through each of its bindings needs (its compiled
    programs): in a process about to fork, both then have it."""
    for binding in policies.bindings_of(policy):
        _plan(policies, policy, binding)


def evaluate_one(policies: PolicySet, policy: Policy, binding: Binding, target: Target,
                 matched: bool = False) -> list[Violation]:
    """The violations of `policy` through `binding` by one target; `matched`: the policy's and the
    binding's match rules are known to select it (evaluate's candidates)."""
    plan = _plan(policies, policy, binding)
    actions = plan.actions
    if not actions:
        return []
    request = target.request
    try:
        if not matched and not (resources_match(policy.spec.get("matchConstraints"), request, require_rules=True)
                                and resources_match(binding.match_resources, request, require_rules=False)):
            return []
    except SelectorError:
        return []  # reported as a malformed policy or binding when loaded
    fail = plan.fail

    def failed(message: str, expression: str = "", path: tuple = ()) -> list[Violation]:
        if not fail:
            return []
        return [Violation(policy.name, binding.name, actions, message, target.manifest, path or _name_path(),
                          expression=expression, error=True, non_exceptable=policy.non_exceptable)]

    reads = plan.reads
    # The namespace's object and the parameters, as the policy reads them: alike for every object
    # of a namespace, so worked out once per namespace (a str when the binding cannot be used).
    inputs = target.shared.get((plan, target.namespace))
    if inputs is None:
        inputs = target.shared[(plan, target.namespace)] = _namespace_inputs(policies, policy, binding, plan, target)
    if isinstance(inputs, str):
        return failed(inputs) if inputs else []
    namespace_object, params_list = inputs

    # Expressions only read `object`; the one change made here is the defaulted namespace, so
    # copying the top level and metadata keeps the manifest itself untouched (a deep copy of
    # every object for every policy was the most expensive step of the policy check). Only the
    # top-level fields the policy's expressions can read are passed (Policy.reads): CEL
    # converts every value it is given on every evaluation.
    data = target.object
    obj = dict(data) if reads["object"] is None else narrowed(data, reads["object"])
    if target.namespace is not None and isinstance(obj.get("metadata"), dict):
        obj["metadata"] = dict(obj["metadata"])
        obj["metadata"].setdefault("namespace", target.namespace)
    read = reads["request"]  # (a policy that never reads the request is not given one to convert)
    cel_request = narrowed(request.as_cel(), read) if read is None or read else {}
    environment = policies.environment
    violations: list[Violation] = []

    def var_exprs() -> dict:  # (the variables' expressions, wanted only to place a finding)
        return {v.get("name"): v.get("expression") for v in policy.list_of("variables")}
    for params in params_list:
        # Every variable of the environment (policy.model.VARIABLES), bound.
        bindings = {"object": obj, "oldObject": None, "request": cel_request, "params": params,
                    "namespaceObject": namespace_object, "variables": {}}
        verdict = _match_conditions(plan, environment, bindings) if plan.conditions else True
        if verdict is False:
            continue
        if isinstance(verdict, str):
            violations.extend(failed(verdict))
            continue
        if plan.all_hold is not None and _all_hold(plan, bindings):
            continue
        scope = _Scope(policy, environment, bindings)
        for i, validation in enumerate(policy.list_of("validations")):
            expression = validation.get("expression")
            if not isinstance(expression, str) or ("spec", "validations", i, "expression") in policy.broken:
                continue
            # The field a finding points at is looked up only when there is a finding.
            variable_error = scope.error_of(expression)
            if variable_error is not None:
                violations.extend(failed(f"expression '{expression}' resulted in error: {variable_error}",
                                         expression, field_path(expression, target.manifest, var_exprs())))
                continue
            try:
                result = scope.evaluate(expression)
            except cel.CelError as error:
                violations.extend(failed(f"expression '{expression}' resulted in error: {error.message}", expression,
                                         field_path(expression, target.manifest, var_exprs())))
                continue
            if result is True:
                continue
            path = (listed_field(expression, scope.values, target.manifest)
                    or field_path(expression, target.manifest, var_exprs()))
            message = _message(policy, i, validation, scope)
            reason = reason if isinstance(reason := validation.get("reason"), str) else "Invalid"
            violations.append(Violation(policy.name, binding.name, actions, message, target.manifest, path,
                                        reason=reason, expression=expression, non_exceptable=policy.non_exceptable))
    return violations


# A pair's answers are remembered per distinct input cut to what its program reads. The shipped
# policies' reads are worked out beforehand (data/policy-needs.json); another policy's are worked
# out once it has been evaluated MEMO_AFTER times (the analysis of a Pod Security program costs
# about as much as 300 evaluations of it). Over its first MEMO_TRIAL inputs, what cutting an input
# and evaluating one cost is measured; the remembering goes on only if the evaluations it spared
# cost more than the cutting.
MEMO_AFTER = 256
MEMO_TRIAL = 64
REMEMBER = True  # (False: every input evaluated; the tests compare both)


class _Answers:
    """all_hold's answers for one pair, by its inputs cut to what the program reads."""

    __slots__ = ("evaluated", "needs", "known", "asked", "found", "cutting", "evaluating")

    def __init__(self) -> None:
        self.evaluated = 0
        self.needs: tuple | None = None  # ((variable, Need.plain), ...) once known; () when not used
        self.known: dict[bytes, bool] = {}
        self.asked = self.found = 0
        self.cutting = self.evaluating = 0.0  # (seconds, over the trial)


def _all_hold(plan: _Plan, bindings: dict) -> bool:
    """Whether every validation of the pair holds for `bindings` (plan.all_hold), remembered per
    distinct input as the program reads it (policy.projection)."""
    program = plan.all_hold
    assert program is not None
    answers = plan.answers
    if answers is None:
        answers = plan.answers = _Answers()
        answers.needs = _shipped_needs(program.expression)
    if not REMEMBER:
        return plan.environment.holds(program, bindings)
    if answers.needs is None:
        answers.evaluated += 1
        if answers.evaluated < MEMO_AFTER:
            return plan.environment.holds(program, bindings)
        from wavegate.cache import derived

        answers.needs = derived("policy-needs", (program.expression,), lambda: analysed_needs(program)) or ()
    if not answers.needs:
        return plan.environment.holds(program, bindings)
    trial = answers.asked < MEMO_TRIAL
    started = perf_counter() if trial else 0.0
    try:
        key = marshal.dumps(tuple(cut(bindings.get(name), need) for name, need in answers.needs), 2)
    except ValueError:  # (a value marshal does not take: not remembered)
        return plan.environment.holds(program, bindings)
    if not trial:
        known = answers.known.get(key)
        if known is None:
            known = answers.known[key] = plan.environment.holds(program, bindings)
        return known
    cut_done = perf_counter()
    answers.cutting += cut_done - started
    answers.asked += 1
    known = answers.known.get(key)
    if known is None:
        known = answers.known[key] = plan.environment.holds(program, bindings)
        answers.evaluating += perf_counter() - cut_done
    else:
        answers.found += 1
    if answers.asked == MEMO_TRIAL:
        spared = answers.found * answers.evaluating / max(answers.asked - answers.found, 1)
        if spared <= answers.cutting:  # (the evaluations spared did not pay for cutting every input)
            answers.needs, answers.known = (), {}
    return known


def analysed_needs(program: cel.Program) -> tuple | None:
    """What `program` reads of each variable, ((name, Need.plain), ...), or None when its tree
    cannot be read."""
    try:
        return tuple(needs(cel.syntax_tree(program), VARIABLES).items())
    except cel.UnreadableProgram:
        return None


_shipped: dict | None = None


def _shipped_needs(expression: str) -> tuple | None:
    """What the shipped policy whose combined program is `expression` reads (data/policy-needs.json),
    or None for another program."""
    global _shipped
    if _shipped is None:
        import json

        from wavegate import data

        try:
            text = data.read_text("policy-needs.json")
            _shipped = json.loads(text)["programs"]
        except (OSError, ValueError, KeyError):
            _shipped = {}
    if not _shipped:
        return None
    found = _shipped.get(cel.program_digest(expression))
    if not isinstance(found, dict) or not isinstance(found.get("needs"), dict):
        return None
    return tuple((name, found["needs"][name]) for name in VARIABLES if name in found["needs"])


def _namespace_inputs(policies: PolicySet, policy: Policy, binding: Binding, plan: _Plan,
                      target: Target) -> tuple[dict | None, list] | str:
    """(the namespace's object, each parameter object) as the policy reads them, for the targets of
    `target`'s namespace; or why the binding cannot be used there: the message of the violation
    it is, or "" when it allows the object."""
    namespace_object = narrowed(target.namespace_object, plan.reads["namespaceObject"])
    if not plan.param_kind:
        return namespace_object, [None]
    param_ref = plan.param_ref
    if not param_ref:
        return (f"failed to configure binding: policy {policy.name!r} expects parameters but binding "
                f"{binding.name!r} has no paramRef")
    found_for = (id(policy), id(binding), target.namespace)  # (alike for every object of a namespace)
    found = policies.params_found.get(found_for)
    if found is None:
        found = policies.params_found[found_for] = find_params(policies, plan.param_kind, param_ref,
                                                               target.namespace)
    if not found:
        if param_ref.get("parameterNotFoundAction") == "Allow":
            return ""
        return "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"
    return namespace_object, [narrowed(params, plan.reads["params"]) for params in found]


_VARIABLE_REF = lazy_compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


class _Scope:
    """The bindings of one evaluation of a policy. Variables are evaluated when an expression first
    uses them, as on the API server (a variable nothing uses cannot fail), and each expression is
    given only the variables and inputs it names: CEL converts every value it is given, every time."""

    def __init__(self, policy: Policy, environment: cel.Environment, bindings: dict):
        self.environment = environment
        self.bindings = bindings
        self.broken = policy.broken
        self.definitions: dict[str, tuple[int, str]] = {}
        for i, variable in enumerate(policy.list_of("variables")):
            name, expression = variable.get("name"), variable.get("expression")
            if isinstance(name, str) and isinstance(expression, str):
                self.definitions.setdefault(name, (i, expression))
        self.values: dict[str, object] = {}
        self.errors: dict[str, str] = {}

    def error_of(self, expression: str, before: int | None = None) -> str | None:
        """The error of the first variable `expression` uses whose evaluation failed, else None.
        A variable's expression may use only the variables defined before it (`before`)."""
        for name in _VARIABLE_REF.findall(expression):
            self._resolve(name, before)
            if name in self.errors and self._visible(name, before):
                return self.errors[name]
        return None

    def evaluate(self, expression: str, before: int | None = None):
        bound = {key: (value if key in expression else None) for key, value in self.bindings.items()}
        bound["variables"] = {name: self.values[name] for name in _VARIABLE_REF.findall(expression)
                              if name in self.values and self._visible(name, before)}
        return self.environment.evaluate(expression, bound)

    def _visible(self, name: str, before: int | None) -> bool:
        return name in self.definitions and (before is None or self.definitions[name][0] < before)

    def _resolve(self, name: str, before: int | None) -> None:
        if name in self.values or name in self.errors or not self._visible(name, before):
            return
        index, expression = self.definitions[name]
        if ("spec", "variables", index, "expression") in self.broken:
            self.errors[name] = f"variable {name!r} does not compile"
            return
        inherited = self.error_of(expression, before=index)
        if inherited is not None:
            self.errors[name] = inherited
            return
        try:
            self.values[name] = self.evaluate(expression, before=index)
        except cel.CelError as error:
            self.errors[name] = error.message


def _match_conditions(plan: _Plan, environment: cel.Environment, bindings: dict) -> bool | str:
    """True when every matchCondition holds, False when one is false, else the first error's text.
    As on the API server, matchConditions see no namespaceObject (its matcher passes none)."""
    error = None
    bindings = {**bindings, "namespaceObject": None, "variables": {}}
    for expression, name in plan.conditions:
        try:
            value = environment.evaluate(expression, bindings)
        except cel.CelError as failure:
            error = error or f"failed to evaluate matchCondition {name!r}: {failure.message}"
            continue
        if value is not True:
            return False
    return error or True


def _message(policy: Policy, index: int, validation: dict, scope: _Scope) -> str:
    message = ""
    message_expression = validation.get("messageExpression")
    if isinstance(message_expression, str) and ("spec", "validations", index, "messageExpression") not in policy.broken:
        try:
            value = scope.evaluate(message_expression) if scope.error_of(message_expression) is None else None
        except cel.CelError:
            value = None
        if isinstance(value, str):
            value = value.strip()
            if len(value.encode()) <= MAX_MESSAGE_BYTES and "\n" not in value:
                message = value
    if not message and isinstance(validation.get("message"), str):
        message = validation["message"].strip()
    if not message:
        message = f"failed expression: {str(validation.get('expression', '')).strip()}"
    return message


def find_params(policies: PolicySet, param_kind: dict, param_ref: dict, namespace: str | None) -> list[dict]:
    """The parameter objects a paramRef selects among the policy directory's objects."""
    api_version, kind = param_kind.get("apiVersion"), param_kind.get("kind")
    candidates = [m for m in policies.params if m.api_version == api_version and m.kind == kind]
    wanted_namespace = param_ref.get("namespace")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    if wanted_namespace is None and kube.namespaced((group, kind or "")):
        wanted_namespace = namespace
    if wanted_namespace is not None:
        candidates = [m for m in candidates if (m.namespace or "default") == wanted_namespace]
    if isinstance(param_ref.get("name"), str):
        return [m.data for m in candidates if m.name == param_ref["name"]]
    selector = param_ref.get("selector")
    if isinstance(selector, dict):
        try:
            return [m.data for m in candidates if selector_matches(selector, m.labels)]
        except SelectorError:
            return []
    return []


_OBJECT_PATH = lazy_compile(r"\bobject((?:\s*\.\s*\??[A-Za-z_][A-Za-z0-9_]*|\s*\[\s*'[^']*'\s*\]|\s*\[\s*\"[^\"]*\"\s*\])+)"
                          r"(\s*\()?")
_STEP = lazy_compile(r"\.\s*\??([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_VARIABLE = lazy_compile(r"\bvariables\.([A-Za-z_][A-Za-z0-9_]*)")


def _name_path() -> tuple:
    return ("metadata", "name")


def field_path(expression: str, manifest: Manifest, variables: dict | None = None, depth: int = 0) -> tuple:
    """The manifest field an expression is about: its first `object.a.b` path (a trailing method
    call or macro is not a field), through `variables.x` to the variable's expression, else
    metadata.name. The deepest part of the path that exists in the manifest is used."""
    for match in _OBJECT_PATH.finditer(expression):
        steps = [a or b or c for a, b, c in _STEP.findall(match.group(1))]
        if match.group(2) and steps:  # object.spec.list.all(...): `all` is a call, not a field
            steps = steps[:-1]
        if steps:
            return _existing(manifest, tuple(steps))
    if variables and depth < 5:
        for name in _VARIABLE.findall(expression):
            inner = variables.get(name)
            if isinstance(inner, str):
                path = field_path(inner, manifest, variables, depth + 1)
                if path != _name_path():
                    return path
    return _name_path()


# A validation `size(variables.NAME) == 0` says "nothing is listed in NAME"; when it fails and the
# items of NAME are mappings with a string `field` (the path of the field to change), the finding
# points at the first one. Paths are written like `spec.containers[name=app].securityContext.privileged`:
# `.key`, `['key']`, `[0]`, and `[key=value]` for the list item whose `key` is `value`.
_LISTED = lazy_compile(r"^\s*size\(\s*variables\.([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*==\s*0\s*$")
_PATH_STEP = lazy_compile(r"\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
                        r"|\[(\d+)\]|\[([^=\]]+)=([^\]]*)\]")


def listed_field(expression: str, variables: dict, manifest: Manifest) -> tuple:
    """The field a failed `size(variables.NAME) == 0` validation is about (see above), or ()."""
    match = _LISTED.match(expression)
    listed = variables.get(match.group(1)) if match else None
    if not isinstance(listed, list) or not listed or not isinstance(listed[0], dict):
        return ()
    first = listed[0].get("field")
    return field_at(manifest, first) if isinstance(first, str) else ()


def field_at(manifest: Manifest, path: str) -> tuple:
    """The deepest existing part of `path` (the notation above) in the manifest, as keys and indexes."""
    node: object = manifest.data
    found: tuple = ()
    position = 0
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            break
        position = step.end()
        name, single, double, index, key, value = step.groups()
        if index is not None or key is not None:
            if not isinstance(node, list):
                break
            if index is not None:
                chosen = int(index) if int(index) < len(node) else None
            else:
                chosen = next((i for i, item in enumerate(node)
                               if isinstance(item, dict) and _text(item.get(key.strip())) == value), None)
            if chosen is None:
                break
            node, found = node[chosen], found + (chosen,)
            continue
        name = name if name is not None else single if single is not None else double
        if not isinstance(node, dict) or name not in node:
            break
        node, found = node[name], found + (name,)
    return found or _name_path()


def _text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _existing(manifest: Manifest, path: tuple) -> tuple:
    node: object = manifest.data
    found: tuple = ()
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
            found += (step,)
        else:
            break
    return found if found else _name_path()
