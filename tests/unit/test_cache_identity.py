"""The libraries' versions in cache keys: read from the `.dist-info` folders the import system
finds first, as importlib.metadata says them, without its cost."""

from __future__ import annotations

import sys
import zipfile
from importlib import metadata

from wavegate import cache


def _identity() -> str:
    cache.runtime_identity.cache_clear()
    cache._path_listings.cache_clear()  # (sys.path as the test made it)
    try:
        return cache.runtime_identity()
    finally:
        cache.runtime_identity.cache_clear()
        cache._path_listings.cache_clear()


def test_the_versions_are_those_importlib_metadata_gives():
    expected = ",".join(f"{name}={metadata.version(name)}" for name in cache._LIBRARIES)
    assert _identity() == expected


def test_the_first_distribution_on_the_path_wins_as_for_imports(tmp_path, monkeypatch):
    (tmp_path / "PyYAML-99.1.dist-info").mkdir()
    (tmp_path / "google_re2-0.0.1.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    found = dict(part.split("=") for part in _identity().split(","))
    assert found["PyYAML"] == "99.1"
    assert found["google-re2"] == "0.0.1"
    assert found["cel-expr-python"] == metadata.version("cel-expr-python")


def test_a_zip_on_the_path_leaves_the_answer_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "libs.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("PyYAML-77.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: PyYAML\nVersion: 77.0\n")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    found = dict(part.split("=") for part in _identity().split(","))
    assert found["PyYAML"] == "77.0"  # (importlib.metadata reads the zip; the folder scan stops there)
    assert found["jsonschema"] == metadata.version("jsonschema")
