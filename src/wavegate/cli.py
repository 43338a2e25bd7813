"""The command line: parse arguments, build the context, run a stage, pick reporters, set the exit code.

Nothing here checks anything itself (DESIGN.md invariant 7). Usage and configuration errors end
in one line and exit code 2; a traceback appears only with --debug.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
from pathlib import Path
from typing import NoReturn

from wavegate import __version__
from wavegate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, FAIL_ON, ConfigError, UsageError, exit_code
from wavegate.findings import Result

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "UsageError", "main"]


class OutputError(Exception):
    """Standard output cannot be written (a closed pipe, a full disk)."""

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.error = error


class _Stdout:
    """sys.stdout for the length of a command, telling its write errors apart from the command's own."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise OutputError(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise OutputError(error) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def one_line(text: str) -> str:
    """`text` with control characters (a newline in a path from the input) escaped: an error is one line."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# What a shell reports for a process ended by SIGPIPE (128 + 13): the reader stopped reading
# (`wavegate rules | head`), which is no error of wavegate's and needs no message.
EXIT_PIPE_CLOSED = 141


# A run allocates millions of objects that live until it ends; the cyclic collector's default
# (a collection of the youngest every 700 allocations) scans the survivors again and again: 0.09 s
# of a 2.4 s run on 10,000 manifests, against 0.03 s with these thresholds (as mypy does).
COLLECTOR_THRESHOLDS = (100_000, 20, 20)


# What `wavegate validate` built lives until the process ends. Freeing its millions of objects one
# by one took 0.1 s of a 1.5 s run on 10,000 manifests, so the process entry points (`wavegate`,
# `python -m wavegate`) end without freeing them, as mypy's --fast-exit does. main(), called in a
# process that goes on (the tests), frees them as usual. Only validate keeps anything: the other
# commands end the usual way, with their exit handlers (a local cluster's stop).
_KEPT_UNTIL_EXIT: list | None = None


def entry() -> NoReturn:
    """The process entry point: main(), then the end of the process."""
    global _KEPT_UNTIL_EXIT
    _KEPT_UNTIL_EXIT = []
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # (a closed pipe: main said so already)
            pass
    if "wavegate.forked" in sys.modules:  # (workers whose exit was not waited for: what they used counts as ours)
        from wavegate.forked import reap_all

        reap_all()
    if _KEPT_UNTIL_EXIT:
        os._exit(code)
    raise SystemExit(code)


def _keep_until_exit(value: object) -> None:
    if _KEPT_UNTIL_EXIT is not None:
        _KEPT_UNTIL_EXIT.append(value)


def main(argv: list[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)
    thresholds = gc.get_threshold()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        code = _main(argv)
        sys.stdout.flush()
        if "wavegate.cache" in sys.modules:  # (what the command used of a cache, noted once it is done)
            from wavegate.cache import note_uses

            note_uses()
        return code
    except OutputError as error:
        if isinstance(error.error, BrokenPipeError):
            # Python flushes stdout once more at exit; point it at nothing so that is quiet too.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
            except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
                pass
            return EXIT_PIPE_CLOSED
        print(f"wavegate: cannot write the output: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        sys.stdout = stdout
        gc.set_threshold(*thresholds)


def _main(argv: list[str] | None) -> int:
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except OutputError:
        raise
    except (UsageError, ConfigError) as error:
        if args.debug:
            raise
        print(f"wavegate: {one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("wavegate: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence against tracebacks
        if args.debug:
            raise
        if isinstance(error, OSError) and error.filename:
            # A path from the command line or the configuration that the system refuses (a name
            # too long, a folder where a file belongs): the input's fault, named as such.
            name = os.fsdecode(error.filename)
            shown = repr(name) if len(name) <= 120 else f"{name[:60]!r}... ({len(name):,} characters)"
            print(f"wavegate: {shown}: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
        print(f"wavegate: internal error: {type(error).__name__}: {one_line(str(error))} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_USAGE


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; for `validate`, without the other commands (whose modules take long to import)."""
    parser = argparse.ArgumentParser(
        prog="wavegate",
        description="The merge-request gate for GitOps on Kubernetes: checks a repository of Argo CD, "
                    "Kro and Kubernetes manifests before Argo CD syncs it.",
        epilog="Start with `wavegate validate .`; `wavegate rules` lists every check and "
               "`wavegate explain RULE` says why it matters and how to fix it.")
    parser.add_argument("--version", action="version", version=f"wavegate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check a repository (YAML, Argo CD, schemas, Kro, policies)",
        description="Check every manifest of a repository without touching a cluster. Exit 0 when "
                    "nothing reaches --fail-on, 1 when something does, 2 on usage or configuration errors.",
        epilog="Examples:\n  wavegate validate .\n  wavegate validate . --statistics      # a count per rule: where to start\n"
               "  wavegate validate . --quiet           # one line per finding\n"
               "  wavegate validate --format json --output findings.json\n"
               "  wavegate validate --report junit=junit.xml --report codequality=gl-code-quality-report.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(validate)
    validate.add_argument("--files", nargs="*", metavar="FILE",
                          help="report only findings in these files (the whole repository is still read, since "
                               "checks look across files); what pre-commit passes")
    validate.add_argument("--changed-since", metavar="REV",
                          help="check only the applications changed since REV (git diff REV...HEAD), everything "
                               "when shared configuration changed; in GitLab CI: $CI_MERGE_REQUEST_DIFF_BASE_SHA")
    validate.add_argument("--shard", metavar="I/N",
                          help="check shard I of N (1-based) of the applications, for GitLab's parallel: N; "
                               "auto reads CI_NODE_INDEX/CI_NODE_TOTAL")
    validate.set_defaults(handler=cmd_validate)
    if command == "validate":
        return parser

    from wavegate.cluster import PROVIDERS

    dry_run = commands.add_parser(
        "dry-run", help="apply the repository to a real, throwaway API server in Argo CD's sync order",
        description="Install the CRDs, the CRDs kro generates from ResourceGraphDefinitions and the admission "
                    "policies, then server-side apply what each Argo CD Application syncs, wave by wave, exactly "
                    "in Argo CD's order. What the server refuses is reported at the line that caused it.",
        epilog="Clusters:\n  local       etcd + kube-apiserver from scripts/install-tools on loopback ports, removed after\n"
               "  kubeconfig  the current KUBECONFIG context; every request is dryRun=All, nothing changes there\n"
               "  kind        a kind cluster named after CI_PIPELINE_ID (GitLab CI with Docker-in-Docker)\n\n"
               "Example:\n  wavegate dry-run . --cluster local --schemas ../platform/rgds/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(dry_run)
    dry_run.add_argument("--cluster", choices=PROVIDERS, default="local",
                         help="where to apply (default: local)")
    dry_run.add_argument("--context", metavar="NAME", help="kubeconfig context (with --cluster kubeconfig)")
    dry_run.set_defaults(handler=cmd_dry_run)

    rules = commands.add_parser("rules", help="list every rule with its id, default severity and title")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    rules.set_defaults(handler=cmd_rules)

    explain = commands.add_parser("explain", help="why a rule exists, with a bad and a good example")
    explain.add_argument("rule", metavar="RULE", help="a rule id, as printed in findings")
    explain.set_defaults(handler=cmd_explain)

    from wavegate.policy.cli import add_parser as add_policy_parser
    from wavegate.report import gitlab_note
    from wavegate.scaffold.adopt_cli import add_parser as add_adopt_parser
    from wavegate.scaffold.cli import add_parser as add_init_parser

    add_policy_parser(commands)
    gitlab_note.add_parser(commands)
    add_init_parser(commands)
    add_adopt_parser(commands)

    from wavegate.promote.cli import add_parser as add_promote_parser
    from wavegate.status import add_parser as add_status_parser

    add_promote_parser(commands)  # promote, rollback, history
    add_status_parser(commands)

    from wavegate.schemas.cli import add_parser as add_schemas_parser

    add_schemas_parser(commands)  # schemas bundle, schemas export

    from wavegate.diff.cli import add_parser as add_diff_parser

    add_diff_parser(commands)
    return parser


def add_common_options(sub: argparse.ArgumentParser) -> None:
    """The options `validate` and the other checking commands share."""
    sub.add_argument("path", nargs="?", default=".", type=Path, help="repository to check (default: .)")
    sub.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: PATH/.wavegate.yaml)")
    sub.add_argument("--schemas", action="append", default=[], metavar="PATH",
                     help="CRD, ResourceGraphDefinition or schema-bundle file or directory (repeatable)")
    sub.add_argument("--kubernetes-version", metavar="V", help="Kubernetes version whose built-in schemas apply")
    sub.add_argument("--engine", choices=("builtin", "kubeconform"), default="builtin",
                     help="schema engine: builtin (default) or kubeconform (runs the kubeconform binary on the "
                          "schema store written as a bundle; it cannot check CEL rules or list-map keys)")
    sub.add_argument("--policies", type=Path, metavar="DIR",
                     help="ValidatingAdmissionPolicy directory used instead of the built-in policies and of "
                          "`policies:` in .wavegate.yaml (in CI: a pinned checkout of the central policy repository)")
    sub.add_argument("--format", default="text", metavar="FMT",
                     help="report on stdout: text, json, junit, codequality or sarif (default: text)")
    sub.add_argument("--output", type=Path, metavar="FILE", help="write the --format report to FILE instead of stdout")
    sub.add_argument("--report", action="append", default=[], metavar="FMT=FILE",
                     help="also write a report in FMT to FILE (repeatable)")
    sub.add_argument("--fail-on", choices=FAIL_ON, default="error",
                     help="lowest severity that fails the run (default: error)")
    sub.add_argument("--cache-dir", type=Path, metavar="DIR",
                     help="where rendered sources are cached between runs (default: $WAVEGATE_CACHE_DIR, else "
                          ".wavegate_cache in the repository, which ignores itself in git)")
    sub.add_argument("--no-cache", action="store_true", help="render and check everything afresh, without the cache")
    shape = sub.add_mutually_exclusive_group()
    shape.add_argument("--quiet", "-q", action="store_true",
                       help="text report: one line per finding (no hints, no summary)")
    shape.add_argument("--statistics", action="store_true",
                       help="text report: how many findings each rule has, most frequent first, then the summary")
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def parse_reports(args) -> list[tuple[str, Path | None]]:
    from wavegate.report import FORMATS

    reports: list[tuple[str, Path | None]] = []
    if args.format not in FORMATS:
        raise UsageError(f"--format {args.format!r}: choose one of {', '.join(FORMATS)}")
    reports.append((args.format, args.output))
    for spec in args.report:
        fmt, sep, file = spec.partition("=")
        if not sep or not file or fmt not in FORMATS:
            raise UsageError(f"--report {spec!r}: write it as FMT=FILE with FMT one of {', '.join(FORMATS)}")
        reports.append((fmt, Path(file)))
    for option in ("quiet", "statistics"):
        if getattr(args, option, False) and all(fmt != "text" for fmt, _ in reports):
            raise UsageError(f"--{option} shapes the text report; use it with --format text")
    return reports


def emit(result: Result, reports: list[tuple[str, Path | None]], args=None) -> None:
    from wavegate.report import render

    shape = {"quiet": getattr(args, "quiet", False), "statistics": getattr(args, "statistics", False)}
    for fmt, file in reports:
        if file is None:
            color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
            sys.stdout.write(render(fmt, result, color=color, **shape))
        else:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(render(fmt, result, **shape), encoding="utf-8")
            except OSError as error:
                raise UsageError(f"cannot write {file}: {error.strerror}") from None


def pipeline_options(args, progress=None):
    """The pipeline's options from the checking commands' shared arguments."""
    from wavegate.pipeline import Options
    from wavegate.progress import terminal_progress

    return Options(root=args.path, config_file=args.config, schemas=tuple(args.schemas),
                   kubernetes_version=args.kubernetes_version, engine=getattr(args, "engine", "builtin"),
                   policies=getattr(args, "policies", None), changed_since=getattr(args, "changed_since", None),
                   shard=getattr(args, "shard", None), debug=getattr(args, "debug", False),
                   cache_dir=args.cache_dir, cache=not args.no_cache, progress=progress or terminal_progress())


def cmd_validate(args) -> int:
    from wavegate import pipeline

    reports = parse_reports(args)
    started = time.perf_counter()
    run = pipeline.validate(pipeline_options(args), files=args.files)
    _keep_until_exit(run)
    result = Result(findings=run.findings, files=run.loaded.files, resources=run.resources,
                    seconds=time.perf_counter() - started, tool="validate")
    emit(result, reports, args)
    return exit_code(result, args.fail_on)


def cmd_dry_run(args) -> int:
    from wavegate import pipeline
    from wavegate.cluster import open_cluster
    from wavegate.cluster.base import ClusterError
    from wavegate.dryrun.run import dry_run, prerequisites
    from wavegate.policy import builtin_policy_dir
    from wavegate.progress import terminal_progress
    from wavegate.tools import ToolNotFoundError

    reports = parse_reports(args)
    started = time.perf_counter()
    progress = terminal_progress()
    run = pipeline.render(pipeline.prepare(pipeline_options(args, progress)))
    ctx, repo = run.ctx, run.repo
    assert ctx is not None and repo is not None, "render() fills the context and repository"
    schema_paths = tuple(str(Path(p).resolve()) for p in args.schemas) + ctx.config.schemas
    extra = prerequisites(schema_paths, str(args.policies or ctx.config.policies or builtin_policy_dir()),
                          ctx.repo.root)
    options = {"context": args.context} if args.cluster == "kubeconfig" and args.context else {}
    try:
        progress(f"starting the {args.cluster} cluster")
        with open_cluster(args.cluster, **options) as cluster:
            progress(f"cluster {cluster.name} is ready")
            report = dry_run(ctx, cluster, extra, progress)
    except (ClusterError, ToolNotFoundError) as error:
        raise UsageError(str(error)) from None
    findings = pipeline.finish(run, list(repo.problems) + report.findings)
    result = Result(findings=findings, files=run.loaded.files, resources=len(report.applied),
                    seconds=time.perf_counter() - started, tool="dry-run")
    emit(result, reports, args)
    return exit_code(result, args.fail_on)


def cmd_rules(args) -> int:
    from wavegate import rule_examples
    from wavegate.rules import all_rules

    rules = all_rules()
    if args.format == "json":
        import json

        print(json.dumps([{"id": r.id, "family": r.family, "severity": str(r.severity), "title": r.title,
                           "rationale": r.rationale, "configurable": r.configurable,
                           **(examples.as_json() if (examples := rule_examples.examples(r.id)) else {})}
                          for r in rules], indent=2))
        return EXIT_OK
    if args.format == "markdown":
        sys.stdout.write(rules_markdown(rules))
        return EXIT_OK
    width = max(len(r.id) for r in rules)
    family = None
    for r in rules:
        if r.family != family:
            family = r.family
            print(f"\n{family}:" if r is not rules[0] else f"{family}:")
        print(f"  {r.id:<{width}}  {str(r.severity):<7}  {r.title}")
    print(f"\n{len(rules)} rules. `wavegate explain RULE` shows why one matters and how to fix it.")
    return EXIT_OK


def rules_markdown(rules) -> str:
    """The rule reference page (docs/rules.md), generated from the declarations and their examples."""
    from wavegate import rule_examples
    from wavegate.rule_examples import as_markdown

    lines = ["# wavegate rules", "",
             "Generated by `wavegate rules --format markdown`; do not edit by hand. Change a rule's severity",
             "or turn it off in `.wavegate.yaml` (`rules:`).", "",
             "| rule | family | default | what it finds |", "|---|---|---|---|"]
    lines += [f"| [`{r.id}`](#{r.id}) | {r.family} | {r.severity} | {r.title} |" for r in rules]
    for r in rules:
        fixed = "" if r.configurable else " A repository cannot change it in .wavegate.yaml."
        lines += ["", f"## {r.id}", "", f"*{r.family}, {r.severity} by default.*{fixed} {r.title}.", "",
                  " ".join(r.rationale.split())]
        if examples := rule_examples.examples(r.id):
            lines += ["", *as_markdown(examples)]
    return "\n".join(lines) + "\n"


def cmd_explain(args) -> int:
    import difflib
    import textwrap

    from wavegate.rule_examples import as_text, examples
    from wavegate.rules import REGISTRY, all_rules

    all_rules()
    rule = REGISTRY.get(args.rule)
    if rule is None:
        close = difflib.get_close_matches(args.rule, list(REGISTRY), n=3)
        suggestion = f"; did you mean {', '.join(close)}?" if close else "; `wavegate rules` lists them"
        raise UsageError(f"no rule {args.rule!r}{suggestion}")
    print(f"{rule.id} ({rule.severity} by default, {rule.family})\n")
    print(f"{rule.title}.\n")
    print(textwrap.fill(" ".join(rule.rationale.split()), width=88) + "\n")
    if found := examples(rule.id):
        print(as_text(found))
    if rule.configurable:
        print(f"Change its severity or turn it off in .wavegate.yaml:\n    rules:\n      {rule.id}: warning   # or off")
    else:
        print("A repository cannot change or turn off this rule in its .wavegate.yaml; ask the policy owners "
              "for an exception (exceptions: in .wavegate.yaml, with approver and expiry).")
    return EXIT_OK
