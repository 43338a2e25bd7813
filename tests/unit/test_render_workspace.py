"""The render's mirror of the repository: what one tool rewrites there, another never misses."""

from __future__ import annotations

import threading

from wavegate.render.workspace import Workspace


def test_a_file_being_rewritten_or_restored_is_never_missing_from_the_mirror(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [a.yaml]\n")
    with Workspace(tmp_path) as workspace:
        mirrored = workspace.path / "base" / "kustomization.yaml"
        done = threading.Event()
        missing = []

        def read() -> None:  # another build, reading the base meanwhile
            while not done.is_set():
                if not mirrored.exists():
                    missing.append(1)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(300):
                workspace.writable("base/kustomization.yaml").write_text("resources: [a.yaml]\nbuildMetadata: []\n")
                workspace.restore("base/kustomization.yaml")
        finally:
            done.set()
            reader.join()
        assert not missing
        assert mirrored.read_text() == "resources: [a.yaml]\n"
        assert (tmp_path / "base" / "kustomization.yaml").read_text() == "resources: [a.yaml]\n"  # never written
        assert sorted(p.name for p in mirrored.parent.iterdir()) == ["kustomization.yaml"]  # nothing left beside it


def test_locks_are_taken_together_in_one_order(tmp_path):
    with Workspace(tmp_path) as workspace:
        with workspace.locked(["overlays/dev", "base", "base"]):
            assert workspace.lock_for("base").locked() and workspace.lock_for("overlays/dev").locked()
            assert not workspace.lock_for("overlays/prod").locked()
        assert not workspace.lock_for("base").locked()
        # Two builds over the same directories, named in other orders, never wait for each other's.
        finished = []

        def build(dirs: list[str]) -> None:
            for _ in range(200):
                with workspace.locked(dirs):
                    pass
            finished.append(dirs)

        threads = [threading.Thread(target=build, args=(dirs,)) for dirs in (["a", "b"], ["b", "a"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(finished) == 2


def test_an_original_that_cannot_be_read_back_leaves_nothing_in_the_mirror(tmp_path, monkeypatch):
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    with Workspace(tmp_path) as workspace:
        workspace.writable("kustomization.yaml").write_text("resources: []\nbuildMetadata: []\n")
        monkeypatch.setattr("wavegate.render.workspace._link_or_copy", lambda source, target: None)
        workspace.restore("kustomization.yaml")
        assert sorted(p.name for p in workspace.path.iterdir()) == []


def test_making_a_folder_private_leaves_a_kustomization_another_build_is_rewriting_alone(tmp_path):
    """A build with --enable-helm makes every file under its folder its own; a build of a folder
    below rewrites its kustomization meanwhile. Copied then, that file could be caught half written,
    and the half would replace what the other build wrote (kustomize: "kustomization.yaml is
    empty", seen once on gnunn-gitops/cluster-config)."""
    (tmp_path / "app" / "generate").mkdir(parents=True)
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [generate]\n")
    (tmp_path / "app" / "generate" / "kustomization.yaml").write_text("generators: [x.yaml]\n")
    with Workspace(tmp_path) as workspace:
        below = workspace.writable("app/generate/kustomization.yaml")
        below.write_text("generators: [x.yaml]\nbuildMetadata: [originAnnotations]\n")
        rewritten = below.stat().st_ino
        workspace.private("app")
        assert below.stat().st_ino == rewritten  # not copied: still the other build's own file
        workspace.restore("app/generate/kustomization.yaml")
        assert below.read_text() == "generators: [x.yaml]\n"
        assert below.stat().st_ino == (tmp_path / "app" / "generate" / "kustomization.yaml").stat().st_ino
        # the parent's own files were made private
        assert (workspace.path / "app" / "kustomization.yaml").stat().st_ino != \
            (tmp_path / "app" / "kustomization.yaml").stat().st_ino
