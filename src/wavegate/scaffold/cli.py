"""`wavegate init`: the command line of the golden path.

wavegate.cli wires it with `add_parser(commands)`. Until then (and for tests) it also runs on its
own: `python -m wavegate.scaffold.cli init DIR --values FILE`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wavegate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE


def add_parser(subparsers) -> argparse.ArgumentParser:
    init = subparsers.add_parser(
        "init", help="generate a repository from the golden-path skeleton (as Backstage would)",
        description="Render the Backstage skeleton into DIR with the values Backstage's template would pass, "
                    "after checking every value. Exit 0 when written, 2 on bad values or a non-empty DIR. "
                    "With --lint-template, check instead that the template passes every value its "
                    "skeletons use and uses every parameter it asks for (exit 1 on problems).",
        epilog="Example values file (the names the template passes to its skeleton):\n"
               "  appname: web\n  aws_region: us-west-2\n  aws_account_id: \"123456789012\"\n"
               "  gitlab_hostname: gitlab.example.com\n  argocd_hostname: argocd.example.com\n"
               "  git_username: platform\n  cluster_name: peeks-hub-cluster\n"
               "  dockerfile_path: \".\"\n  deployment_path: ./deployment\n"
               "  # optional: namespace (team-<appname>), aws_resource_prefix (peeks), created_by (unknown)\n\n"
               "  wavegate init web-cicd --values values.yaml\n"
               "  wavegate init web-cicd --values values.yaml --variant environments\n"
               "  wavegate init --lint-template",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="directory to write (new or empty)")
    init.add_argument("--values", type=Path, metavar="FILE", help="YAML file of template values")
    init.add_argument("--variant", choices=("single", "environments"), default="single",
                      help="single: manifests/ and one Application; environments: environments/dev|staging|prod, "
                           "one Application each, and the promotion block in .wavegate.yaml")
    init.add_argument("--force", action="store_true", help="write into a non-empty DIR, overwriting files")
    init.add_argument("--lint-template", nargs="?", const="", default=None, type=str, metavar="TEMPLATE",
                      help="lint a Backstage template and its skeletons (default: the one wavegate ships)")
    init.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    init.set_defaults(handler=cmd_init)
    return init


def cmd_init(args) -> int:
    from wavegate.scaffold.init import InitError, init, read_values, template_path

    if args.lint_template is not None:
        from wavegate.scaffold.lint import lint_template

        template = Path(args.lint_template) if args.lint_template else template_path()
        if not template.is_file():
            return _fail([f"{template}: no such template file"])
        problems = lint_template(template)
        for problem in problems:
            print(f"{problem}  [{problem.kind}]")
        print(f"{len(problems)} problem(s) in {template}" if problems else f"{template}: no problems")
        return EXIT_FINDINGS if problems else EXIT_OK
    missing = [flag for flag, value in (("DIR", args.dir), ("--values FILE", args.values)) if value is None]
    if missing:
        return _fail([f"init needs {' and '.join(missing)}; see `wavegate init --help`"])
    try:
        values = read_values(args.values)
        written = init(args.dir, values, variant=args.variant, force=args.force)
    except InitError as error:
        return _fail(error.problems)
    print(f"wrote {len(written)} files to {args.dir} ({args.variant}); next: "
          f"`wavegate validate {args.dir}`, then push it to "
          f"https://{values['gitlab_hostname']}/{values['git_username']}/{values['appname']}-cicd")
    return EXIT_OK


def _fail(problems: list[str]) -> int:
    for problem in problems:
        print(f"wavegate init: {problem}", file=sys.stderr)
    return EXIT_USAGE
