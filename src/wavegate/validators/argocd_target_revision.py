"""Applications of a protected environment must name a revision that does not move.

An environment of `.wavegate.yaml` marked `protected: true` (production, say) is promoted by
merge request, so what it runs should change only through a commit to it. A source whose
targetRevision is HEAD (or empty), a branch, or a semver range (`1.2.*`, `>=1.0`, `^2`) follows
another repository's moves instead: Argo CD syncs whatever that ref points at next. Off elsewhere.

Which Applications belong to an environment: its configured `application`, else those whose
source path is the environment's folder, and every Application whose file is in that folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from wavegate.argocd.application import Application, floating_revision, normalize_dir
from wavegate.findings import Finding
from wavegate.load import Repo
from wavegate.rules import declare
from wavegate.validators import Context

FLOATING = declare(
    id="target-revision-floating", family="argocd", severity="error",
    title="An Application of a protected environment follows a moving revision",
    rationale="""In an environment the configuration marks `protected: true`, every source of its Applications
    must name a revision that only a commit can change: a tag that is a version (v1.4.2), a commit
    SHA, an exact chart version, or an OCI digest. HEAD (also an empty targetRevision), a branch
    (main, release/1.x) or a semver range (1.2.*, >=1.0, ^2) makes Argo CD sync whatever that ref
    points at next: a change reaches the protected environment without a merge request to it. Other
    environments are not checked (a development environment that follows main is normal).""")


def check(repo: Repo, ctx: Context) -> Iterable[Finding]:
    protected = [env for env in ctx.config.environments if env.protected]
    if not protected:
        return
    for env, app in _applications(protected, repo, ctx):
        spec = app.manifest.get("spec", default={}) or {}
        sources = ([(("spec", "source"), spec["source"])] if isinstance(spec.get("source"), dict) else []) + [
            (("spec", "sources", i), s) for i, s in enumerate(spec.get("sources") or []) if isinstance(s, dict)]
        for path, source in sources:
            moving = floating_revision(source)
            if moving is None:
                continue
            written = "targetRevision" in source
            yield FLOATING.at(
                app.manifest, path + ("targetRevision",) if written else path,
                f"Application {app.name} is in the protected environment {env.name!r}, and its source "
                f"{source.get('repoURL', '')!r}: {moving}", key=not written,
                hint="Pin it: a version tag (v1.4.2), a commit SHA, or an exact chart version; promote changes "
                     "into this environment by merge request.")


def _applications(protected, repo: Repo, ctx):
    """(environment, Application) for each Application of each protected environment, once each."""
    base = _config_dir(repo, ctx)
    seen: set[int] = set()
    for env in protected:
        folder = normalize_dir(f"{base}/{env.path}" if base else env.path)
        for app in ctx.applications:
            if id(app.manifest) in seen or not _belongs(app, env, folder):
                continue
            seen.add(id(app.manifest))
            yield env, app


def _belongs(app: Application, env, folder: str) -> bool:
    if env.application:
        if app.name == env.application.get("name") and (
                app.manifest.namespace or "argocd") == env.application.get("namespace", "argocd"):
            return True
    elif any(source.path == folder for source in app.sources):
        return True
    return app.manifest.path == folder or app.manifest.path.startswith(folder + "/") if folder else True


def _config_dir(repo: Repo, ctx) -> str:
    """The configuration file's folder, relative to the repository (environment paths are relative to it)."""
    if ctx.config.path is None:
        return ""
    try:
        relative = Path(ctx.config.path).resolve().parent.relative_to(Path(repo.root).resolve()).as_posix()
    except ValueError:
        return ""
    return "" if relative == "." else relative
