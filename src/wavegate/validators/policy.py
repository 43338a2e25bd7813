"""Security policies: ValidatingAdmissionPolicies evaluated offline on every manifest.

Which policies: a policy set the CLI put on the context (`ctx.policies`, from `--policies DIR`),
else the directory in .wavegate.yaml `policies:`, else the defaults shipped inside wavegate.
Policies that merely sit in the repository under validation are never used unless configured.
Whether the repository's exceptions were approved is read before the checks run
(`ctx.exception_review`, from wavegate.policy.review); None outside a merge-request pipeline.
"""

from __future__ import annotations

from typing import Iterable

from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.policy import exceptions as exc
from wavegate.policy.evaluate import Environment, evaluate
from wavegate.policy.model import PolicySet, load_policies
from wavegate.policy.rules import INVALID  # also declares the policy rules
from wavegate.schemas.defaults import admitted
from wavegate.validators.schema import store_for

# Shares no state with the other checks (it reads the schema store, for the defaults admission
# sees, but in a forked worker a store is a private copy), so on a large repository it runs in a
# worker process beside them (validators._run_checks).
INDEPENDENT = True


def policies_for(ctx) -> PolicySet:
    chosen = getattr(ctx, "policies", None)
    if isinstance(chosen, PolicySet):
        return chosen
    if chosen is None:
        chosen = getattr(ctx.config, "policies", None)
    return load_policies(chosen)


def check(repo: Repo, ctx) -> Iterable[Finding]:
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
    violations = evaluate(policies, repo.manifests, env)
    exceptions = exc.parse(ctx.config.raw.get("exceptions") or [])
    document = exc.config_document(ctx.config.path, repo.root) if exceptions else None
    yield from exc.apply(violations, exceptions, policies, document, review=getattr(ctx, "exception_review", None),
                         central=exc.granted(policies, ctx.repo_url))
