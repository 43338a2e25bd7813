"""`wavegate policy test DIR [--format text|junit] [--output FILE]`.

Wired into the main parser by `wavegate.cli.build_parser` with `add_parser(commands)`.
Exit 0 when every fixture gives its expected verdict and the policies load cleanly, 1 otherwise,
2 when DIR is not a directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wavegate.errors import EXIT_FINDINGS as EXIT_FAILED  # a policy test failed
from wavegate.errors import EXIT_OK, EXIT_USAGE


def add_parser(subparsers) -> argparse.ArgumentParser:
    policy = subparsers.add_parser(
        "policy", help="work with ValidatingAdmissionPolicies (test them against their fixtures)",
        description="Tools for policy authors.")
    commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND")
    test = commands.add_parser(
        "test", help="run each policy of DIR against fixtures/<policy>/pass and fail",
        description="Run each ValidatingAdmissionPolicy in DIR against DIR/fixtures/<policy>/pass/*.yaml (no "
                    "violation expected) and fail/*.yaml (at least one; an annotation wavegate.dev/expect-message "
                    "names a part of the expected message). Exit 1 on any mismatch.",
        epilog="Example:\n  wavegate policy test policies/ --format junit --output policy-tests.xml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    test.add_argument("directory", type=Path, metavar="DIR", help="policy directory (holding fixtures/)")
    test.add_argument("--format", choices=("text", "junit"), default="text", help="report format (default: text)")
    test.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    test.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    test.set_defaults(handler=cmd_policy_test)
    policy.set_defaults(handler=lambda args: (policy.print_help(), EXIT_USAGE)[1])
    return policy


def cmd_policy_test(args) -> int:
    from wavegate.policy import test_runner

    directory: Path = args.directory
    if not directory.is_dir():
        print(f"wavegate: {directory}: not a policy directory", file=sys.stderr)
        return EXIT_USAGE
    policies, cases = test_runner.run(directory)
    if not policies.policies and not policies.problems:
        print(f"wavegate: {directory}: holds no ValidatingAdmissionPolicy; give the directory of the policies "
              "(with their fixtures/)", file=sys.stderr)
        return EXIT_USAGE
    problems = [p for p in policies.problems if p.severity >= p.severity.ERROR]
    if args.format == "junit":
        text = test_runner.junit(cases, problems)
    else:
        text = test_runner.table(cases)
        for problem in policies.problems:
            text += f"{problem.path}:{problem.line}:{problem.column}: {problem.severity} {problem.rule} {problem.message}\n"
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"wavegate: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.write(text)
    return EXIT_FAILED if problems or any(not c.ok for c in cases) else EXIT_OK
