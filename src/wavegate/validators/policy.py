"""Security policies: ValidatingAdmissionPolicies evaluated offline on every manifest.

Which policies: a policy set the CLI put on the context (`ctx.policies`, from `--policies DIR`),
else the directory in .wavegate.yaml `policies:`, else the defaults shipped inside wavegate.
Policies that merely sit in the repository under validation are never used unless configured.
Whether the repository's exceptions were approved is read before the checks run
(`ctx.exception_review`, from wavegate.policy.review); None outside a merge-request pipeline.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.policy import exceptions as exc
from wavegate.policy.ahead import Verdicts
from wavegate.policy.evaluate import (
    Candidates,
    Environment,
    Violation,
    evaluate,
    plain_violation,
    violation_from_plain,
)
from wavegate.policy.model import PolicySet, policies_for
from wavegate.policy.rules import INVALID  # also declares the policy rules
from wavegate.schemas.defaults import admitted
from wavegate.schemas.engine import CEL_SKIPPED, UNKNOWN_FIELD
from wavegate.schemas.store import store_for
from wavegate.validators import Context

# Shares no state with the other checks (it reads the schema store, for the defaults admission
# sees, but in a forked worker a store is a private copy), so on a large repository it runs in a
# worker process beside them (validators._run_checks).
INDEPENDENT = True


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    try:
        policies = policies_for(ctx)
    except (FileNotFoundError, NotADirectoryError) as error:
        where = ".wavegate.yaml" if getattr(ctx.config, "policies", None) and ctx.config.path else "."
        yield INVALID.at_file(where, message=f"policies: {error}",
                              hint="Point `policies:` (or --policies) at the directory of the central policies.")
        return
    yield from policies.problems

    def default_namespace(manifest):
        for app in ctx.apps_of(manifest):
            if app.destination_namespace:
                return app.destination_namespace
        return None

    store = store_for(ctx)
    env = Environment.of(repo.manifests, repo=repo, plurals=policies.plurals, default_namespace=default_namespace,
                         admitted=lambda manifest: admitted(store, manifest))
    if hasattr(ctx, "settle"):
        ctx.settle()
    ahead = getattr(ctx, "policy_verdicts", None)  # (what wavegate.policy.ahead evaluated meanwhile)
    violations = _violations(policies, repo.manifests, env, getattr(ctx, "results", None), store.fingerprint(),
                             ahead if ahead is not None and ahead.source == policies.source else None, store)
    violations = [v for v in violations if not (v.error and _refused_before_admission(store, v.manifest))]
    exceptions = exc.parse(ctx.config.raw.get("exceptions") or [])
    document = exc.config_document(ctx.config.path, repo.root) if exceptions else None
    yield from exc.apply(violations, exceptions, policies, document, review=getattr(ctx, "exception_review", None),
                         central=exc.granted(policies, ctx.repo_url))


def _refused_before_admission(store, manifest) -> bool:
    """Whether the API server refuses the custom resource on its schema (a required field missing, a
    wrong type, a CEL rule) before admission runs: then a policy that fails to evaluate on it (a
    CEL error on the missing `spec`) is never asked, and the schema check's finding is the one."""
    entry = store.lookup(manifest.api_version, manifest.kind) if store is not None else None
    if entry is None or entry.unavailable or entry.origin == "kubernetes" or entry.dialect == "json":
        return False
    problems, _ = entry.validate(manifest.data)
    return any(p.code not in (UNKNOWN_FIELD, CEL_SKIPPED) for p in problems)


def _violations(policies: PolicySet, manifests: list, env: Environment, results, schemas: str,
                ahead: Verdicts | None = None, store=None) -> list[Violation]:
    """evaluate(policies, manifests, env), with each object's violations kept between runs when
    `results` (wavegate.cache.ObjectResults) is given: an object is evaluated again when it, the
    Application that syncs it (its default namespace), its Namespace object, or what the repository
    says about plurals and scopes changed, or the schema store whose defaults admission sees (the
    policies themselves are in the results' scope). An object that `ahead` evaluated during the
    render is not evaluated again (Verdicts.violations says when its verdict holds)."""
    cached = results.for_check("policy", _digest(sorted(env.plurals.items()), sorted(env.scopes.items())), schemas) \
        if results is not None else None
    if cached is None and ahead is None:
        return evaluate(policies, manifests, env)
    namespaces: dict[str | None, str] = {}
    found: list[list[Violation] | None] = [None] * len(manifests)
    keys: dict[int, str] = {}
    candidates = Candidates(policies, env)
    for i, manifest in enumerate(manifests):
        if not kube.is_kubernetes_object(manifest) or not candidates.of(manifest, env.placed(manifest)):
            found[i] = []  # (no policy can apply: nothing to keep or look up)
            continue
        if cached is not None:
            default = env.default_namespace(manifest)
            namespace = manifest.namespace or default or "default"
            if namespace not in namespaces:
                namespaces[namespace] = _digest(env.namespaces.get(namespace))
            key = cached.key(manifest, default, namespaces[namespace])
            if key is not None:
                plain = cached.get_value(key)
                if type(plain) is list:
                    try:
                        found[i] = [violation_from_plain(manifest, fields) for fields in plain]
                        continue
                    except (TypeError, ValueError):
                        pass
                keys[i] = key  # (to be kept once evaluated)
        if ahead is not None and (plain := ahead.violations(manifest, env, store)) is not None:
            found[i] = [violation_from_plain(manifest, fields) for fields in plain]
    todo = [i for i, known in enumerate(found) if known is None]
    if len({id(manifests[i]) for i in todo}) != len(todo):  # an object listed twice: no grouping by object
        return evaluate(policies, manifests, env)
    by_manifest: dict[int, list[Violation]] = {}
    for violation in evaluate(policies, [manifests[i] for i in todo], env):
        by_manifest.setdefault(id(violation.manifest), []).append(violation)
    for i in todo:
        found[i] = by_manifest.get(id(manifests[i]), [])
    if cached is not None:
        for i, key in keys.items():
            cached.put_value(key, [plain_violation(v) for v in found[i] or ()])
        cached.save()
    return [violation for group in found if group is not None for violation in group]  # (all filled by now)


def _digest(*values) -> str:
    from wavegate.cache import blake2b  # (CPython's own BLAKE2: hashlib would load OpenSSL into every run)

    try:  # (marshal is a tenth of json's cost; a mapping's order counts, which can only cost a cache hit)
        text = marshal.dumps(values, 2)  # (version 2: no references, which depend on objects shared)
    except ValueError:  # (a value marshal does not take: never from the loader)
        text = json.dumps(values, sort_keys=True, default=repr).encode()
    return blake2b(text, digest_size=16).hexdigest()
