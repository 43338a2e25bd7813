"""What a Manifest answers about its data: Manifest.get's steps, and the type metadata, name,
namespace, labels and annotations it holds once read, forgotten when its data is replaced."""

import pytest

from tests.helpers import require_native_loader
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


# Data of every shape the type metadata can take: absent, of the wrong type, an apiVersion with no
# group or several slashes, metadata that is no mapping.
HELD_SHAPES = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop",
                                                                  "labels": {"a": "1"}, "annotations": {"b": "2"}}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "a/b/c", "kind": 5, "metadata": {"name": 7, "namespace": None, "labels": [], "annotations": "x"}},
    {"apiVersion": "/v1", "kind": ""},
    {"apiVersion": "group.io/", "metadata": None},
    {"apiVersion": 1.5, "kind": ["List"], "metadata": ["name"]},
    {"metadata": {"generateName": "job-"}},
    {},
]


def lazily(data):
    from wavegate.manifest import _FROM_DATA

    manifest = Manifest("f.yaml", 0, data)
    return {name: getattr(manifest, name) for name in _FROM_DATA}


@pytest.fixture(params=["native", "python"])
def hold(request, monkeypatch):
    """hold_type_metadata with the native loader's function, then with the Python fallback."""
    from wavegate import manifest as module

    if request.param == "native":
        require_native_loader()
    else:
        monkeypatch.setattr(module, "_native_hold", None)
    return module.hold_type_metadata


def test_type_metadata_held_at_once_are_what_the_properties_work_out(hold):
    from wavegate.manifest import _FROM_DATA

    manifests = [Manifest("f.yaml", i, data) for i, data in enumerate(HELD_SHAPES)]
    hold(manifests)
    for manifest, data in zip(manifests, HELD_SHAPES, strict=True):
        held = {name: manifest.__dict__[name] for name in _FROM_DATA}  # (held, not worked out on reading)
        assert held == lazily(data)
        assert {name: type(value) for name, value in held.items()} == \
            {name: type(value) for name, value in lazily(data).items()}
    assert manifests[0].metadata is HELD_SHAPES[0]["metadata"] and manifests[0].labels is HELD_SHAPES[0]["metadata"]["labels"]


def test_holding_keeps_what_was_read_already_and_forgets_nothing_set_data_replaces(hold):
    manifest = deployment(name="web")
    read_before = manifest.labels
    hold([manifest])
    assert manifest.labels is read_before
    manifest.set_data({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}})
    hold([manifest])
    assert (manifest.kind, manifest.group, manifest.version, manifest.name) == ("Service", "", "v1", "api")
    not_a_mapping = Manifest("f.yaml", 0, ["a list"])  # (nothing to hold: left to the properties)
    hold([not_a_mapping])
    assert "kind" not in not_a_mapping.__dict__
