import os

import pytest

from tests.helpers import write_repo
from wavegate.load import Limits, load, read_yaml

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

OBJECT = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def rules(repo):
    return [(p.rule, p.path, p.line) for p in repo.problems]


def test_multi_document_files_keep_every_key_position(tmp_path):
    write_repo(tmp_path, {"m.yaml": OBJECT.format(name="a") + "data:\n  key: value\n---\n" + OBJECT.format(name="b")})
    repo = load(tmp_path)
    first, second = repo.manifests
    assert (first.name, second.name) == ("a", "b")
    assert first.position(("data", "key")) == (6, 3)
    assert first.position(("data", "key"), key=False) == (6, 8)
    assert second.doc_index == 1 and second.position(("metadata", "name")) == (11, 3)
    # A missing path points at its nearest existing ancestor: where a person adds it.
    assert first.position(("data", "missing", "deeper")) == (5, 1)


def test_list_items_have_positions(tmp_path):
    write_repo(tmp_path, {"m.yaml": OBJECT.format(name="a") + "items:\n  - one\n  - two\n"})
    [manifest] = load(tmp_path).manifests
    assert manifest.position(("items", 1)) == (7, 5)


def test_default_discovery_skips_git_ci_and_config_and_honours_excludes(tmp_path):
    write_repo(tmp_path, {
        "a.yaml": OBJECT.format(name="a"),
        "sub/b.yml": OBJECT.format(name="b"),
        ".git/c.yaml": OBJECT.format(name="c"),
        ".gitlab-ci.yml": "stages: [test]\n",
        ".wavegate.yaml": "rules: {}\n",
        "docs/d.yaml": OBJECT.format(name="d"),
        "values.txt": "not yaml",
    })
    repo = load(tmp_path, exclude=("docs/",))
    assert repo.files == ["a.yaml", "sub/b.yml"]
    assert repo.problems == []


def test_syntax_error_is_a_finding_with_its_line(tmp_path):
    write_repo(tmp_path, {"bad.yaml": "metadata:\n  name: web\n   labels: {}\n"})
    [(rule, path, line)] = rules(load(tmp_path))
    assert (rule, path) == ("yaml-syntax", "bad.yaml") and line in (2, 3)


def test_tab_indentation_is_named_as_such(tmp_path):
    (tmp_path / "tab.yaml").write_text("metadata:\n\tname: web\n")
    assert rules(load(tmp_path)) == [("yaml-tab-indent", "tab.yaml", 2)]


def test_duplicate_keys_are_found_at_the_second_key(tmp_path):
    write_repo(tmp_path, {"dup.yaml": OBJECT.format(name="a") + "data:\n  x: '1'\n  x: '2'\n"})
    repo = load(tmp_path)
    [problem] = repo.problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-duplicate-key", 7, 3)
    assert "first at line 6" in problem.message and problem.field == "data.x"
    assert repo.manifests[0].data["data"]["x"] == "2"


def test_billion_laughs_is_rejected_without_expanding(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]" for i in range(1, 10)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    repo = load(tmp_path)
    assert rules(repo) == [("yaml-alias-bomb", "bomb.yaml", 1)]
    assert repo.manifests == []


def test_recursive_alias_is_rejected(tmp_path):
    (tmp_path / "loop.yaml").write_text("a: &a\n  b: *a\n")
    assert [r[0] for r in rules(load(tmp_path))] in (["yaml-alias-bomb"], ["yaml-syntax"])


def test_ordinary_aliases_and_merge_keys_work(tmp_path):
    write_repo(tmp_path, {"m.yaml": OBJECT.format(name="a") + "data: &d\n  x: '1'\nextra:\n  <<: *d\n  z: '2'\n"})
    [manifest] = load(tmp_path).manifests
    assert manifest.data["extra"] == {"x": "1", "z": "2"}


def test_file_over_the_size_limit(tmp_path):
    write_repo(tmp_path, {"big.yaml": OBJECT.format(name="a") + "data:\n  x: '" + "y" * 5000 + "'\n"})
    assert rules(load(tmp_path, limits=Limits(max_file_bytes=2048))) == [("yaml-file-too-large", "big.yaml", 1)]


def test_invalid_utf8_names_the_byte_and_line(tmp_path):
    (tmp_path / "latin.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
    [problem] = load(tmp_path).problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-invalid-utf8", 4, 12)


def test_invalid_utf8_after_a_byte_order_mark_is_placed_in_the_file(tmp_path):
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
    [problem] = load(tmp_path).problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-invalid-utf8", 4, 12)
    assert "byte 0xe9 at offset 55" in problem.message
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    assert [m.name for m in load(tmp_path).manifests] == ["a"]


def test_symlink_leaving_the_repository(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(OBJECT.format(name="secret"))
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    os.symlink(outside, repo_dir / "link.yaml")
    os.symlink(tmp_path, repo_dir / "linkdir")
    repo = load(repo_dir)
    assert sorted(rules(repo)) == [("yaml-symlink-escape", "link.yaml", 1), ("yaml-symlink-escape", "linkdir", 1)]
    assert repo.manifests == []


def test_symlink_inside_the_repository_is_read(tmp_path):
    write_repo(tmp_path, {"real/a.yaml": OBJECT.format(name="a")})
    os.symlink(tmp_path / "real" / "a.yaml", tmp_path / "alias.yaml")
    repo = load(tmp_path)
    assert repo.problems == [] and sorted(m.path for m in repo.manifests) == ["alias.yaml", "real/a.yaml"]


def test_documents_that_are_not_objects(tmp_path):
    write_repo(tmp_path, {"x.yaml": "- a\n- b\n---\njust text\n---\n---\nreplicas: 3\n"})
    repo = load(tmp_path)
    assert rules(repo) == [("yaml-not-a-mapping", "x.yaml", 1), ("yaml-not-a-mapping", "x.yaml", 4)]
    # A mapping without type metadata is kept apart; the validators judge it (tests/unit/test_untyped.py).
    [untyped] = repo.untyped
    assert untyped.missing == ("apiVersion", "kind", "metadata.name") and repo.manifests == []


def test_empty_documents_and_empty_files_are_fine(tmp_path):
    write_repo(tmp_path, {"empty.yaml": "", "comments.yaml": "# nothing here\n", "seps.yaml": "---\n---\n"})
    repo = load(tmp_path)
    assert repo.problems == [] and repo.manifests == []


def test_scalars_become_what_kubernetes_sees(tmp_path):
    # sigs.k8s.io/yaml: a timestamp stays text, `on`/`yes`/`n` are booleans (a boolean key becomes
    # "true"/"false"), 010 is octal, 1e3 a number, 12:30:00 text (not sexagesimal).
    write_repo(tmp_path, {"m.yaml": OBJECT.format(name="a")
                          + "data:\n  when: 2024-01-01\n  on: yes\n  n: 010\n  e: 1e3\n  t: 12:30:00\n"})
    [manifest] = load(tmp_path).manifests
    assert manifest.data["data"] == {"when": "2024-01-01", "true": True, "false": 8, "e": 1000, "t": "12:30:00"}


def test_read_yaml_accepts_any_mapping(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("appname: web\n")
    [document], problems = read_yaml(path, rel="values.yaml")
    assert problems == [] and document.data == {"appname": "web"} and document.path == "values.yaml"


def test_absurd_nesting_is_rejected_before_it_can_overflow_a_stack(tmp_path):
    (tmp_path / "flow.yaml").write_text("a: " + "[" * 50000 + "]" * 50000 + "\n")
    (tmp_path / "block.yaml").write_text("".join(" " * i + f"k{i}:\n" for i in range(300)) + " " * 300 + "v: 1\n")
    assert sorted(rules(load(tmp_path))) == [("yaml-too-deep", "block.yaml", 1), ("yaml-too-deep", "flow.yaml", 1)]


def test_the_listing_says_what_is_a_directory_as_the_system_does(tmp_path):
    from wavegate.load import Listing

    root = write_repo(tmp_path / "repo", {"apps/a/x.yaml": "a: 1\n", "apps/file.yaml": "b: 2\n"})
    os.symlink("apps/a", root / "linked")
    os.symlink("nowhere", root / "dangling")
    os.symlink(tmp_path, root / "outside")
    asked = ["", ".", "apps", "apps/", "./apps/a", "apps//a", "apps/a/.", "apps/file.yaml", "apps/missing",
             "linked", "linked/", "dangling", "outside", "apps/../apps", "..", "/", str(root / "apps"),
             "apps/a/x.yaml/", "x" * 300]
    listing = Listing(root)
    assert {rel: listing.is_dir(rel) for rel in asked} == {rel: os.path.isdir(root / rel) for rel in asked}


def test_manifests_by_kind_follow_the_repository_as_it_changes(tmp_path):
    root = write_repo(tmp_path / "repo", {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                                          "b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n"})
    repo = load(root)
    assert [m.name for m in repo.by_kind("ConfigMap", "")] == ["a"]
    assert repo.by_kind("ConfigMap", "apps") == [] and repo.by_kind("Secret") == []
    repo.manifests.append(repo.manifests[0])  # the same list, grown
    assert [m.name for m in repo.by_kind("ConfigMap")] == ["a", "a"]
    repo.manifests = [m for m in repo.manifests if m.kind == "Namespace"] + [repo.manifests[1]]  # another list, as long
    assert repo.by_kind("ConfigMap") == [] and [m.name for m in repo.by_kind("Namespace")] == ["b", "b"]
