"""Small helpers the tests share: write a repository, run the checks, pick findings."""

from __future__ import annotations

import textwrap
from pathlib import Path

from wavegate.config import load_config
from wavegate.findings import Finding

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
EXAMPLES = REPO_ROOT / "examples"


def require_native_loader() -> None:
    """Skip (with the reason) a test of the native loader where it could not be built: no C
    compiler or libyaml headers (setup.py). In CI (`CI` set) they are there, so it fails."""
    from wavegate import load_native

    if load_native.BUILT:
        return
    import os

    import pytest

    reason = ("the native loader is not built: install gcc, python3-dev and libyaml-dev, then install "
              "wavegate again (the Python path is tested all the same)")
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_native_tree() -> None:
    """Skip (with the reason) a test of the native repository walk where it could not be built (no
    C compiler when wavegate was installed). In CI (`CI` set) it is there, so it fails."""
    from wavegate import cache

    if cache._native_tree is not None:
        return
    import os

    import pytest

    reason = "the native repository walk is not built: install gcc and python3-dev, then install wavegate again"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def shared(*parts: str) -> Path:
    """A path under ../shared (reference data beside the checkout).

    A person who cloned only this repository has no ../shared: the tests that need it are
    skipped, with the reason shown by `-ra`. In CI (`CI` set) it must be there, so they fail."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        import os

        import pytest

        reason = f"{path} is missing: this test reads the reference data in ../shared beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return path


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def check_repo(root: Path, repo_url: str | None = "https://gitlab.example.com/team/app.git") -> list[Finding]:
    """What `wavegate validate` finds in `root` (the whole pipeline), sorted."""
    from wavegate import pipeline

    config = load_config(root)
    run = pipeline.validate(pipeline.Options(root=root, repo_url=config.repo_url or repo_url))
    return sorted(run.findings, key=Finding.sort_key)


def validate_corpus(root: Path, cache_dir: Path | None):
    """`wavegate validate` of a benchmark corpus (benchmarks/corpus.py), with its RGD as --schemas,
    with the cache in `cache_dir` or without one: the run."""
    import sys

    from wavegate import pipeline

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import corpus

    return pipeline.validate(pipeline.Options(root=root, schemas=(str(corpus.rgd_path()),), cache_dir=cache_dir,
                                              cache=cache_dir is not None))


def finding_rows(run) -> list[tuple]:
    """A run's findings as sorted tuples of every field: what two runs that agree share."""
    return sorted((f.rule, f.severity, f.message, f.path, f.line, f.column, f.resource, f.hint, f.field, f.application)
                  for f in run.findings)


def with_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def widget_crd(spec: str, *, group: str = "example.com", scope: str = "Namespaced",
               annotations: dict[str, str] | None = None, more_versions: str = "") -> str:
    """The CustomResourceDefinition of the test kind Widget (`widgets.<group>`, v1 served and stored).

    `spec`: the schema of the Widget's `spec` field (YAML, any indentation); it is placed under
    `openAPIV3Schema.properties.spec` with its keys at column 15, so a test's `.replace()` of a line
    of it keeps working. `more_versions`: further items of `versions` (YAML, `- name: ...`)."""
    meta = f"metadata:\n  name: widgets.{group}\n"
    if annotations:
        meta += "  annotations:\n" + "".join(f'    {key}: "{value}"\n' for key, value in annotations.items())
    return (
        "apiVersion: apiextensions.k8s.io/v1\n"
        "kind: CustomResourceDefinition\n"
        f"{meta}"
        "spec:\n"
        f"  group: {group}\n"
        "  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n"
        f"  scope: {scope}\n"
        "  versions:\n"
        "    - name: v1\n"
        "      served: true\n"
        "      storage: true\n"
        "      schema:\n"
        "        openAPIV3Schema:\n"
        "          type: object\n"
        "          properties:\n"
        "            spec:\n"
        + textwrap.indent(textwrap.dedent(spec).strip("\n") + "\n", " " * 14)
        + (textwrap.indent(textwrap.dedent(more_versions).strip("\n") + "\n", " " * 4) if more_versions else "")
    )
