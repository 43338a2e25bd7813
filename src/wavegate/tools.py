"""Find the external binaries that ``scripts/install-tools`` installs (kustomize, helm,
kube-apiserver, etcd, kubeconform, ...). Importing this module costs nothing: the render stage
uses it on every run.

Search order for a tool ``NAME``:

1. ``$WAVEGATE_TOOLS_DIR/bin/NAME`` when ``WAVEGATE_TOOLS_DIR`` is set;
2. ``<repo>/.tools/bin/NAME`` for the first ancestor directory of this package
   (a development checkout, or a tox environment inside one), then of the
   current directory, that has a ``.tools/bin`` directory;
3. ``NAME`` on ``PATH``.

A missing tool raises :class:`ToolNotFoundError`, whose message names
``scripts/install-tools`` and every place that was searched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = "run scripts/install-tools (or scripts/install-tools --only {name}) in the wavegate checkout"


class ToolNotFoundError(FileNotFoundError):
    """An external tool binary is not installed: a setup problem (exit 2), never a finding."""


def _ancestor_tools_bins(start: Path) -> list[Path]:
    found = []
    for directory in (start, *start.parents):
        candidate = directory / ".tools" / "bin"
        if candidate.is_dir():
            found.append(candidate)
            break
    return found


def tool_dirs() -> list[Path]:
    """The directories searched before ``PATH``, in order."""
    dirs: list[Path] = []
    env = os.environ.get("WAVEGATE_TOOLS_DIR")
    if env:
        dirs.append(Path(env).expanduser() / "bin")
    dirs += _ancestor_tools_bins(Path(__file__).resolve().parent)
    try:
        dirs += _ancestor_tools_bins(Path.cwd().resolve())
    except OSError:  # the current directory was removed
        pass
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_tool(name: str) -> Path:
    """The absolute path of tool ``name`` (see the module docstring for the search order)."""
    searched = tool_dirs()
    for directory in searched:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    where = ", ".join(str(d) for d in searched) or "(no .tools/bin found)"
    raise ToolNotFoundError(
        f"{name} not found in {where} or on PATH: " + INSTALL_HINT.format(name=name)
    )


def stop_helper(process: subprocess.Popen | None) -> None:
    """End a helper that reads one request a line from its stdin (kustomize-batch, appset-batch):
    closing stdin lets it finish; one that does not within 10 s is killed."""
    if process is None:
        return
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)
    except Exception:  # noqa: BLE001 - it is going away either way
        process.kill()
