"""`wavegate policy test DIR`: each policy against its fixtures, with expected verdicts.

Layout: `DIR/fixtures/<policy-name>/pass/*.yaml` must produce no violation of that policy and
`DIR/fixtures/<policy-name>/fail/*.yaml` at least one. A fail fixture may state the message it
expects in the annotation `wavegate.dev/expect-message` (a substring of the policy's message; an
annotation, not a comment, so the same file can be applied to a real API server and keep it).
All documents of one fixture file are evaluated together, so a fixture can hold the Namespace
whose labels a namespaceSelector looks at. A policy without both kinds of fixtures fails.
"""

from __future__ import annotations

from pathlib import Path

from wavegate.load import read_yaml
from wavegate.policy.evaluate import Environment, Violation, evaluate
from wavegate.policy.model import PolicySet, load_policies
from wavegate.record import field, record

EXPECT_MESSAGE = "wavegate.dev/expect-message"
PASS, FAIL = "pass", "fail"


@record
class Case:
    policy: str
    expected: str  # PASS or FAIL
    fixture: str  # path relative to DIR, or "" when fixtures are missing
    ok: bool
    detail: str
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.policy} {self.expected} {Path(self.fixture).name}" if self.fixture else f"{self.policy} {self.expected}"


def run(directory: str | Path, policies: PolicySet | None = None) -> tuple[PolicySet, list[Case]]:
    import time

    directory = Path(directory)
    policies = policies or load_policies(directory)
    cases: list[Case] = []
    store = _store()
    for name in policies.policies:
        for expected in (PASS, FAIL):
            folder = directory / "fixtures" / name / expected
            files = sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")) if folder.is_dir() else []
            if not files:
                cases.append(Case(name, expected, "", False, f"no fixtures in fixtures/{name}/{expected}/"))
                continue
            for file in files:
                started = time.perf_counter()
                rel = file.relative_to(directory).as_posix()
                case = _case(policies, name, expected, file, rel, store)
                case.seconds = time.perf_counter() - started
                cases.append(case)
    return policies, cases


def _store():
    """The schemas `wavegate validate` knows without a repository (Kubernetes, Argo CD, the platform's
    RGDs), for the defaults admission applies before the policies see a fixture."""
    from wavegate.schemas import SchemaStore

    return SchemaStore.build(None)


def _case(policies: PolicySet, name: str, expected: str, file: Path, rel: str, store=None) -> Case:
    from wavegate.schemas.defaults import admitted

    manifests, problems = read_yaml(file, rel=rel)
    if problems:
        return Case(name, expected, rel, False, f"fixture does not load: {problems[0].message} (line {problems[0].line})")
    env = Environment.of(manifests, plurals=policies.plurals,
                         admitted=(lambda m: admitted(store, m)) if store is not None else None)
    violations = list(evaluate(_only(policies, name), manifests, env))
    if expected == PASS:
        if violations:
            return Case(name, expected, rel, False, f"expected no violation, got: {violations[0].message}", violations)
        return Case(name, expected, rel, True, "no violation", violations)
    if not violations:
        return Case(name, expected, rel, False, "expected a violation, got none", violations)
    wanted = [text for m in manifests if isinstance(text := m.annotations.get(EXPECT_MESSAGE), str)]
    for text in wanted:
        if not any(text in v.message for v in violations):
            return Case(name, expected, rel, False,
                        f"expected a message containing {text!r}, got: {' | '.join(v.message for v in violations)}",
                        violations)
    return Case(name, expected, rel, True, violations[0].message, violations)


def _only(policies: PolicySet, name: str) -> PolicySet:
    """The same directory with just one policy (and all bindings and params)."""
    return PolicySet(source=policies.source, policies={name: policies.policies[name]}, bindings=policies.bindings,
                     params=policies.params, problems=[], plurals=policies.plurals)


def table(cases: list[Case]) -> str:
    rows = [("POLICY", "EXPECT", "FIXTURE", "RESULT", "DETAIL")]
    for case in cases:
        rows.append((case.policy, case.expected, case.fixture or "-", "ok" if case.ok else "FAIL", case.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in rows]
    failed = sum(not c.ok for c in cases)
    lines.append("")
    lines.append(f"{len(cases) - failed} passed, {failed} failed, {len({c.policy for c in cases})} policies")
    return "\n".join(lines) + "\n"


def junit(cases: list[Case], problems=()) -> str:
    from xml.sax.saxutils import escape, quoteattr

    failed = sum(not c.ok for c in cases)
    total_time = sum(c.seconds for c in cases)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="wavegate policy test" tests="{len(cases)}" failures="{failed}" time="{total_time:.3f}">',
           f'  <testsuite name="wavegate policy test" tests="{len(cases)}" failures="{failed}" time="{total_time:.3f}">']
    for case in cases:
        attrs = f'classname={quoteattr("policy." + case.policy)} name={quoteattr(case.name)} time="{case.seconds:.3f}"'
        if case.fixture:
            attrs += f" file={quoteattr(case.fixture)}"
        if case.ok:
            out.append(f"    <testcase {attrs}/>")
        else:
            out.append(f"    <testcase {attrs}>")
            out.append(f"      <failure message={quoteattr(case.detail)}>{escape(case.detail)}</failure>")
            out.append("    </testcase>")
    for problem in problems:
        out.append(f'    <testcase classname="policy.load" name={quoteattr(problem.path + ":" + str(problem.line))}>')
        out.append(f"      <failure message={quoteattr(problem.message)}>{escape(problem.message)}</failure>")
        out.append("    </testcase>")
    out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
