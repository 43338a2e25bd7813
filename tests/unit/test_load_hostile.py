"""The loader on files that are not what they seem: pipes, link loops, unreadable folders, lists."""

import encodings.utf_8_sig  # noqa: F401 - imported before a child drops root and cannot read the library
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import write_repo
from wavegate.load import load

OBJECT = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: web\n"


def problems(repo):
    return [(p.rule, p.path, p.line) for p in repo.problems]


def test_a_fifo_named_like_yaml_is_skipped_with_an_info_finding_not_read(tmp_path):
    write_repo(tmp_path, {"real.yaml": OBJECT.format(name="a")})
    os.mkfifo(tmp_path / "a.yaml")
    # Reading a FIFO blocks until someone writes to it; load must not even open it.
    repo = _in_child(load, tmp_path, timeout=20)
    assert problems(repo) == [("yaml-not-a-regular-file", "a.yaml", 1)]
    assert repo.problems[0].severity.name == "INFO" and "named pipe" in repo.problems[0].message
    assert [m.name for m in repo.manifests] == ["a"]


def test_a_loop_of_symbolic_links_is_a_finding_at_each_link(tmp_path):
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    repo = load(tmp_path)
    assert problems(repo) == [("yaml-unreadable", "a.yaml", 1), ("yaml-unreadable", "b.yaml", 1)]
    assert "a.yaml -> b.yaml" in repo.problems[0].message and "loop" in repo.problems[0].message


def test_a_link_to_nothing_says_so(tmp_path):
    os.symlink("gone.yaml", tmp_path / "a.yaml")
    [problem] = load(tmp_path).problems
    assert problem.rule == "yaml-unreadable" and "No such file" in problem.message
    assert "Restore the file the link points to" in problem.hint


def test_a_folder_the_user_cannot_read_is_an_error_naming_it():
    # Root reads every folder, so when the tests run as root the loader runs as nobody.
    root = Path(tempfile.mkdtemp(prefix="wavegate-perm-"))
    try:
        root.chmod(0o755)
        write_repo(root, {"ok/a.yaml": OBJECT.format(name="a"), "secret/b.yaml": OBJECT.format(name="b")})
        for folder in (root / "ok", root / "secret"):
            folder.chmod(0o755)
        (root / "ok" / "a.yaml").chmod(0o644)
        (root / "secret").chmod(0)
        repo = _in_child(load, root, unprivileged=True)
        assert problems(repo) == [("yaml-unreadable", "secret", 1)]
        assert repo.problems[0].message == "cannot read directory secret: Permission denied"
        assert [m.name for m in repo.manifests] == ["a"]
    finally:
        (root / "secret").chmod(0o755)
        shutil.rmtree(root)


def test_a_file_the_user_cannot_read_is_an_error_naming_it():
    root = Path(tempfile.mkdtemp(prefix="wavegate-perm-"))
    try:
        root.chmod(0o755)
        write_repo(root, {"a.yaml": OBJECT.format(name="a")})
        (root / "a.yaml").chmod(0)
        repo = _in_child(load, root, unprivileged=True)
        assert problems(repo) == [("yaml-unreadable", "a.yaml", 1)]
        assert repo.problems[0].message == "cannot read file a.yaml: Permission denied"
    finally:
        shutil.rmtree(root)


def test_a_newline_in_a_file_name_is_escaped_in_messages(tmp_path):
    os.symlink("b.yaml", tmp_path / "a\nb.yaml")
    os.symlink("a\nb.yaml", tmp_path / "b.yaml")
    messages = [p.message for p in load(tmp_path).problems]
    assert all("\n" not in m for m in messages) and any("a\\nb.yaml" in m for m in messages)


LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: first
      namespace: web
  - apiVersion: v1
    kind: Secret
    metadata:
      name: second
    data:
      key: dmFsdWU=
  - just text
  - kind: ConfigMap
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_list_stands_for_its_items_each_with_its_own_lines(tmp_path, monkeypatch, workers):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", workers)
    write_repo(tmp_path, {"list.yaml": LIST, "other.yaml": OBJECT.format(name="x")})
    repo = load(tmp_path)
    first, second = [m for m in repo.manifests if m.path == "list.yaml"]
    assert (first.kind, first.name, second.kind, second.name) == ("ConfigMap", "first", "Secret", "second")
    assert first.position(()) == (4, 5) and first.position(("metadata", "name")) == (7, 7)
    assert second.position(("data", "key"), key=False) == (14, 12)
    # The list itself is not an object Argo CD applies; an item that is not an object is a finding.
    assert problems(repo) == [("yaml-not-a-mapping", "list.yaml", 15)]
    [untyped] = repo.untyped
    assert untyped.missing == ("apiVersion", "metadata.name") and untyped.position(()) == (16, 5)


def test_a_list_with_items_is_checked_like_documents(tmp_path):
    from tests.helpers import check_repo

    write_repo(tmp_path, {"list.yaml": LIST.replace("name: first", "name: first\n      annotations:\n"
                                                                   "        argocd.argoproj.io/sync-wave: \"1.5\"")})
    [wave] = [f for f in check_repo(tmp_path) if f.rule == "sync-wave-not-integer"]
    assert (wave.path, wave.line) == ("list.yaml", 9)


def test_a_mapping_with_items_that_is_not_a_list_kind_stays_one_document(tmp_path):
    write_repo(tmp_path, {"m.yaml": OBJECT.format(name="a") + "items:\n  - one\n"})
    [manifest] = load(tmp_path).manifests
    assert manifest.kind == "ConfigMap" and manifest.get("items") == ["one"]


def _in_child(function, *args, unprivileged=False, timeout=60):
    """function(*args) in a forked child (as nobody when `unprivileged` and this process is root),
    failing instead of hanging when it does not answer in time."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        try:
            if unprivileged and os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            send.send(("ok", function(*args)))
        except BaseException as error:  # noqa: BLE001 - reported by the parent
            send.send(("error", f"{type(error).__name__}: {error}"))

    process = context.Process(target=child)
    process.start()
    try:
        if not receive.poll(timeout):
            pytest.fail(f"{function.__name__} did not answer within {timeout} s")
        outcome, value = receive.recv()
        assert outcome == "ok", value
        return value
    finally:
        process.kill()
        process.join()


def test_nested_mappings_as_keys_load_in_linear_time(tmp_path):
    # `{{{...}}}`: each key is a mapping whose text holds the escaped text of the key inside it;
    # unbounded, that text doubles with every level (found by tests/property).
    import time

    write_repo(tmp_path, {"keys.yaml": "{" * 150 + "}" * 150 + "\n", "seq.yaml": "? " * 60 + "[a]\n"})
    started = time.perf_counter()
    repo = _in_child(load, tmp_path, timeout=20)
    assert time.perf_counter() - started < 10
    assert all(len(str(m.data)) < 5000 for m in repo.manifests + repo.untyped)
