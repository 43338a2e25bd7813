"""The promotion plan: keep fields, in-place edits and their fallback, added/removed files, diffs."""

import pytest

from wavegate.promote.plan import PlanError, build_plan, diff, jq_to_pointer, parse_pointer

KEEP = ({"group": "kro.run", "kind": "CICDPipeline", "jsonPointers": ["/spec/aws/accountId"]},)


def pipeline(account, extra="", comment="# pipeline"):
    return (f"{comment}\napiVersion: kro.run/v1alpha1\nkind: CICDPipeline\nmetadata:\n  name: p\n  namespace: t\n"
            f"spec:\n  aws:\n    accountId: {account}   # the account\n    region: us-west-2\n{extra}").encode()


def test_keep_fields_keep_the_targets_value_in_its_own_spelling():
    plan = build_plan("dev", "staging", {"p.yaml": pipeline('"111"', "  size: 2\n")},
                      {"p.yaml": pipeline("'222'", "  size: 1\n", "# staging")}, KEEP)
    [f] = plan.files
    assert f.status == "changed" and not f.reformatted
    assert f.text == pipeline("'222'", "  size: 2\n")
    assert [(c.pointer, c.old, c.new) for c in f.changes] == [("/spec/size", 1, 2)]


def test_nothing_to_do_when_only_kept_fields_differ():
    plan = build_plan("dev", "staging", {"p.yaml": pipeline('"111"')}, {"p.yaml": pipeline('"222"')}, KEEP)
    assert plan.files[0].status == "unchanged" and plan.empty


def test_a_kept_field_missing_on_one_side_reformats_and_says_why():
    source = pipeline('"111"')
    target = b"apiVersion: kro.run/v1alpha1\nkind: CICDPipeline\nmetadata: {name: p, namespace: t}\nspec:\n  aws: {region: us-west-2}\n"
    [f] = build_plan("dev", "staging", {"p.yaml": source}, {"p.yaml": target}, KEEP).files
    assert "missing in staging" in f.reformatted
    assert b"accountId" not in f.text and f.changes == []  # staging has no accountId, and keeps not having one


def test_block_values_are_kept_through_reformatting():
    keep = ({"group": "kro.run", "kind": "CICDPipeline", "jsonPointers": ["/spec/aws"]},)
    [f] = build_plan("dev", "staging", {"p.yaml": pipeline('"111"', "  size: 2\n")}, {"p.yaml": pipeline('"222"')},
                     keep).files
    assert "not a single-line value" in f.reformatted
    from wavegate.load import parse_documents

    [doc], _ = parse_documents("p.yaml", f.text.decode())
    assert doc.data["spec"] == {"aws": {"accountId": "222", "region": "us-west-2"}, "size": 2}
    assert [(c.pointer, c.op) for c in f.changes] == [("/spec/size", "add")]


def test_added_removed_and_pruned_files():
    cm = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    plan = build_plan("dev", "staging", {"new.yaml": cm, "README.md": b"dev"}, {"old.yml": cm, "README.md": b"staging"})
    assert [(f.path, f.status) for f in plan.files] == [("new.yaml", "added"), ("old.yml", "only-in-target")]
    assert plan.writes == {"new.yaml": cm} and plan.removals == []
    pruned = build_plan("dev", "staging", {"new.yaml": cm}, {"old.yml": cm}, prune=True)
    assert pruned.removals == ["old.yml"]


def test_an_object_without_counterpart_is_noted():
    plan = build_plan("dev", "staging", {"p.yaml": pipeline('"111"')}, {}, KEEP)
    assert plan.files[0].status == "added" and "staging has no CICDPipeline t/p" in plan.notes[0]


def test_matching_by_identity_across_files():
    plan = build_plan("dev", "staging", {"a.yaml": pipeline('"111"')}, {"b.yaml": pipeline('"222"')}, KEEP)
    added = next(f for f in plan.files if f.path == "a.yaml")
    assert b'accountId: "222"' in added.text


def test_multi_document_files_and_json():
    two = pipeline('"111"') + b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n"
    two_b = pipeline('"222"') + b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n"
    [f] = build_plan("dev", "staging", {"p.yaml": two}, {"p.yaml": two_b}, KEEP).files
    assert b'accountId: "222"' in f.text and [(c.resource, c.pointer) for c in f.changes] == [("ConfigMap c", "/data/a")]
    [j] = build_plan("dev", "staging", {"c.json": b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}'},
                     {}, ()).files
    assert j.status == "added"


def test_jq_subset_and_pointers():
    assert jq_to_pointer(".spec.aws.accountId") == ("spec", "aws", "accountId")
    assert jq_to_pointer('.metadata.labels["app.kubernetes.io/name"]') == ("metadata", "labels", "app.kubernetes.io/name")
    assert jq_to_pointer(".spec.items[0].x") == ("spec", "items", "0", "x")
    for unsupported in (".spec.items[]", '.spec.containers[] | select(.name == "x")', "spec.x", "."):
        with pytest.raises(PlanError):
            jq_to_pointer(unsupported)
    assert parse_pointer("/metadata/annotations/a~1b~0c") == ("metadata", "annotations", "a/b~c")
    keep = ({"group": "kro.run", "kind": "CICDPipeline", "jqPathExpressions": [".spec.aws[] | .x"]},)
    with pytest.raises(PlanError, match="not supported"):
        build_plan("dev", "staging", {"p.yaml": pipeline('"1"')}, {"p.yaml": pipeline('"2"')}, keep)


def test_diff_is_json_pointers():
    changes = diff({"a": {"b": 1, "c": [1, 2]}, "x": 1}, {"a": {"b": 2, "c": [1]}, "y": True}, "r")
    assert [(c.pointer, c.op) for c in changes] == [("/a/b", "replace"), ("/a/c/1", "remove"), ("/x", "remove"),
                                                    ("/y", "add")]
    assert diff(1, True, "r")[0].op == "replace"  # 1 == True in Python, not in YAML
