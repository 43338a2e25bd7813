"""wavegate.discovery: the native listing (_native_tree.listing) lists every folder as Listing
does with os.scandir, and discover finds what a walk of Listing.walk finds."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from wavegate import discovery
from wavegate.discovery import ALWAYS_EXCLUDED, YAML_SUFFIXES, Listing, discover, is_excluded, native_listing


def _tree(root: Path) -> Path:
    """Folders, YAML and other files, excluded folders, links of every kind, a pipe, a name that
    is not UTF-8, an empty folder."""
    for folder in ("apps/web/base", "apps/web/overlays/prod", "apps/api", ".git/objects", "node_modules/x",
                   "charts/c/templates", "empty", "docs"):
        (root / folder).mkdir(parents=True)
    for file in ("apps/web/base/deploy.yaml", "apps/web/base/svc.yml", "apps/web/base/kustomization.yaml",
                 "apps/web/overlays/prod/patch.yaml", "apps/api/app.yaml", "apps/api/README.md",
                 ".git/objects/o.yaml", "node_modules/x/pkg.yaml", "charts/c/templates/t.yaml",
                 ".wavegate.yaml", ".gitlab-ci.yml", "top.yaml", "docs/notes.txt"):
        (root / file).write_text("a: 1\n")
    os.symlink("apps/web", root / "web-link")  # (a folder: listed, not walked)
    os.symlink("top.yaml", root / "apps" / "top-link.yaml")
    os.symlink("nowhere", root / "apps" / "broken.yaml")
    os.symlink("/", root / "docs" / "outside")
    os.mkfifo(root / "apps" / "pipe.yaml")
    (root / "apps" / os.fsdecode(b"caf\xe9.yaml")).write_text("a: 1\n")  # (not UTF-8: as os.fsdecode names it)
    return root


def _python_listing(root: Path) -> tuple[dict, set]:
    """Every folder discover walks, listed by Listing's own os.scandir."""
    listing = Listing(root)
    found = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        entries = found[folder] = listing.entries(folder)
        for name, _, itself, _, _ in entries:
            if itself and name not in ALWAYS_EXCLUDED:
                pending.append(f"{folder}/{name}" if folder else name)
    return found, listing.unreadable


@pytest.mark.skipif(discovery._native_tree is None, reason="the native walk was not built (no C compiler)")
def test_the_native_listing_lists_each_folder_as_listing_does(tmp_path):
    root = _tree(tmp_path / "repo")
    expected, unreadable = _python_listing(root)
    listing = native_listing(root)
    assert listing is not None
    for folder, entries in expected.items():
        assert listing.entries(folder) == entries, folder
    assert listing.unreadable == unreadable == set()
    assert native_listing(tmp_path / "nowhere") is None  # (the top cannot be listed: Listing's own way)


@pytest.mark.skipif(discovery._native_tree is None, reason="the native walk was not built (no C compiler)")
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder: nothing is unreadable")
def test_a_folder_that_cannot_be_read_is_unreadable_in_both(tmp_path):
    root = _tree(tmp_path / "repo")
    locked = root / "apps" / "api"
    locked.chmod(0)
    try:
        expected, unreadable = _python_listing(root)
        listing = native_listing(root)
        assert listing is not None and listing.unreadable == unreadable == {"apps/api"}
        assert listing.entries("apps/api") == expected["apps/api"] == []
    finally:
        locked.chmod(0o755)


def _discover_by_walk(root: Path, exclude: tuple[str, ...], listing: Listing) -> list[str]:
    """discover as it was written on Listing.walk (before it read each folder's entries once)."""
    found: list[str] = []
    for rel_dir, dirnames, filenames in listing.walk(exclude):
        prefix = rel_dir + "/" if rel_dir else ""
        if rel_dir in listing.unreadable:
            found.append(rel_dir or ".")
        for name in filenames:
            if name.endswith(YAML_SUFFIXES) and not is_excluded(prefix + name, exclude):
                found.append(prefix + name)
        links = {name for name, _, _, is_link, _ in listing.entries(rel_dir) if is_link}
        found.extend(prefix + d for d in dirnames if d in links)
    return sorted(found)


def test_discover_finds_what_the_walk_finds(tmp_path):
    root = _tree(tmp_path / "repo")
    rng = random.Random(3)
    patterns = ["apps/web/overlays", "*.yml", "apps/*/base", "charts/", "docs/*", "web-link", "apps/api/*.yaml",
                "top.yaml", "nothing", "apps"]
    for _ in range(40):
        exclude = tuple(rng.sample(patterns, rng.randint(0, 3)))
        expected = _discover_by_walk(root, exclude, Listing(root))
        assert discover(root, exclude) == expected, exclude
        native = native_listing(root)
        if native is not None:
            assert discover(root, exclude, native) == expected, exclude
    assert "web-link" in discover(root) and "apps/web/base/deploy.yaml" in discover(root)
