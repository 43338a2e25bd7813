"""Schemas: the one store (Kubernetes built-ins, CRDs, RGDs, bundles, shipped Argo CD and Backstage
schemas) and the built-in engine that checks instances against it as the API server does.

    store = SchemaStore.build(repo, config, extra_paths=args.schemas,
                              kubernetes_version=args.kubernetes_version)
    entry = store.lookup("apps/v1", "Deployment")
    problems, stored = entry.validate(manifest.data)
"""

from wavegate.schemas.store import Entry, SchemaSourceError, SchemaStore, split_api_version

__all__ = ["Entry", "SchemaSourceError", "SchemaStore", "split_api_version"]
