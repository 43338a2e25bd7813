"""Offline evaluation of Kubernetes ValidatingAdmissionPolicies (see evaluate.py).

Public API:
  load_policies(path_or_none) -> PolicySet      the built-in defaults (None) or a directory
  evaluate(policies, manifests, env=None)       -> list[Violation]
  Environment.of(manifests, repo=..., ...)      namespaces, plurals and scopes known to the run
  Violation.server_message                      what the API server answers a Deny with
  cel.compile_expression / cel.evaluate         the CEL wrapper, reusable by the schema engine
"""

from wavegate.policy.evaluate import Environment, Violation, evaluate
from wavegate.policy.model import Binding, Policy, PolicySet, builtin_policy_dir, load_policies

__all__ = ["Binding", "Environment", "Policy", "PolicySet", "Violation", "builtin_policy_dir", "evaluate",
           "load_policies"]
