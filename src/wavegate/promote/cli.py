"""`wavegate promote`, `wavegate rollback`, `wavegate history`: arguments in, one run, exit code out.

Exit codes: 0 done (or nothing to do); 1 blocked (a gate, the validation of the result, or
commits on the branch that wavegate did not make); 2 usage, configuration, git or GitLab errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wavegate.promote import mr as texts


def add_parser(subparsers) -> None:
    from wavegate.cluster import READ_PROVIDERS

    promote = subparsers.add_parser(
        "promote", help="carry one environment's manifests into the next through a merge request",
        description="Build the plan (every manifest of --from's folder carried to --to's, except the `keep` fields, "
                    "which keep --to's values), validate the result as `wavegate validate` would, check the gates "
                    "(--from validates at the commit, its Argo CD Application is Synced and Healthy there, soak time, "
                    "freeze windows), then commit on wavegate/promote-FROM-to-TO, push, and open or update one merge "
                    "request. Exit 0 done or nothing to do, 1 blocked, 2 usage/config/git/GitLab errors.",
        epilog="Examples:\n  wavegate promote --from dev --to staging --plan\n"
               "  wavegate promote --from staging --to prod            # in CI, with GITLAB_TOKEN\n\n"
               "Carried: *.yaml, *.yml, *.json by path relative to the folder. A kept field is edited in place in\n"
               "--from's text (B's own text of the value); when that is not possible the file is re-emitted and\n"
               "the plan says so. jqPathExpressions: only .a.b, .a[\"b\"], .a[0].",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    promote.add_argument("path", nargs="?", default=".", type=Path, help="repository (default: .)")
    promote.add_argument("--from", dest="source", required=True, metavar="ENV", help="environment promoted from")
    promote.add_argument("--to", dest="target", required=True, metavar="ENV", help="environment promoted to")
    promote.add_argument("--plan", action="store_true", help="print the plan, gates and validation; write nothing")
    promote.add_argument("--prune", action="store_true", help="delete files that exist only in --to's folder")
    _common(promote)
    promote.add_argument("--source-ref", default="HEAD", metavar="REV", help="the commit promoted (default: HEAD)")
    promote.add_argument("--skip-gates", action="store_true",
                         help="do not check the gates (recorded in the commit trailers and the merge request)")
    promote.add_argument("--cluster", choices=READ_PROVIDERS, default="kubeconfig",
                         help="where the health gate reads --from's Application (default: kubeconfig)")
    promote.add_argument("--context", metavar="NAME", help="kubeconfig context")
    promote.set_defaults(handler=cmd_promote)

    rollback = subparsers.add_parser(
        "rollback", help="open a merge request restoring an environment to an earlier promotion",
        description="Restore ENV's folder exactly as it was at an earlier promotion (default: the one before the "
                    "latest, found from the commit trailers) on wavegate/rollback-ENV, push, and open one merge request.")
    rollback.add_argument("path", nargs="?", default=".", type=Path, help="repository (default: .)")
    rollback.add_argument("--env", required=True, metavar="ENV")
    rollback.add_argument("--to", metavar="COMMIT", help="the promotion commit to restore (see `wavegate history`)")
    _common(rollback)
    rollback.set_defaults(handler=cmd_rollback)

    history = subparsers.add_parser(
        "history", help="list an environment's promotions and rollbacks from the commit trailers")
    history.add_argument("path", nargs="?", default=".", type=Path, help="repository (default: .)")
    history.add_argument("--env", required=True, metavar="ENV")
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.add_argument("--config", type=Path, metavar="FILE")
    history.add_argument("--remote", default="origin", help="read the target branch from this remote (default: origin)")
    history.add_argument("--no-fetch", dest="push", action="store_false",
                         help="read the local branch instead of fetching the remote's")
    history.add_argument("--target-branch", metavar="BRANCH")
    history.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    history.set_defaults(handler=cmd_history)


def _common(sub) -> None:
    sub.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: PATH/.wavegate.yaml)")
    sub.add_argument("--format", choices=("text", "json"), default="text")
    sub.add_argument("--push", dest="push", action="store_true", default=True,
                     help="push the branch and open the merge request (default)")
    sub.add_argument("--no-push", dest="push", action="store_false",
                     help="commit on the local branch only: no push, no merge request")
    sub.add_argument("--remote", default="origin", help="git remote of the GitLab project (default: origin)")
    sub.add_argument("--target-branch", metavar="BRANCH",
                     help="branch the merge request targets (default: the remote's default branch)")
    sub.add_argument("--project", metavar="ID", help="GitLab project id or path (default: CI_PROJECT_ID)")
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _options(args, **extra):
    from wavegate.promote.run import Options

    return Options(root=args.path, config=args.config, push=args.push, remote=args.remote,
                   target_branch=args.target_branch, project=getattr(args, "project", None), **extra)


def _wrap(run):
    from wavegate.errors import UsageError
    from wavegate.git import GitError
    from wavegate.promote.run import PromotionError, PromotionStopped

    try:
        return run()
    except (PromotionError, GitError) as error:  # GitError: e.g. a fetch that fails while preparing
        raise UsageError(str(error)) from None
    except PromotionStopped as error:
        print(f"wavegate: stopped: {error}", file=sys.stderr)
        return 1


def cmd_promote(args, **inject) -> int:
    from wavegate.promote.run import prepare, promote

    opts = _options(args, source=args.source, target=args.target, prune=args.prune, source_ref=args.source_ref,
                    skip_gates=args.skip_gates, cluster_kind=args.cluster, context=args.context,
                    plan_only=args.plan, **inject)

    def run() -> int:
        if args.plan:
            prepared = prepare(opts)
            print_prepared(prepared, args.format, opts.skip_gates)
            return 1 if prepared.blocked else 0
        prepared, outcome = promote(opts)
        if args.format == "json":
            data = prepared.as_json() | {"skippedGates": opts.skip_gates, "result": _outcome_json(outcome)}
            print(json.dumps(data, indent=2, default=str))
        else:
            print_prepared(prepared, "text", opts.skip_gates)
            print(_outcome_text(outcome))
        return 1 if outcome.action == "blocked" else 0

    return _wrap(run)


def cmd_rollback(args, **inject) -> int:
    from wavegate.promote.run import rollback

    opts = _options(args, **inject)

    def run() -> int:
        outcome = rollback(opts, args.env, args.to)
        if args.format == "json":
            print(json.dumps(_outcome_json(outcome), indent=2))
        else:
            print(_outcome_text(outcome))
        return 0

    return _wrap(run)


def cmd_history(args) -> int:
    from wavegate.promote.run import Options, history

    opts = Options(root=args.path, config=args.config, push=args.push, remote=args.remote,
                   target_branch=args.target_branch)

    def run() -> int:
        env, branch, found = history(opts, args.env)
        if args.format == "json":
            print(json.dumps({"version": 1, "environment": env.name, "branch": branch,
                              "entries": [e.as_json() for e in found]}, indent=2))
            return 0
        if not found:
            print(f"no promotions of {env.name} on {branch} (commits with a `Promoted-To: {env.name}` trailer)")
        for e in found:
            what = (f"rollback to {(e.rolled_back_to or '?')[:12]}" if e.kind == "rollback"
                    else f"from {e.source} at {(e.source_commit or '?')[:12]}")
            print(f"{e.when}  {e.commit[:12]}  {what}  by {e.author}")
            for gate, value in e.gates.items():
                print(f"    {gate}: {value}")
        return 0

    return _wrap(run)


def print_prepared(prepared, fmt: str, skipped: bool) -> None:
    if fmt == "json":
        print(json.dumps(prepared.as_json() | {"skippedGates": skipped}, indent=2, default=str))
        return
    plan = prepared.plan
    at = f" at {prepared.source_commit[:12]}" if prepared.source_commit else ""
    onto = f" onto {prepared.target_branch} {prepared.base[:12]}" if prepared.base else ""
    print(f"Promotion plan: {plan.source} ({plan.source_path}){at} -> {plan.target} ({plan.target_path}){onto}")
    for line in texts.changes_markdown(plan)[2:]:
        print(line.replace("**", "").replace("`", ""))
    for note in plan.notes:
        print(f"note: {note}")
    v = prepared.validation
    print(f"\nValidation of the result: {v['errors']} errors, {v['warnings']} warnings in {plan.target_path}")
    for f in prepared.findings:
        print(f"  {f.path}:{f.line}:{f.column}: {f.severity}: {f.rule}: {f.message}")
    print("\nGates" + (" (skipped with --skip-gates; only validation checked)" if skipped else "") + ":")
    for g in prepared.gates:
        print(f"  {g.name}: {'passed' if g.passed else 'FAILED'}: {g.evidence}" + (f"\n    -> {g.wait}" if g.wait else ""))
    if prepared.blocked:
        print("\nBlocked:")
        for reason in prepared.blocked:
            print(f"  - {reason}")


def _outcome_json(outcome) -> dict:
    request = outcome.merge_request
    return {"action": outcome.action, "branch": outcome.branch, "commit": outcome.commit, "message": outcome.message,
            "mergeRequest": None if request is None else {"iid": request.iid, "webUrl": request.web_url,
                                                          "created": request.created, "changed": request.changed}}


def _outcome_text(outcome) -> str:
    if outcome.action == "blocked":
        return "\nNot promoted: blocked (see above)."
    if outcome.action == "nothing-to-promote":
        return outcome.message
    line = {"committed": f"\nCommitted {outcome.commit[:12] if outcome.commit else ''} on {outcome.branch}",
            "unchanged": f"\n{outcome.branch} is already up to date: no new commit"}[outcome.action]
    if outcome.message:
        line += f" ({outcome.message})"
    request = outcome.merge_request
    if request is not None:
        state = "opened" if request.created else "updated" if request.changed else "unchanged"
        line += f"\nMerge request !{request.iid} {state}: {request.web_url}"
    return line
