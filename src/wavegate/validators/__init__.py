"""Validators: pure checks `check(repo, ctx) -> Iterable[Finding]`, one module per check family.

Every module in this package that defines `check` is run; the order of modules does not matter,
since findings are sorted for output. A check never prints, exits, or touches the network or a
cluster (DESIGN.md invariant 2).
"""

from __future__ import annotations

import importlib
import pkgutil
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable

from wavegate.argocd.application import Application, DirectoryIndex
from wavegate.config import Config
from wavegate.findings import Finding
from wavegate.load import Manifest, Repo
from wavegate.rules import REGISTRY, declare

Check = Callable[[Repo, "Context"], Iterable[Finding]]

INTERNAL_ERROR = declare(
    "internal-error", "error", "A check failed unexpectedly",
    """A bug in wavegate stopped one of its checks, so part of the repository went unchecked.
    The finding says which check; please report it with the file that caused it.""",
    "# any input that makes a check raise", "# the same input, checked completely", "wavegate")


@dataclass
class Context:
    """What checks know besides the repository: configuration and what was derived from it."""

    repo: Repo
    config: Config = field(default_factory=Config)
    repo_url: str | None = None
    schemas: object | None = None  # the schema store (wavegate.schemas), when one was built
    policies: object | None = None  # a wavegate.policy.PolicySet from --policies; else config, else built-in
    debug: bool = False
    engine: str = "builtin"  # the schema engine: "builtin" or "kubeconform" (wavegate.schemas.kubeconform)
    exception_review: object | None = None  # a wavegate.policy.review.Review, read before the checks

    @property
    def argocd_version(self) -> int:
        return self.config.argocd_version

    @cached_property
    def applications(self) -> list[Application]:
        return Application.all_in(self.repo)

    @cached_property
    def synced_by(self) -> dict[int, list[Application]]:
        """For each manifest (by id), the Applications of this repository that sync it."""
        owners: dict[int, list[Application]] = {}
        manifests, untyped = DirectoryIndex(self.repo.manifests), DirectoryIndex(self.repo.untyped)
        for app in self.applications:
            for manifest in app.resources(self.repo, self.repo_url, index=manifests):
                owners.setdefault(id(manifest), []).append(app)
            for document in app.resources(self.repo, self.repo_url, self.repo.untyped, index=untyped):
                owners.setdefault(id(document), []).append(app)
        return owners

    def apps_of(self, manifest: Manifest) -> list[Application]:
        return self.synced_by.get(id(manifest), [])


def checks() -> list[tuple[str, Check]]:
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        check = getattr(loaded, "check", None)
        if callable(check):
            found.append((module.name, check))
    return found


def run(repo: Repo, ctx: Context) -> list[Finding]:
    """Every finding for `repo`: load problems and every check, with configured severities."""
    raw: list[Finding] = list(repo.problems)
    for found in _run_checks(checks(), repo, ctx):
        raw.extend(found)
    findings: list[Finding] = []
    seen: set[tuple] = set()
    for finding in raw:
        # A repository must not be able to switch off the policies it is held to: findings of
        # rules that are not configurable keep their severity (a policy's from its binding).
        rule = REGISTRY.get(finding.rule)
        severity = (finding.severity if rule is not None and not rule.configurable
                    else ctx.config.severity_for(finding.rule, finding.severity))
        if severity is None:
            continue
        if severity != finding.severity:
            finding = finding.with_severity(severity)
        key = (finding.rule, finding.path, finding.line, finding.column, finding.message)
        if key not in seen:
            seen.add(key)
            findings.append(finding)
    return findings


def _run_one(name: str, check: Check, repo: Repo, ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    try:
        found.extend(check(repo, ctx))
    except Exception as error:  # a bug must not hide the other checks' findings
        detail = traceback.format_exc() if ctx.debug else f"{type(error).__name__}: {error}"
        found.append(INTERNAL_ERROR.at_file(".", message=f"check {name!r} failed: {detail}",
                                            hint="Run with --debug and report this as a wavegate bug."))
    return found


# On a large repository, the checks whose module declares `INDEPENDENT = True` (they share no
# state with other checks through the context or the schema store) run in one forked worker
# process while this process runs the others: the same findings, in the same order, sooner.
# WAVEGATE_CHECK_WORKERS=1 (or a platform without fork) keeps everything in this process.
PARALLEL_MIN_MANIFESTS = 1000
_FORKED: tuple | None = None  # what the forked worker inherits: (checks, repo, ctx)


def _run_checks(found: list[tuple[str, Check]], repo: Repo, ctx: Context) -> list[list[Finding]]:
    import multiprocessing
    import os
    import sys

    independent = [i for i, (_, check) in enumerate(found)
                   if getattr(sys.modules.get(getattr(check, "__module__", "")), "INDEPENDENT", False) is True]
    parallel = (independent and len(independent) < len(found) and len(repo.manifests) >= PARALLEL_MIN_MANIFESTS
                and os.environ.get("WAVEGATE_CHECK_WORKERS", "").strip() != "1"
                and "fork" in multiprocessing.get_all_start_methods())
    if not parallel:
        return [_run_one(name, check, repo, ctx) for name, check in found]
    try:  # what most checks share, computed once before the fork (an error here is each check's to report)
        ctx.synced_by
    except Exception:  # noqa: BLE001
        pass
    global _FORKED
    results: list[list[Finding] | None] = [None] * len(found)
    _FORKED = (found, repo, ctx)
    pool = future = None
    try:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        future = pool.submit(_run_forked, independent)
    except Exception:  # noqa: BLE001 - no worker process here: run everything in this one
        future = None
    try:
        for i, (name, check) in enumerate(found):
            if future is None or i not in independent:
                results[i] = _run_one(name, check, repo, ctx)
        if future is not None:
            try:
                for i, forked in zip(independent, future.result()):
                    results[i] = forked
            except Exception:  # noqa: BLE001 - the worker died: run its checks here
                for i in independent:
                    results[i] = _run_one(*found[i], repo, ctx)
    finally:
        _FORKED = None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return results  # type: ignore[return-value]


def _run_forked(indexes: list[int]) -> list[list[Finding]]:
    found, repo, ctx = _FORKED  # type: ignore[misc]
    return [_run_one(*found[i], repo, ctx) for i in indexes]
