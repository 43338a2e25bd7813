"""Schemas of Kubernetes' own kinds: the objects the schema check leaves to this one, judged the
same way (wavegate.validators.schema), apart so that the two processes of the checks share the
work: the schema check runs beside the policy check, which reads its results; nothing reads these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.schemas.store import store_for
from wavegate.validators import Context, per_object, schema


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    if getattr(ctx, "engine", "builtin") == "kubeconform":
        return  # (the schema check hands every object to kubeconform)
    store = store_for(ctx)
    judged_here = schema.kubernetes_own(store)
    judged = [m for m in repo.manifests if judged_here(m)]
    if getattr(ctx, "results", None) is None:  # (every object is validated: none comes from a cache)
        for (api_version, kind), count in Counter((m.api_version, m.kind) for m in judged).items():
            entry = store.lookup(api_version, kind)
            if entry is not None:
                entry.expect(count)
    yield from per_object(ctx, "schema-kubernetes", judged,
                          lambda manifest: schema.check_manifest(store, manifest), store.fingerprint())
