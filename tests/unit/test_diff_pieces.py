"""The pure pieces of `wavegate diff`: field changes as JSON pointers, Secret masking, the Mermaid
text, and the JSON report's round trip."""

from wavegate.diff.compare import field_changes, pointer_path
from wavegate.diff.mermaid import MAX_UNCHANGED, diagram, label
from wavegate.diff.model import ADDED, CHANGED, UNCHANGED, AppDiff, Diff, FieldChange, ObjectChange, ObjectKey, Step
from wavegate.diff.normalize import CHANGED as HIDDEN_CHANGED
from wavegate.diff.normalize import HIDDEN, masked_pair, remove_pointer


def pointers(old, new):
    return [(c.pointer, c.op, c.old if c.has_old else None, c.new if c.has_new else None)
            for c in field_changes(old, new)]


def test_an_item_inserted_in_a_list_is_one_add_not_a_shift():
    old = {"env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]}
    new = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]}
    assert pointers(old, new) == [("/env/1", "add", None, {"name": "B", "value": "2"})]


def test_keys_with_slashes_and_tildes_are_escaped_and_read_back():
    old = {"metadata": {"annotations": {"example.com/owner~x": "a"}}}
    new = {"metadata": {"annotations": {"example.com/owner~x": "b"}}}
    [(pointer, op, before, after)] = pointers(old, new)
    assert pointer == "/metadata/annotations/example.com~1owner~0x" and (before, after) == ("a", "b")
    assert pointer_path(pointer) == ("metadata", "annotations", "example.com/owner~x")


def test_a_type_change_is_a_replace_and_equal_values_are_nothing():
    assert pointers({"a": 1}, {"a": "1"}) == [("/a", "replace", 1, "1")]
    assert pointers({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) == []


def test_remove_pointer_skips_what_is_not_there():
    data = {"spec": {"replicas": 2, "list": [1, 2]}}
    remove_pointer(data, "/spec/replicas")
    remove_pointer(data, "/spec/missing/deeper")
    remove_pointer(data, "/spec/list/5")
    assert data == {"spec": {"list": [1, 2]}}


def test_secret_values_are_masked_and_only_a_changed_one_differs():
    old = {"kind": "Secret", "data": {"a": "eA==", "b": "eQ=="}, "stringData": {"c": "plain"}}
    new = {"kind": "Secret", "data": {"a": "eA==", "b": "eg==", "n": "bg=="}, "stringData": {"c": "plain"}}
    masked_old, masked_new = masked_pair(old, new)
    assert masked_old["data"] == {"a": HIDDEN, "b": HIDDEN} and masked_old["stringData"] == {"c": HIDDEN}
    assert masked_new["data"] == {"a": HIDDEN, "b": HIDDEN_CHANGED, "n": HIDDEN}
    assert old["data"]["b"] == "eQ=="  # the inputs are left alone


def test_mermaid_labels_cannot_break_out_of_their_quotes():
    assert label('a"b<c>#d') == "a#quot;b#lt;c#gt;#35;d"


def app(members, status=CHANGED):
    return AppDiff("web", status, steps=[Step("Sync", 0, members)])


def test_many_unchanged_objects_fold_into_one_box_and_order_is_kept():
    keys = [ObjectKey("", "ConfigMap", "ns", f"c{i}") for i in range(MAX_UNCHANGED + 3)]
    members = [(k, UNCHANGED, False) for k in keys]
    members[3] = (keys[3], CHANGED, False)
    members[1] = (keys[1], ADDED, True)
    text = diagram(app(members))
    assert '{{"+ hook ConfigMap ns/c1"}}' in text and '["~ ConfigMap ns/c3"]' in text
    assert text.index("ns/c1") < text.index("ns/c3") < text.index(f"\"{MAX_UNCHANGED + 1} unchanged\"")
    few = diagram(app([(k, UNCHANGED, False) for k in keys[:2]]))
    assert '["ConfigMap ns/c0"]' in few and "unchanged\"]" not in few


def test_the_json_report_round_trips():
    key = ObjectKey("apps", "Deployment", "shop", "web")
    diff = Diff("main", "working tree", "a" * 40, "", [AppDiff("web", CHANGED, "argocd/web.yaml", [
        ObjectChange(key, CHANGED, "apps/v1", fields=[FieldChange("/spec/replicas", "replace", 1, None),
                                                      FieldChange("/data/x", "replace", hidden=True)])],
        [Step("Sync", 0, [(key, CHANGED, False)])], ["a note"])])
    again = Diff.from_json(diff.to_json())
    assert again.to_json() == diff.to_json()
    assert again.applications[0].objects[0].fields[0].new is None  # a null value is a value
    assert "old" not in diff.to_json()["applications"][0]["objects"][0]["fields"][1]
