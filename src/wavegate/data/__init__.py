"""Data files shipped with wavegate: schemas, rule examples, the policies' reads.

They are read from this folder directly: `importlib.resources` would import zipfile, tempfile and
random for a package that is never installed zipped (8 ms of every run).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent


def read_text(name: str) -> str:
    """The text of the data file `name` (UTF-8)."""
    return (FOLDER / name).read_text(encoding="utf-8")
