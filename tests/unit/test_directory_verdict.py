"""What Argo CD makes of one file of a directory source (wavegate.render.directory.read_file),
around its shortcut for the usual file, one whole object: each neighbouring case still takes
the general path."""

from __future__ import annotations

from wavegate.load import parse_documents
from wavegate.render.directory import read_file

OBJECT = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"


def _verdict(rel: str, text: str):
    documents, problems = parse_documents(rel, text, lists=False)
    return read_file(rel, text, documents, failed=bool(problems)), documents


def test_a_file_of_one_object_is_that_object():
    verdict, documents = _verdict("a.yaml", OBJECT)
    assert verdict.objects == documents and len(documents) == 1
    assert (verdict.untyped, verdict.error, verdict.ignored) == ([], "", "")


def test_a_list_is_its_items():
    text = "apiVersion: v1\nkind: List\nitems:\n- " + OBJECT.replace("\n", "\n  ").rstrip() + "\n- " + \
        OBJECT.replace("name: a", "name: b").replace("\n", "\n  ").rstrip() + "\n"
    verdict, _ = _verdict("list.yaml", text)
    assert [m.data["metadata"]["name"] for m in verdict.objects] == ["a", "b"]


def test_an_object_without_a_name_is_untyped_and_one_without_a_kind_is_not_applied():
    verdict, documents = _verdict("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    assert verdict.objects == [] and verdict.untyped == documents
    verdict, _ = _verdict("c.yaml", "apiVersion: v1\nkind: 3\nmetadata:\n  name: c\n")
    assert verdict.objects == [] and "kind 3" in verdict.error


def test_the_skip_marker_wins_over_the_shortcut():
    verdict, _ = _verdict("d.yaml", "# +argocd:skip-file-rendering\n" + OBJECT)
    assert verdict.objects == [] and verdict.ignored


def test_a_json_file_of_one_object_is_that_object():
    verdict, documents = _verdict("e.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e"}}')
    assert verdict.objects == documents and verdict.error == ""
