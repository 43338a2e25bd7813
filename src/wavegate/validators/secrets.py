"""Secrets written into Git: a Secret with `data` or `stringData` in what Argo CD syncs.

Which Secrets: those an Application of the repository syncs; in a repository without
Applications, every Secret (the repository is what some Application elsewhere syncs). A
`kubernetes.io/service-account-token` Secret without data is how a long-lived token is requested
(the token controller fills it in), so it is not one.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import declare
from wavegate.validators import Context

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"

PLAINTEXT = declare(
    id="secret-in-git", family="kubernetes", severity="warning",
    title="A Secret with data is in a path Argo CD syncs",
    rationale="""A Secret's `data` is base64, not encryption: whoever can read the repository (and its forks,
    clones, CI logs and backups) can read the value, for as long as the history exists. Keep the
    value in a secret store and commit a reference to it: an ExternalSecret (External Secrets
    Operator) that the cluster resolves, or a SealedSecret that only the cluster can decrypt. A
    `kubernetes.io/service-account-token` Secret without data is fine: it asks the cluster for a
    token.""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    every = not ctx.applications
    for manifest in repo.having(kinds=("Secret",)):
        if manifest.group != "" or not (every or ctx.apps_of(manifest)):
            continue
        finding = _plaintext(manifest, ctx)
        if finding is not None:
            yield finding


def _plaintext(manifest: Manifest, ctx) -> Finding | None:
    filled = [key for key in ("data", "stringData") if isinstance(manifest.data.get(key), dict) and manifest.data[key]]
    if not filled:
        return None
    values = manifest.data[filled[0]]
    keys = ", ".join(sorted(str(k) for k in values)[:5]) + (", ..." if len(values) > 5 else "")
    synced = ", ".join(sorted({app.name for app in ctx.apps_of(manifest)}))
    by = f"Application {synced} syncs it" if synced else "it is in the repository Argo CD syncs"
    return PLAINTEXT.at(
        manifest, (filled[0],),
        f"Secret {manifest.name} has {filled[0]} ({keys}) in Git and {by}: anyone who can read the repository can "
        "read the values", hint="Replace it with an ExternalSecret (external-secrets.io) or a SealedSecret "
                                "(bitnami.com), and rotate the values that were committed.")
