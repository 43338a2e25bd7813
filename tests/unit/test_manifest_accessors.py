"""What a Manifest answers about its data: Manifest.get's steps, and the type metadata, name,
namespace, labels and annotations it holds once read, forgotten when its data is replaced."""

from wavegate.load import Manifest


def deployment(**metadata):
    return Manifest("d.yaml", 0, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
                                  "spec": {"replicas": None, "template": {"spec": {"containers": [{"name": "a"}]}}}})


def test_get_walks_keys_and_indexes_and_says_default_where_a_step_is_missing():
    m = deployment(name="web")
    assert m.get("spec", "template", "spec", "containers", 0, "name") == "a"
    assert m.get("spec", "template", "spec", "containers", -1, "name") == "a"
    assert m.get("spec", "template", "spec", "containers", 1, default="none") == "none"  # past the end
    assert m.get("spec", "replicas", default=3) is None  # written as null: the null, not the default
    assert m.get("spec", "replicas", "x", default=3) == 3  # a step into a null
    assert m.get("spec", "absent", default=3) == 3
    assert m.get("spec", 0, default=3) == 3  # an index into a mapping
    assert m.get("spec", "template", "spec", "containers", "name", default=3) == 3  # a key into a list
    assert m.get() is m.data


def test_the_metadata_read_once_are_read_again_from_new_data():
    m = deployment(name="web", namespace="shop", labels={"app": "web"}, annotations={"a": "1"})
    assert (m.name, m.namespace, m.labels, m.annotations, m.group, m.kind) == (
        "web", "shop", {"app": "web"}, {"a": "1"}, "apps", "Deployment")
    m.set_data({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}})
    assert (m.name, m.namespace, m.labels, m.annotations, m.group, m.kind) == ("api", None, {}, {}, "", "Service")


def test_metadata_of_the_wrong_type_reads_as_absent():
    m = deployment(name=5, namespace=["x"], labels="app=web", annotations=None)
    assert (m.name, m.namespace, m.labels, m.annotations) == (None, None, {}, {})


def test_having_finds_objects_by_kind_metadata_key_or_annotation_each_once_in_order():
    from pathlib import Path

    from wavegate.load import Repo

    def obj(kind, **metadata):
        return Manifest("m.yaml", 0, {"apiVersion": "v1", "kind": kind, "metadata": metadata})

    hooked = obj("Job", name="migrate", annotations={"argocd.argoproj.io/hook": "PreSync"}, finalizers=["x"])
    secret = obj("Secret", name="s")
    plain = obj("ConfigMap", name="c", annotations={"other": "1"})
    both = obj("Secret", name="t", annotations={"argocd.argoproj.io/hook": "Sync"})
    broken = Manifest("m.yaml", 1, {"apiVersion": "v1", "kind": "Secret", "metadata": "not a mapping"})
    repo = Repo(root=Path("."), manifests=[hooked, secret, plain, both, broken])
    assert repo.having(kinds=("Secret",), annotations=("argocd.argoproj.io/hook",)) == [hooked, secret, both, broken]
    assert repo.having(metadata=("finalizers",)) == [hooked]
    assert repo.having(kinds=("Pod",), annotations=("absent",)) == []
    assert repo.having() == []
    repo.manifests.append(obj("Pod", name="p"))  # (the index follows the list it was made from)
    assert [m.name for m in repo.having(kinds=("Pod",))] == ["p"]
    repo.manifests = [plain]
    assert repo.having(annotations=("other",)) == [plain] and repo.having(kinds=("Secret",)) == []
