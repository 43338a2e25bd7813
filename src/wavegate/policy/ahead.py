"""Admission policies evaluated ahead of the render, on the CPU the render leaves idle.

The render is one process's work, and on a large repository the policy check is the costliest
check. Much of that check needs nothing the render makes: a built-in object whose namespace is
written in it (or that is cluster-scoped) is judged from its data, its Namespace object and the
policies alone. So when the loader has just parsed many documents, `start` forks a worker that
evaluates the policies on those while this process renders; `collect`, when the checks need the
verdicts (validators.Context.settle: just before the checks fork their own worker, or when the
policy check asks), stops the worker after the chunk at hand and takes them.

The policy check takes a verdict only for an object that is such a document unchanged (its data
itself: a directory source's copy), placed in the same namespace, whose Namespace object, plural,
scope and defaults are those the worker saw, under the same policies. Everything else it
evaluates as before, so the findings are the same with or without the worker
(tests/unit/test_policy_ahead.py compares them).
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from wavegate import kube
from wavegate.forked import Child, Tickets
from wavegate.load import Manifest, Repo
from wavegate.policy.model import Policy, PolicySet
from wavegate.record import field, record

if TYPE_CHECKING:  # (imported where used: a run without the worker does not need it here)
    from wavegate.policy.evaluate import Environment

# Below this many freshly parsed documents of Kubernetes' own kinds that a policy names, forking
# costs more than the worker saves (each such document is 0.1-0.3 ms of evaluation).
MIN_DOCUMENTS = 200
CHUNK_DOCUMENTS = 16  # (collect waits for the chunk at hand: a few ms)
# collect stops the worker; False lets it finish every document first (tests: no race with the render).
STOP_AT_COLLECT = True


@record
class Verdicts:
    """What the worker evaluated: per loaded document (its index in the loaded repository), where
    it placed it and the violations it found, as plain data."""

    loaded: Repo
    source: str  # the policy set's (PolicySet.source)
    kubernetes_version: str
    namespaces: dict[str, dict | None]  # each namespace's object, as the worker read it
    by_document: dict[int, tuple]  # index -> (scope, cluster-scoped, namespace, plural, violations' fields)
    _index: dict[int, int] | None = field(default=None, repr=False)
    _same_namespace: dict[str, bool] = field(default_factory=dict, repr=False)

    def violations(self, manifest: Manifest, env, store) -> list[tuple] | None:
        """The violations' fields for `manifest` when the worker's verdict holds for it (see the
        module's text), else None: evaluate it."""
        if self._index is None:
            self._index = {id(document.data): i for i, document in enumerate(self.loaded.manifests)}
        i = self._index.get(id(manifest.data))
        if i is None or self.loaded.manifests[i].data is not manifest.data:
            return None
        found = self.by_document.get(i)
        if found is None:
            return None
        scope, cluster_scoped, namespace, plural, violations = found
        if env.placed(manifest) != (scope, cluster_scoped, namespace) or env.plural(manifest) != plural:
            return None
        if namespace is not None and not self._namespace_as_seen(namespace, env):
            return None
        entry = store.lookup(manifest.api_version, manifest.kind) if store is not None else None
        if entry is None or entry.origin != "kubernetes" or store.kubernetes_version != self.kubernetes_version:
            return None
        return violations

    def _namespace_as_seen(self, namespace: str, env) -> bool:
        same = self._same_namespace.get(namespace)
        if same is None:
            same = self._same_namespace[namespace] = (namespace in self.namespaces
                                                      and env.namespaces.get(namespace) == self.namespaces[namespace])
        return same


class Ahead:
    """The worker, from `start` to `collect`."""

    def __init__(self, loaded: Repo, child: Child, tickets: Tickets):
        self.loaded = loaded
        self.child = child
        self.tickets = tickets

    def collect(self) -> Verdicts | None:
        """Stop the worker after its current chunk and take what it evaluated (None when it failed)."""
        if STOP_AT_COLLECT:
            self.tickets.stop()
        try:
            sent = self.child.result()
        finally:
            self.tickets.close()
        if not sent:
            return None
        try:
            source, version, namespaces, by_document = marshal.loads(sent)
        except (EOFError, ValueError, TypeError):
            return None
        return Verdicts(self.loaded, source, version, namespaces, by_document)


def start(loaded: Repo, policies: Path | str | None, kubernetes_version: str) -> Ahead | None:
    """The worker, evaluating the policies from `policies` (a directory, None: the shipped ones) on
    the documents the loader parsed; None where it would not pay or cannot run."""
    if len(loaded.manifests) < MIN_DOCUMENTS or not hasattr(os, "fork") or not _a_cpu_is_idle() \
            or os.environ.get("WAVEGATE_CHECK_WORKERS", "").strip() == "1":
        return None
    fresh = loaded.parsed
    if fresh is not None and len(fresh) < MIN_DOCUMENTS and sum(m.path in fresh for m in loaded.manifests) < MIN_DOCUMENTS:
        return None  # (a run after a few files changed: the rest comes from the cache; nothing for a worker)
    import importlib

    for module in ("wavegate.policy.evaluate", "wavegate.schemas.defaults", "wavegate.schemas.store"):
        importlib.import_module(module)  # (imported here, once: both processes need them)
    from wavegate.policy.model import load_policies

    try:
        policy_set = load_policies(policies)  # (kept for this process's policy check too)
    except (FileNotFoundError, NotADirectoryError):
        return None  # (the policy check reports it)
    # Worked out before the fork, in this process (which is quicker at it: the worker pays for each
    # page it touches), and in place of a count of the documents to judge that read them all too.
    env, eligible = _to_judge(loaded, fresh, policy_set, kubernetes_version)
    if len(eligible) < MIN_DOCUMENTS:
        return None
    # Before the fork, what both processes need: the programs, Kubernetes' schemas (for the defaults).
    _compile_for(policy_set, loaded.kinds())
    from wavegate.schemas.kubernetes import schemas_for

    schemas_for(kubernetes_version)
    # One ticket per chunk of documents the worker may judge (collect takes those it has not).
    try:
        tickets = Tickets(min(Tickets.LIMIT, -(-len(eligible) // CHUNK_DOCUMENTS)))
    except OSError:
        return None
    child = Child.fork(lambda: marshal.dumps(_evaluate(policy_set, kubernetes_version, env, eligible, tickets)))
    if child is None:
        tickets.close()
        return None
    return Ahead(loaded, child, tickets)


def _a_cpu_is_idle() -> bool:
    """Whether a CPU is free for the worker besides this process's one. On a busy machine the
    worker only takes CPU from the render (measured with one CPU kept busy: 8 % slower).

    Linux counts the tasks runnable right now (/proc/loadavg, this process one of them): the last
    minute's load average lags, and counts this command's own processes that have just ended
    (after a few runs in a row it said "busy" on an idle machine, and the worker was not used)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    running = _runnable_now()
    if running is not None:
        return running - 1 < cpus - 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return True
    return load < cpus - 0.5


def _runnable_now() -> int | None:
    """The tasks runnable at this moment, this process included (Linux), else None."""
    try:
        with open("/proc/loadavg", encoding="ascii") as stats:
            return int(stats.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _to_judge(loaded: Repo, fresh: set[str] | None, policies: PolicySet,
              kubernetes_version: str) -> tuple[Environment, list[tuple[int, Manifest, tuple]]]:
    """The environment the worker judges in, and what it judges: (index, document, where it is
    placed) of each fresh built-in document with its own namespace (or cluster-scoped) that some
    policy may apply to."""
    from wavegate.policy.evaluate import Candidates, Environment
    from wavegate.schemas.defaults import admitted
    from wavegate.schemas.store import SHIPPED_FILES, SchemaStore

    store = SchemaStore(kubernetes_version)  # (only Kubernetes' own kinds: the ones judged here)
    # (what Environment.of reads of the repository: its Namespaces and CustomResourceDefinitions)
    env = Environment.of([*loaded.by_kind("Namespace", ""), *loaded.by_kind("CustomResourceDefinition")],
                         repo=loaded, plurals=policies.plurals, admitted=lambda manifest: admitted(store, manifest))
    candidates = Candidates(policies, env)
    scopes: dict[tuple, str | None] = {}  # (apiVersion, kind) -> its scope when some policy may apply, else None
    eligible: list[tuple[int, Manifest, tuple]] = []
    for kind in _kinds_to_judge(loaded, policies):
        for i, manifest in loaded.by_kind_indexed(kind):
            if fresh is not None and manifest.path not in fresh:
                continue
            key = (manifest.data.get("apiVersion"), kind)
            if key not in scopes:
                scope = kube.scope((manifest.group, kind))
                # (a group wavegate ships schemas for, Argo CD's, has none of Kubernetes' own kinds:
                # not looked up, which would read its schemas, 11 ms)
                entry = store.lookup(manifest.api_version, kind) \
                    if scope and manifest.group not in SHIPPED_FILES and kube.is_kubernetes_object(manifest) else None
                placed = (scope, scope == kube.CLUSTER, None if scope == kube.CLUSTER else "default")
                scopes[key] = scope if (entry is not None and entry.origin == "kubernetes"
                                        and candidates.of(manifest, placed)) else None
            scope = scopes[key]
            if scope is None:
                continue
            if scope == kube.CLUSTER:
                eligible.append((i, manifest, (scope, True, None)))
            elif (namespace := manifest.namespace) is not None:  # (else the render says where: its Application)
                eligible.append((i, manifest, (scope, False, namespace or "default")))  # (as env.placed)
    return env, eligible


def _evaluate(policies: PolicySet, kubernetes_version: str, env: Environment,
              eligible: list[tuple[int, Manifest, tuple]], tickets: Tickets) -> tuple:
    """The worker's part: the verdicts on the documents to judge (_to_judge), chunk by chunk until
    collect stops it. (It looks at as few objects as it can: each one it touches is a page the fork
    copies.)"""
    from wavegate.policy.evaluate import evaluate, plain_violation

    try:
        os.nice(5)  # (the render, and the tools it runs, come first)
    except OSError:
        pass
    by_document: dict[int, tuple] = {}
    namespaces: dict[str, dict | None] = {}
    for taken in tickets:
        chunk = eligible[taken * CHUNK_DOCUMENTS:(taken + 1) * CHUNK_DOCUMENTS]
        if not chunk:
            break
        found: dict[int, list] = {}
        for violation in evaluate(policies, [manifest for _, manifest, _ in chunk], env):
            found.setdefault(id(violation.manifest), []).append(plain_violation(violation))
        for i, manifest, (scope, cluster_scoped, namespace) in chunk:
            by_document[i] = (scope, cluster_scoped, namespace, env.plural(manifest), found.get(id(manifest), []))
            if namespace is not None:
                namespaces[namespace] = env.namespaces.get(namespace)
    return policies.source, kubernetes_version, namespaces, by_document


def _kinds_to_judge(loaded: Repo, policies: PolicySet) -> list[str]:
    """The kinds of `loaded` that are Kubernetes' own (in some group) and whose resource some policy names."""
    from wavegate.policy.match import guess_plural

    named = _resources_named(policies.policies.values())
    own = {kind for _, kind in (*kube.BUILTIN_CLUSTER_SCOPED, *kube.BUILTIN_NAMESPACED)}
    return [kind for kind in loaded.kinds() if kind in own and (named is None or guess_plural(kind) in named)]


def _compile_for(policies: PolicySet, kinds: list[str]) -> None:
    """Compile what evaluating the policies that name one of `kinds` needs."""
    from wavegate.policy.evaluate import prepare
    from wavegate.policy.match import guess_plural

    plurals = {guess_plural(kind) for kind in kinds}
    for policy in policies.policies.values():
        named = _resources_named([policy])
        if named is None or named & plurals:
            prepare(policies, policy)


def _resources_named(policies: Iterable[Policy]) -> set[str] | None:
    """The resources the policies' matchConstraints name, or None when one may match any (`*`, no
    rules, or rules this does not read)."""
    named: set[str] = set()
    for policy in policies:
        constraints = policy.spec.get("matchConstraints")
        rules = constraints.get("resourceRules") if isinstance(constraints, dict) else None
        if not isinstance(rules, list) or not rules:
            return None
        for rule in rules:
            resources = rule.get("resources") if isinstance(rule, dict) else None
            if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
                return None
            for resource in resources:
                plural = resource.split("/")[0]
                if "*" in plural:
                    return None
                named.add(plural)
    return named
