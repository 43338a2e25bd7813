"""`wavegate diff`: what a change does to what Argo CD syncs, Application by Application."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wavegate.errors import EXIT_FINDINGS, EXIT_OK, UsageError

FORMATS = ("text", "json", "markdown")


def add_parser(subparsers) -> argparse.ArgumentParser:
    diff = subparsers.add_parser(
        "diff", help="what a change does to every Application's rendered objects, in sync order",
        description="Render every Application at the base revision (a temporary git worktree: nothing is "
                    "checked out over your files) and at the head (default: the working tree), and report per "
                    "Application the objects added, removed and changed, each changed field with its old and new "
                    "value, in Argo CD's sync order, honouring each Application's ignoreDifferences. Secrets' "
                    "values are never shown. Exit 0, or 1 with --exit-code when something changes; 2 on usage "
                    "errors.",
        epilog="Examples:\n  wavegate diff --base main\n  wavegate diff . --base origin/main --format markdown\n"
               "  wavegate diff --base \"$CI_MERGE_REQUEST_DIFF_BASE_SHA\" --format json --output wavegate-diff.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("path", nargs="?", default=".", type=Path, help="repository, or a folder of it (default: .)")
    diff.add_argument("--base", required=True, metavar="REV", help="the revision to compare with (a branch, tag or commit)")
    diff.add_argument("--head", metavar="REV", help="the revision to compare (default: the working tree as it is)")
    diff.add_argument("--format", choices=FORMATS, default="text", help="output on stdout (default: text)")
    diff.add_argument("--output", type=Path, metavar="FILE", help="write the --format output to FILE instead of stdout")
    diff.add_argument("--report", action="append", default=[], metavar="FMT=FILE",
                      help="also write FMT (text, json, markdown) to FILE (repeatable)")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when something changes (like git diff --exit-code)")
    diff.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: PATH/.wavegate.yaml)")
    diff.add_argument("--cache-dir", type=Path, metavar="DIR",
                      help="render cache shared by both revisions (default: $WAVEGATE_CACHE_DIR, else .wavegate_cache)")
    diff.add_argument("--no-cache", action="store_true", help="render both revisions afresh")
    diff.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    diff.set_defaults(handler=cmd_diff)
    return diff


def cmd_diff(args) -> int:
    from wavegate.diff import output
    from wavegate.diff.revisions import Request, diff
    from wavegate.progress import terminal_progress

    outputs = [(args.format, args.output)] + [_report(spec) for spec in args.report]
    result = diff(Request(path=args.path, base=args.base, head=args.head, config_file=args.config,
                          cache_dir=args.cache_dir, cache=not args.no_cache, debug=getattr(args, "debug", False)),
                  terminal_progress())
    env = os.environ
    for fmt, file in outputs:
        if fmt == "json":
            body = output.to_json(result)
        elif fmt == "markdown":
            body = output.markdown(result, project_url=env.get("CI_PROJECT_URL"))
        else:
            body = output.text(result)
        if file is None:
            sys.stdout.write(body)
            continue
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(body, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {file}: {error.strerror}") from None
    return EXIT_FINDINGS if args.exit_code and result.has_changes else EXIT_OK


def _report(spec: str) -> tuple[str, Path]:
    fmt, sep, file = spec.partition("=")
    if not sep or not file or fmt not in FORMATS:
        raise UsageError(f"--report {spec!r}: write it as FMT=FILE with FMT one of {', '.join(FORMATS)}")
    return fmt, Path(file)
