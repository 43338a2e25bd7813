"""The fast paths of loading and of the cross-manifest lookups give exactly the slow paths' answers:
worker processes and lazily computed positions, the alias-free size count, the directory index
behind Context.synced_by."""

from __future__ import annotations

import os
import pickle
import time

import pytest

from tests.helpers import check_repo, write_repo
from wavegate import load as loader
from wavegate import load_python
from wavegate.load import Limits, load, load_file

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

FILES = {
    "manifests/multi.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a, namespace: team}
        data: {k: v}
        ---
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
          namespace: team
        data:
          k: v
          k: w
        """,
    "manifests/anchors.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, labels: &labels {app: web}}
        spec:
          selector: {matchLabels: *labels}
          template:
            metadata: {labels: {<<: *labels, tier: front}}
            spec: {containers: [{name: web, image: "nginx:1.27"}]}
        """,
    "manifests/broken.yaml": "metadata:\n  name: web\n   labels: {}\n",
    "manifests/list.yaml": "- a\n- b\n",
    "manifests/untyped.yaml": "metadata: {name: x}\n",
    "manifests/items.yaml": """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: first}
          - apiVersion: v1
            kind: Secret
            metadata:
              name: second
            data: {key: dmFsdWU=}
        """,
    "deep/nested/dir/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\n",
    "root.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    "skipped.yaml": "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n",
}


def _snapshot(repo):
    return ([(m.path, m.doc_index, m.data, dict(m.positions), m.missing) for m in repo.manifests + repo.untyped],
            repo.files, repo.problems, repo.skip_marked)


@pytest.fixture
def many(tmp_path):
    files = {}
    for i in range(30):  # enough files for several chunks
        for rel, text in FILES.items():
            files[f"app{i}/{rel}"] = text
    return write_repo(tmp_path, files)


def test_workers_and_lazy_positions_give_the_same_repository(many, monkeypatch):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    one = load(many)
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "2")
    two = load(many)
    eager = [m for rel in one.files for m in load_file(many, rel)[0]]
    assert _snapshot(one) == _snapshot(two)
    in_order = sorted(two.manifests + two.untyped, key=lambda m: (two.files.index(m.path), m.doc_index))
    assert [m.positions for m in in_order] == [m.positions for m in eager]
    assert any(p.rule == "yaml-duplicate-key" for p in two.problems)
    # the worker path itself (load falls back to one process when workers cannot start)
    parallel = loader._load_parallel(many, one.files, Limits(), 2)
    assert [p for _, problems, _ in parallel for p in problems] == two.problems
    assert any(p.rule == "yaml-syntax" for p in two.problems)


def test_chunks_read_by_the_worker_come_back_in_their_place(many, monkeypatch):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    one = load(many)
    monkeypatch.setattr(loader, "CHUNK_FILES", 5)
    here, real, parent = [], loader._load_chunk, os.getpid()

    def slowly_here(root, paths, limits):  # (so that the worker takes its share of the chunks)
        if os.getpid() == parent:
            here.append(paths[0])
            time.sleep(0.002)
        return real(root, paths, limits)

    monkeypatch.setattr(loader, "_load_chunk", slowly_here)
    parallel = loader._load_parallel(many, one.files, Limits(), 2)
    assert 0 < len(here) < len(one.files) / 5
    flat = [m for manifests, _, _ in parallel for m in manifests]
    # (positions too: the worker sends them as plain data, an item of a `kind: List` as its index)
    assert [(m.path, m.doc_index, m.data, m.positions) for m in flat] == \
        [(m.path, m.doc_index, m.data, m.positions) for m in sorted(one.manifests + one.untyped,
                                                                    key=lambda m: (one.files.index(m.path),
                                                                                   m.doc_index))]


def test_lazy_manifests_pickle_and_compute_positions_after(many):
    (manifest,), _ = load_file(many, "app0/manifests/anchors.yaml", lazy_positions=True)
    assert "positions" not in manifest.__dict__
    copy = pickle.loads(pickle.dumps(manifest))
    (eager,), _ = load_file(many, "app0/manifests/anchors.yaml")
    path = ("spec", "template", "metadata", "labels", "tier")
    assert copy.position(path) == eager.position(path) == (7, 38)
    assert copy == eager
    with pytest.raises(AttributeError):
        manifest.no_such_attribute  # noqa: B018


def test_alias_free_count_agrees_with_the_general_one():
    text = "a: [1, 2, {b: c}]\nd: {e: [f, g]}\n"
    builder = load_python._Builder("x.yaml", 0, Limits(), may_alias=False)
    node = yaml_node(text)
    assert builder._tree_size(node) == load_python._Builder("x.yaml", 0, Limits())._expanded_size(node, set(), 0)
    deep = "".join(" " * i + f"k{i}:\n" for i in range(210)) + " " * 210 + "v\n"  # block nesting, no brackets
    (found,) = loader.parse_documents("deep.yaml", deep)[1]
    assert found.rule == "yaml-too-deep"
    small = load_python._Builder("x.yaml", 0, Limits(max_expanded_nodes=5), may_alias=False)
    with pytest.raises(load_python._TooLarge):
        small._tree_size(yaml_node(text))


def yaml_node(text):
    import yaml

    return yaml.compose(text, Loader=load_python._Loader)


def test_checks_see_the_same_findings_with_workers(many, monkeypatch):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    one = check_repo(many)
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "2")
    assert check_repo(many) == one
    assert one


def test_independent_checks_in_a_worker_give_the_same_findings(tmp_path, monkeypatch):
    from wavegate import validators

    files = {f"app{i}/{rel}": text for i in range(3) for rel, text in FILES.items()}
    files["app0/manifests/admins.yaml"] = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: admins, namespace: team}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{kind: ServiceAccount, name: deployer, namespace: team}]\n")
    root = write_repo(tmp_path, files)
    monkeypatch.setenv("WAVEGATE_CHECK_WORKERS", "1")
    one = check_repo(root)
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS")
    monkeypatch.setattr(validators, "PARALLEL_MIN_MANIFESTS", 1)
    here = []  # the checks run in this process (the worker's own list stays in the worker)
    real = validators._run_one

    def spy(name, *args):  # each check a little slower, so that the worker takes its share
        here.append(name)
        time.sleep(0.05)
        return real(name, *args)

    monkeypatch.setattr(validators, "_run_one", spy)
    import wavegate.validators.kro as kro_check

    monkeypatch.setattr(kro_check, "INDEPENDENT", False, raising=False)  # shares state: stays here
    assert check_repo(root) == one
    assert 0 < len(here) < len(validators.checks()) and "kro" in here
    # the policy check runs where the schema check ran, right after it (it reuses its results)
    assert ("schema" in here) == ("policy" in here)
    if "schema" in here:
        assert here.index("policy") == here.index("schema") + 1
    assert any(f.rule.startswith("policy-") for f in one)


def test_checks_run_together_are_taken_as_one_group():
    from wavegate import validators

    found = [(name, None) for name in ("policy", "schema", "catalog", "objects")]
    assert validators._groups(found, [0, 1, 2, 3]) == [[1, 0], [2], [3]]
    assert validators._groups(found, [2, 0, 3]) == [[2], [0], [3]]  # schema stays here: policy goes alone


def test_a_check_worker_that_dies_leaves_the_findings_alone(many, monkeypatch):
    from wavegate import validators

    monkeypatch.setenv("WAVEGATE_CHECK_WORKERS", "1")
    one = check_repo(many)
    monkeypatch.delenv("WAVEGATE_CHECK_WORKERS")
    monkeypatch.setattr(validators, "PARALLEL_MIN_MANIFESTS", 1)
    parent, real, here = os.getpid(), validators._run_one, []

    def dies_in_the_worker(name, *args):
        if os.getpid() != parent:
            os._exit(3)  # (what it took is lost with it)
        here.append(name)
        time.sleep(0.01)  # (so that the worker takes one)
        return real(name, *args)

    monkeypatch.setattr(validators, "_run_one", dies_in_the_worker)
    assert check_repo(many) == one
    assert sorted(here) == sorted(name for name, _ in validators.checks())  # (every check ran here in the end)


def test_a_load_worker_that_dies_leaves_the_repository_alone(many, monkeypatch):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    one = load(many)
    monkeypatch.setattr(loader, "CHUNK_FILES", 5)
    parent, real = os.getpid(), loader._load_chunk

    def dies_in_the_worker(root, paths, limits):
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.002)
        return real(root, paths, limits)

    monkeypatch.setattr(loader, "_load_chunk", dies_in_the_worker)
    parallel = loader._load_parallel(many, one.files, Limits(), 3)
    assert [(m.path, m.doc_index, m.data) for manifests, _, _ in parallel for m in manifests] == \
        [(m.path, m.doc_index, m.data) for m in sorted(one.manifests + one.untyped,
                                                       key=lambda m: (one.files.index(m.path), m.doc_index))]


def test_this_process_works_meanwhile_while_the_workers_parse(many, monkeypatch):
    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    one = load(many)
    monkeypatch.delenv("WAVEGATE_LOAD_WORKERS")
    monkeypatch.setattr(loader, "MEANWHILE_PARALLEL_MIN_FILES", 10)
    monkeypatch.setattr(loader, "CHUNK_FILES", 5)
    steps: list[int] = []

    def meanwhile():
        for step in range(1000):
            steps.append(step)
            yield
            time.sleep(0.002)

    assert _snapshot(load(many, meanwhile=meanwhile)) == _snapshot(one)
    # (steps are taken while files are left to parse, and no longer: 1,000 steps take 2 s)
    assert 0 < len(steps) < 1000

    def fails():
        steps.append(-1)
        yield
        raise RuntimeError("met again later, where this work is done for real")

    assert _snapshot(load(many, meanwhile=fails)) == _snapshot(one)
    assert steps[-1] == -1


def test_no_worker_no_meanwhile(many, monkeypatch):
    """Without workers nothing is done meanwhile: the caller does that work when it needs it, as
    it would have. With something to do meanwhile, a worker pays from fewer files."""
    called = []

    def meanwhile():
        called.append(True)
        yield

    monkeypatch.setenv("WAVEGATE_LOAD_WORKERS", "1")
    load(many, meanwhile=meanwhile)
    assert called == []
    monkeypatch.delenv("WAVEGATE_LOAD_WORKERS")
    least = loader.MEANWHILE_PARALLEL_MIN_FILES if loader.load_native.AVAILABLE else loader.PARALLEL_MIN_FILES
    assert loader._workers(least, meanwhile=True) == 1
    assert loader._workers(least + 1, meanwhile=True) == min(os.cpu_count() or 1, loader.MAX_WORKERS)
    if loader.load_native.AVAILABLE:
        assert loader._workers(least + 1) == 1  # (nothing to do meanwhile: not yet worth a worker)


def test_the_render_leaves_no_garbage_for_the_collector(tmp_path):
    """The render runs with the cyclic collector off (pipeline._render): it must make no reference
    cycles, which would live on, frozen, until the process ends."""
    import gc

    from tests.helpers import write_repo
    from wavegate import pipeline

    files = {f"apps/app{i}/argocd/app.yaml": f"""
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: app{i}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: https://gitlab.example.com/team/app.git, path: apps/app{i}/manifests,
                   directory: {{recurse: true, exclude: "*.txt"}}}}
          destination: {{server: https://kubernetes.default.svc, namespace: app{i}}}
        """ for i in range(20)}
    files.update({f"apps/app{i}/manifests/sub/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
                  for i in range(20)})
    files["unsynced/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\n"
    root = write_repo(tmp_path, files)
    run = pipeline.prepare(pipeline.Options(root=root, cache=False))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        from wavegate.render.stage import RenderOptions, render

        rendering = render(run.loaded, RenderOptions(repo_url="https://gitlab.example.com/team/app.git"))
        gc.collect()
        garbage = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    # (each Application's, the folders of the Applications and the unsynced one, read as roots)
    assert len(rendering.sync_sets) == 41 and not rendering.problems
    assert garbage == []


def test_a_file_is_read_with_one_read_when_its_size_says_all(tmp_path, monkeypatch):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"kind: ConfigMap\n" * 100)
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert loader._read_bytes(str(path), 10_000) == b"kind: ConfigMap\n" * 100
    assert len(reads) == 1
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    assert loader._read_bytes(str(empty), 10_000) == b""


def test_a_file_larger_than_its_size_said_is_read_to_its_end(tmp_path, monkeypatch):
    # (a file that grew between fstat and read, or one whose size says nothing, as in /proc)
    path = tmp_path / "a.yaml"
    content = b"x" * 200_000
    path.write_bytes(content)
    real_fstat = os.fstat

    def fstat(fd):
        status = real_fstat(fd)
        return os.stat_result((status.st_mode, *status[1:6], 10, *status[7:]))
    monkeypatch.setattr(os, "fstat", fstat)
    assert loader._read_bytes(str(path), 10**7) == content


def test_having_finds_what_a_look_at_every_object_finds(tmp_path):
    from wavegate.manifest import Manifest, Repo

    def made(i: int) -> Manifest:
        metadata: dict = {"name": f"m{i}"}
        if i % 3 == 0:
            metadata["finalizers"] = ["x"]
        if i % 4 == 0:
            metadata["annotations"] = {"argocd.argoproj.io/sync-wave": str(i), **({"a": "b"} if i % 8 == 0 else {})}
        return Manifest("f.yaml", i, {"apiVersion": "v1", "kind": ("Secret", "ConfigMap", "Job")[i % 3],
                                      "metadata": metadata})

    repo = Repo(root=tmp_path, manifests=[made(i) for i in range(40)])
    asked: list[dict] = [{"kinds": ("Secret",)}, {"metadata": ("finalizers",)}, {"annotations": ("a",)},
                         {"kinds": ("Job", "Secret"), "metadata": ("finalizers", "labels"),
                          "annotations": ("a", "argocd.argoproj.io/sync-wave")}, {}]
    for _ in range(2):  # (and again, once the keys were looked for)
        for question in asked:
            expected = [m for m in repo.manifests
                        if m.kind in question.get("kinds", ()) or any(k in m.metadata for k in question.get("metadata", ()))
                        or any(k in m.annotations for k in question.get("annotations", ()))]
            assert repo.having(**question) == expected
        repo.manifests = repo.manifests + [made(40 + len(repo.manifests))]  # (a new list: looked at anew)
    repo.manifests.append(made(99))  # (the same list, longer)
    assert repo.having(metadata=("finalizers",))[-1].name == "m99"
