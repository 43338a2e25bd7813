"""Promotion, rollback and history: plan, validate, gate, commit, push, merge request.

    prepare()  -> Prepared: the plan, the validation of its result, the gates (nothing written)
    promote()  -> Outcome: commit on `wavegate/promote-A-to-B`, push, one merge request
    rollback() -> Outcome: commit on `wavegate/rollback-B` restoring B's folder, push, one MR
    history()  -> the promotions and rollbacks of B, from commit trailers

Branch safety: every commit wavegate makes carries `Wavegate-Tree: <its own tree>`. A commit on the
promotion branch (and not on the target branch) without it, or whose tree is not that value (an
amend, a rebase, a hand edit), was not made by wavegate: the run stops, names the commits, and
never pushes over them. Pushes use `--force-with-lease=<branch>:<what we read>`, so a concurrent
run's commit is never lost: the losing run reads the branch again and finds nothing left to do.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from wavegate.config import Config, Environment, load_config
from wavegate.findings import Finding, Severity
from wavegate.git import Commit, Git, GitError
from wavegate.promote import mr as texts
from wavegate.promote.gates import Gate, freeze_gate, health_gates, validation_gate
from wavegate.promote.plan import Plan, PlanError, build_plan
from wavegate.record import field, record

PUSH_ATTEMPTS = 6


class PromotionError(Exception):
    """The promotion cannot go on (usage, git, GitLab): one line, exit 2."""


class PromotionStopped(Exception):
    """Someone else's commits are on the branch: wavegate stops without touching it (exit 1)."""


@record
class Options:
    root: Path
    source: str | None = None
    target: str | None = None
    config: Path | None = None
    prune: bool = False
    push: bool = True
    remote: str = "origin"
    target_branch: str | None = None
    source_ref: str = "HEAD"
    skip_gates: bool = False
    plan_only: bool = False  # --plan: nothing is pushed, so a clone without the remote can still plan
    cluster_kind: str = "kubeconfig"
    context: str | None = None
    cluster: object | None = None  # a started wavegate.cluster.Cluster (tests), else opened here
    gitlab: object | None = None  # a wavegate.gitlab.GitLab, else GitLab.from_env() when pushing
    project: str | None = None
    now: datetime | None = None


@record
class Prepared:
    config: Config
    source: Environment
    target: Environment
    git: Git | None
    source_repo_path: str  # the environments' folders relative to the git top level
    target_repo_path: str
    source_commit: str | None
    target_branch: str | None
    base: str | None  # the target branch commit the plan is made against
    plan: Plan
    validation: dict
    findings: list[Finding]
    gates: list[Gate]
    blocked: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"version": 1, "plan": self.plan.as_json(), "sourceCommit": self.source_commit,
                "targetBranch": self.target_branch, "targetCommit": self.base,
                "validation": {k: v for k, v in self.validation.items() if k != "listed"}
                | {"findings": [f.as_json() for f in self.findings]},
                "gates": [g.as_json() for g in self.gates], "skippedGates": False, "blocked": self.blocked}


@record
class Outcome:
    action: str  # committed | unchanged | nothing-to-promote | blocked | planned
    branch: str | None = None
    commit: str | None = None
    merge_request: object | None = None
    message: str = ""


# -- preparing -------------------------------------------------------------------------------


def _now(opts: Options) -> datetime:
    return opts.now or datetime.now(UTC)


def _setup(opts: Options):
    config = load_config(opts.root, opts.config)
    if config.path is None:
        raise PromotionError(f"{opts.root}: no .wavegate.yaml; promotion needs its `environments:` block")
    config_dir = config.path.parent.resolve()
    git = Git(config_dir) if Git.is_repo(config_dir) else None
    top = git.toplevel().resolve() if git else config_dir

    def repo_path(env: Environment) -> str:
        return (config_dir / env.path).resolve().relative_to(top).as_posix()

    config_rel = config.path.resolve().relative_to(top)
    return config, config_dir, git, top, repo_path, config_rel


def _target_branch(git: Git, opts: Options) -> str:
    if opts.target_branch:
        return opts.target_branch
    if opts.push and git.has_remote(opts.remote):
        found = git.remote_default_branch(opts.remote)
        if found:
            return found
    branch = git.current_branch()
    if branch is None:
        raise PromotionError("HEAD is detached: say which branch the merge request targets (--target-branch)")
    return branch


def _base(git: Git, opts: Options, branch: str) -> str:
    if opts.push and not (opts.plan_only and not git.has_remote(opts.remote)):
        if not git.has_remote(opts.remote):
            raise PromotionError(f"no git remote {opts.remote!r}: add it, pass --remote, or use --no-push")
        git.fetch(opts.remote, branch)
        sha = git.rev_parse(f"refs/remotes/{opts.remote}/{branch}")
    else:
        sha = git.rev_parse(f"refs/heads/{branch}")
    if sha is None:
        raise PromotionError(f"branch {branch!r} does not exist" + (f" on {opts.remote}" if opts.push else ""))
    return sha


def validate_tree(root: Path, config_rel: Path, repo_url: str | None) -> list[Finding]:
    """`wavegate validate` on a snapshot directory, with the snapshot's own configuration."""
    from wavegate import pipeline

    config_dir = root / config_rel.parent
    explicit = root / config_rel if (root / config_rel).exists() and config_rel.name != ".wavegate.yaml" else None
    config = load_config(config_dir, explicit)
    options = pipeline.Options(root=config_dir, config_file=explicit, repo_url=config.repo_url or repo_url)
    return pipeline.validate(options).findings


def _snapshot(git: Git | None, rev: str | None, top: Path, dest: Path) -> None:
    if git is not None and rev is not None:
        git.archive_to(rev, dest)
    else:
        shutil.copytree(top, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))


def _read_folder(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def prepare(opts: Options) -> Prepared:
    from wavegate.config import repository_url

    config, config_dir, git, top, repo_path, config_rel = _setup(opts)
    source, target = config.environment(opts.source), config.environment(opts.target)
    if target.promote_from != source.name:
        allowed = f"{target.name} is promoted from {target.promote_from}" if target.promote_from else \
            f"{target.name} has no promoteFrom"
        raise PromotionError(f"cannot promote {source.name} to {target.name}: {allowed} (.wavegate.yaml)")
    source_commit = target_branch = base = None
    if git is not None:
        source_commit = git.rev_parse(opts.source_ref)
        if source_commit is None:
            raise PromotionError(f"{opts.source_ref!r} is not a commit")
        target_branch = _target_branch(git, opts)
        base = _base(git, opts, target_branch)
        source_files = git.files_at(source_commit, repo_path(source))
        target_files = git.files_at(base, repo_path(target))
    else:
        source_files = _read_folder(config_dir / source.path)
        target_files = _read_folder(config_dir / target.path)
    try:
        plan = build_plan(source.name, target.name, source_files, target_files, target.keep, opts.prune,
                          source.path, target.path)
    except PlanError as error:
        raise PromotionError(str(error)) from None
    repo_url = repository_url(config, config_dir)
    with tempfile.TemporaryDirectory(prefix="wavegate-promote-") as tmp:
        src_dir, dst_dir = Path(tmp) / "source", Path(tmp) / "result"
        _snapshot(git, source_commit, top, src_dir)
        source_findings = validate_tree(src_dir, config_rel, repo_url)
        from wavegate.load import load

        source_repo = load(src_dir / config_rel.parent, exclude=config.exclude, limits=config.limits)
        _snapshot(git, base, top, dst_dir)
        before = validate_tree(dst_dir, config_rel, repo_url)
        folder = dst_dir / config_rel.parent / target.path
        for rel, data in plan.writes.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        for rel in plan.removals:
            (folder / rel).unlink()
        after = validate_tree(dst_dir, config_rel, repo_url)
    prefix = target.path.strip("/") + "/"
    old = {f.fingerprint for f in before}
    blocking = [f for f in after if f.severity >= Severity.ERROR and (f.path.startswith(prefix) or f.fingerprint not in old)]
    warnings = [f for f in after if f.severity == Severity.WARNING and f.path.startswith(prefix)]
    validation = {"errors": len(blocking), "warnings": len(warnings),
                  "files": sum(1 for f in plan.files if f.status != "only-in-target"),
                  "listed": [f"`{f.path}:{f.line}` {f.rule}: {f.message}" for f in blocking]}
    gates = [validation_gate(source.name, source.path, source_commit, source_findings)]
    if not opts.skip_gates:
        gates += _cluster_gates(opts, config, source, target, source_repo, git, repo_path(source), source_commit)
        freeze = freeze_gate(target.name, (target.gates or {}).get("freeze") or [], _now(opts))
        if freeze is not None:
            gates.append(freeze)
    prepared = Prepared(config, source, target, git, repo_path(source), repo_path(target), source_commit,
                        target_branch, base, plan, validation, blocking, gates)
    if blocking:
        prepared.blocked.append(f"the promoted {target.name} does not validate: {len(blocking)} errors")
    for gate in gates:
        if not gate.passed:
            prepared.blocked.append(f"gate {gate.name}: {gate.evidence}; {gate.wait}")
    return prepared


def _cluster_gates(opts, config, source, target, source_repo, git, source_repo_path, commit) -> list[Gate]:
    gates_config = target.gates or {}
    if not gates_config.get("healthy") and not gates_config.get("soak"):
        return []
    from wavegate import status

    app_ref = status.application_of(source, source_repo)
    if app_ref is None:
        return [Gate("healthy", False, f"no Application of {source.name} found (none has source.path "
                                       f"{source.path})", f"set `application:` of {source.name} in .wavegate.yaml")]
    cluster = opts.cluster
    owned = cluster is None
    if owned:
        from wavegate.cluster import open_cluster
        from wavegate.cluster.base import ClusterError

        try:
            cluster = open_cluster(opts.cluster_kind, **({"context": opts.context} if opts.context else {})).start()
        except ClusterError as error:
            # An unreadable cluster is a gate that has not passed, not a crash: --plan still shows
            # the plan, and a real run is blocked with what to do.
            return [Gate("healthy", False, f"cannot read {source.name}'s Application: {error}",
                         "make the cluster reachable (KUBECONFIG and --context), or pass --skip-gates, "
                         "which the merge request records")]
    try:
        with cluster.reader() as read:
            app = status.read_application(read, *app_ref, now=_now(opts))
    finally:
        if owned:
            cluster.stop()
    source_tree = git.tree_of(commit, source_repo_path) if git and commit else None

    def same_content(rev: str) -> bool:
        return bool(source_tree) and git.tree_of(rev, source_repo_path) == source_tree

    return health_gates(app, source.name, commit, gates_config.get("soak"), bool(gates_config.get("healthy")),
                        target.name, _now(opts), same_content)


# -- committing ------------------------------------------------------------------------------


def made_by_wavegate(commit: Commit) -> bool:
    return commit.trailers.get("Wavegate-Tree") == commit.tree and \
        ("Promoted-From" in commit.trailers or "Rolled-Back-To" in commit.trailers)


def _foreign(git: Git, base: str, tip: str) -> list[Commit]:
    return [c for c in git.commits(f"{base}..{tip}") if not made_by_wavegate(c)]


def _stopped_message(branch: str, foreign: list[Commit]) -> str:
    named = "; ".join(f"{c.sha[:12]} {c.subject!r} by {c.author}" for c in foreign[:5])
    more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    return (f"{branch} has {len(foreign)} commit{'s' * (len(foreign) != 1)} wavegate did not make: {named}{more}. "
            f"wavegate never overwrites them: merge or close the merge request and delete the branch, or take "
            f"the change into {branch.split('/')[-1]} by hand; then run again")


def _branch_tip(git: Git, opts: Options, branch: str) -> str | None:
    if opts.push:
        sha = git.ls_remote(opts.remote, branch)
        if sha is not None:
            git.fetch(opts.remote, branch)
        return sha
    return git.rev_parse(f"refs/heads/{branch}")


def _commit_and_push(git: Git, opts: Options, branch: str, base: str, folder: str, message_for, *,
                     write=None, remove=(), restore_from=None) -> tuple[str, str | None]:
    """('committed'|'unchanged'|'retry', commit). Builds the tree on `base`, on top of the branch."""
    tip = _branch_tip(git, opts, branch)
    if tip is not None and not git.is_ancestor(tip, base):
        foreign = _foreign(git, base, tip)
        if foreign:
            raise PromotionStopped(_stopped_message(branch, foreign))
    tree = git.commit_folder(base, folder, write=write, remove=list(remove), restore_from=restore_from)
    if tip is not None and git.tree_of(tip) == tree:
        return "unchanged", tip
    if tip is not None and not git.is_ancestor(tip, base):
        parents = [tip] + ([base] if not git.is_ancestor(base, tip) else [])
    else:
        parents = [base]
    commit = git.commit_tree(tree, parents, message_for(tree))
    if opts.push:
        pushed, said = git.push(opts.remote, commit, branch, tip)
        if not pushed:
            if any(w in said for w in ("stale info", "rejected", "failed to lock", "cannot lock", "fetch first",
                                      "non-fast-forward", "already exists")):
                return "retry", None
            raise PromotionError(f"git push to {opts.remote} {branch} failed: {said.splitlines()[-1] if said else ''}")
    elif not git.update_ref(f"refs/heads/{branch}", commit, tip):
        return "retry", None
    return "committed", commit


def _gitlab(opts: Options):
    if opts.gitlab is not None:
        return opts.gitlab
    from wavegate.gitlab import GitLab, GitLabError

    try:
        return GitLab.from_env()
    except GitLabError as error:
        raise PromotionError(str(error)) from None


def _merge_request(opts, branch, target_branch, title, description, labels, committed, approvals, target_name):
    from wavegate.gitlab import GitLabError

    gl = _gitlab(opts)
    try:
        project = opts.project or gl.project
        if committed:
            request = gl.create_or_update_mr(project, branch, target_branch, title, description, labels)
        else:
            request = gl.find_open_mr(project, branch, target_branch) or \
                gl.create_or_update_mr(project, branch, target_branch, title, description, labels)
        if approvals:
            gl.set_approval_rule(project, request.iid, f"wavegate: {target_name}", approvals)
    except GitLabError as error:
        raise PromotionError(str(error)) from None
    return request


def promote(opts: Options, prepared: Prepared | None = None) -> tuple[Prepared, Outcome]:
    for _attempt in range(PUSH_ATTEMPTS):
        prepared = prepared or prepare(opts)
        if prepared.blocked:
            return prepared, Outcome("blocked", message="; ".join(prepared.blocked))
        plan, git = prepared.plan, prepared.git
        if git is None:
            raise PromotionError(f"{opts.root} is not a git repository: only --plan works without git")
        branch = texts.branch_name(plan.source, plan.target)
        if plan.empty:
            return prepared, Outcome("nothing-to-promote", branch, message=(
                f"{plan.target} already matches {plan.source} at {(prepared.source_commit or '')[:12]}: nothing to promote"))
        skipped = opts.skip_gates
        source_commit, gates, base = prepared.source_commit, prepared.gates, prepared.base
        assert base is not None, "prepare() finds the target branch's commit whenever there is git"

        def message_for(tree: str) -> str:
            # called within this iteration, by _commit_and_push below
            return texts.commit_message(plan, source_commit, gates, skipped, tree)  # noqa: B023

        try:
            action, commit = _commit_and_push(git, opts, branch, base, prepared.target_repo_path, message_for,
                                              write=plan.writes, remove=plan.removals)
        except GitError as error:
            raise PromotionError(str(error)) from None
        if action == "retry":
            prepared = None
            continue
        request = None
        if opts.push:
            approvals = int((prepared.target.gates or {}).get("approvals") or 0)
            description = texts.description(plan, prepared.source_commit, prepared.validation, prepared.gates,
                                            skipped, approvals)
            request = _merge_request(opts, branch, prepared.target_branch, texts.title(plan), description,
                                     texts.labels(plan.target), action == "committed", approvals, plan.target)
        return prepared, Outcome(action, branch, commit, request)
    raise PromotionError(f"the promotion branch kept changing while pushing ({PUSH_ATTEMPTS} attempts); run again")


# -- history and rollback --------------------------------------------------------------------


@record
class Entry:
    commit: str
    when: str
    kind: str  # promotion | rollback
    source: str | None
    source_commit: str | None
    rolled_back_to: str | None
    gates: dict
    author: str
    subject: str

    def as_json(self) -> dict:
        return {"commit": self.commit, "when": self.when, "kind": self.kind, "from": self.source,
                "sourceCommit": self.source_commit, "rolledBackTo": self.rolled_back_to, "gates": self.gates,
                "author": self.author, "subject": self.subject}


def entries(git: Git, rev: str, env: str) -> list[Entry]:
    found = []
    for c in git.commits(rev):
        if c.trailers.get("Promoted-To") != env:
            continue
        found.append(Entry(c.sha, datetime.fromtimestamp(c.time, UTC).isoformat().replace("+00:00", "Z"),
                           "rollback" if "Rolled-Back-To" in c.trailers else "promotion", c.trailers.get("Promoted-From"),
                           c.trailers.get("Promoted-Commit"), c.trailers.get("Rolled-Back-To"),
                           {k[len("Gate-"):].lower(): v for k, v in c.trailers.items() if k.startswith("Gate-")},
                           c.author, c.subject))
    return found


def history(opts: Options, env_name: str) -> tuple[Environment, str, list[Entry]]:
    config, config_dir, git, top, repo_path, config_rel = _setup(opts)
    env = config.environment(env_name)
    if git is None:
        raise PromotionError(f"{opts.root} is not a git repository: history is read from git")
    branch = _target_branch(git, opts)
    base = _base(git, opts, branch) if opts.push else (git.rev_parse(f"refs/heads/{branch}") or git.rev_parse("HEAD"))
    return env, branch, entries(git, base, env.name)


def rollback(opts: Options, env_name: str, to: str | None = None) -> Outcome:
    config, config_dir, git, top, repo_path, config_rel = _setup(opts)
    env = config.environment(env_name)
    if git is None:
        raise PromotionError(f"{opts.root} is not a git repository: rollback needs git")
    target_branch = _target_branch(git, opts)
    for _attempt in range(PUSH_ATTEMPTS):
        base = _base(git, opts, target_branch)
        found = entries(git, base, env.name)
        if to:
            restore = git.rev_parse(to)
            if restore is None:
                raise PromotionError(f"--to {to!r} is not a commit of this repository")
            entry = next((e for e in found if e.commit == restore), None)
        else:
            if len(found) < 2:
                raise PromotionError(f"{env.name} has {len(found)} promotion{'s' * (len(found) != 1)} on {target_branch}; "
                                     f"rollback restores the one before the latest and needs two (or --to COMMIT)")
            entry, restore = found[1], found[1].commit
        folder = repo_path(env)
        if git.tree_of(restore, folder) == git.tree_of(base, folder):
            return Outcome("nothing-to-promote", message=f"{env.name} already is as at {restore[:12]}: nothing to roll back")
        branch = texts.rollback_branch(env.name)
        what = f"promotion {restore[:12]}" + (f" (from {entry.source} at {(entry.source_commit or '')[:12]})"
                                               if entry and entry.source else "")

        def message_for(tree: str) -> str:
            # called within this iteration, by _commit_and_push below
            return (f"Roll back {env.name} to {what}\n\nRestores {folder} exactly as it was at {restore}.\n\n"  # noqa: B023
                    f"Promoted-To: {env.name}\nRolled-Back-To: {restore}\nWavegate-Tree: {tree}\n")  # noqa: B023

        try:
            action, commit = _commit_and_push(git, opts, branch, base, folder, message_for, restore_from=restore)
        except GitError as error:
            raise PromotionError(str(error)) from None
        if action == "retry":
            continue
        request = None
        if opts.push:
            description = (f"Rolls **{env.name}** (`{folder}`) back to {what}: the folder becomes exactly what it "
                           f"was at `{restore}`.\n\nMade by `wavegate rollback`; gates are not checked for a "
                           f"rollback. `wavegate history --env {env.name}` lists the promotions.\n")
            approvals = int((env.gates or {}).get("approvals") or 0)
            request = _merge_request(opts, branch, target_branch, f"Roll back {env.name} to {restore[:12]}",
                                     description, texts.labels(env.name, "rollback"), action == "committed",
                                     approvals, env.name)
        return Outcome(action, branch, commit, request, message=f"restores {folder} to {restore[:12]}")
    raise PromotionError(f"the rollback branch kept changing while pushing ({PUSH_ATTEMPTS} attempts); run again")
