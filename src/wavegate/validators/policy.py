"""Security policies: ValidatingAdmissionPolicies evaluated offline on every manifest.

Which policies: a policy set the CLI put on the context (`ctx.policies`, from `--policies DIR`),
else the directory in .wavegate.yaml `policies:`, else the defaults shipped inside wavegate.
Policies that merely sit in the repository under validation are never used unless configured.
Whether the repository's exceptions were approved is read before the checks run
(`ctx.exception_review`, from wavegate.policy.review); None outside a merge-request pipeline.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

from wavegate import kube
from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.policy import exceptions as exc
from wavegate.policy.evaluate import Candidates, Environment, Violation, evaluate, evaluate_each
from wavegate.policy.model import PolicySet, policies_for
from wavegate.policy.rules import INVALID  # also declares the policy rules
from wavegate.schemas.defaults import admitted
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
    violations = _violations(policies, repo.manifests, env, ctx, store.fingerprint())
    exceptions = exc.parse(ctx.config.raw.get("exceptions") or [])
    document = exc.config_document(ctx.config.path, repo.root) if exceptions else None
    yield from exc.apply(violations, exceptions, policies, document, review=getattr(ctx, "exception_review", None),
                         central=exc.granted(policies, ctx.repo_url))


# The fields of a Violation as kept (in the cache, or sent by a speculation): all but the manifest.
_FIELDS = tuple(f.name for f in dataclasses.fields(Violation) if f.name != "manifest")


def _violations(policies: PolicySet, manifests: list, env: Environment, ctx: Context, schemas: str) -> list[Violation]:
    """evaluate(policies, manifests, env), with each object's violations taken where they were
    worked out before: kept between runs (`ctx.results`, wavegate.cache), or by the process that
    speculated while this one rendered (`ctx.speculated`, wavegate.speculation). A kept result
    stands until the object, the Application that syncs it (its default namespace), its Namespace
    object, what the repository says about plurals and scopes, or the schema store whose defaults
    admission sees changed (the policies themselves are in the results' scope)."""
    context = (_digest(sorted(env.plurals.items()), sorted(env.scopes.items())), schemas)
    results = getattr(ctx, "results", None)
    cached = results.for_check("policy", *context) if results is not None else None
    speculated = getattr(ctx, "speculated", None)
    ahead = speculated.lookup("policy", context) if speculated is not None else None
    if cached is None and ahead is None:
        return evaluate(policies, manifests, env)
    namespaces: dict[str | None, str] = {}

    def namespace_digest(namespace: str | None) -> str:
        if namespace not in namespaces:
            namespaces[namespace] = _digest(env.namespaces.get(namespace)) if namespace is not None else ""
        return namespaces[namespace]

    found: list[list[Violation] | None] = [None] * len(manifests)
    keys: dict[int, str] = {}
    candidates = Candidates(policies, env)
    for i, manifest in enumerate(manifests):
        if cached is not None:
            if not kube.is_kubernetes_object(manifest) or not candidates.of(manifest, env.placed(manifest)):
                found[i] = []  # (no policy can apply: nothing to keep or look up)
                continue
            default = env.default_namespace(manifest)
            key = cached.key(manifest, default, namespace_digest(manifest.namespace or default or "default"))
            if key is not None:
                keys[i] = key
                found[i] = _from_plain(cached.get_value(key), manifest)
        if found[i] is None and ahead is not None:
            sent = ahead(manifest)
            if type(sent) is tuple and len(sent) == 2 and sent[0] == namespace_digest(_placed(env, manifest)):
                found[i] = ahead_found = _from_plain(sent[1], manifest)
                if cached is not None and i in keys and ahead_found is not None:  # (kept for the next run)
                    cached.put_value(keys[i], sent[1])
    todo = [i for i, known in enumerate(found) if known is None]
    for i, violations in zip(todo, evaluate_each(policies, [manifests[i] for i in todo], env), strict=True):
        found[i] = violations
        if cached is not None and i in keys:
            cached.put_value(keys[i], [tuple((name, getattr(v, name)) for name in _FIELDS) for v in violations])
    if cached is not None:
        cached.save()
    return [violation for group in found if group is not None for violation in group]  # (all filled by now)


def _placed(env: Environment, manifest) -> str | None:
    """The namespace an object lands in, for an object the speculation judged (one with its own
    namespace, or of a cluster-scoped kind: where the render puts it does not matter)."""
    return None if env.scope(manifest) == kube.CLUSTER else manifest.namespace


def ahead(repo: Repo, ctx: Context, manifests: list) -> tuple[tuple, dict]:
    """The violations of `manifests` (documents of `repo` as the loader read them), judged ahead
    while the repository renders (wavegate.speculation): the context they were judged under, and
    for each document whose namespace the render cannot change (its own, or none for a kind that
    is cluster-scoped) the digest of the Namespace it lands in and its violations."""
    def make():
        policies = policies_for(ctx)
        store = store_for(ctx)
        env = Environment.of(repo.manifests, repo=repo, plurals=policies.plurals,
                             admitted=lambda manifest: admitted(store, manifest))
        context = (_digest(sorted(env.plurals.items()), sorted(env.scopes.items())), store.fingerprint())
        return policies, env, context, {}

    policies, env, context, digests = ctx.once("policy ahead", make)
    judged = [m for m in manifests if isinstance(m.namespace, str) or env.scope(m) == kube.CLUSTER]
    found = {}
    for manifest, violations in zip(judged, evaluate_each(policies, judged, env), strict=True):
        namespace = _placed(env, manifest)
        if namespace not in digests:
            digests[namespace] = _digest(env.namespaces.get(namespace)) if namespace is not None else ""
        found[(manifest.path, manifest.doc_index)] = (
            digests[namespace], [tuple((name, getattr(v, name)) for name in _FIELDS) for v in violations])
    return context, found


def _from_plain(plain, manifest) -> list[Violation] | None:
    """Violations of `manifest` from their kept form; None when `plain` is not that."""
    if type(plain) is not list:
        return None
    try:
        return [Violation(manifest=manifest, **dict(fields)) for fields in plain]
    except (TypeError, ValueError):
        return None


def _digest(*values) -> str:
    from wavegate.cache import blake2b  # (CPython's own BLAKE2: hashlib would load OpenSSL into every run)

    return blake2b(json.dumps(values, sort_keys=True, default=repr).encode(), digest_size=16).hexdigest()
