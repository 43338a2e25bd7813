"""The cache between runs gives exactly an uncached run's findings: over random edits of a
repository (values, names, namespaces, a CRD, the configuration, broken YAML, files added, removed
and touched), `wavegate validate` with the cache and without it agree after every edit; unchanged
files are not parsed again, unchanged objects not checked again (schema, policy), and a run whose
inputs did not change is answered as a whole."""

from __future__ import annotations

import marshal
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import finding_rows, require_native_tree, validate_corpus, widget_crd, write_repo
from wavegate import cache as cache_module
from wavegate import load as loader
from wavegate import pipeline
from wavegate.cache import Cache, Key, RunStore, tree_state
from wavegate.load import load
from wavegate.render import replay
from wavegate.validators import apiserver_workloads as workloads_check
from wavegate.validators import kept as kept_checks
from wavegate.validators import policy as policy_check
from wavegate.validators import schema as schema_check

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import corpus  # noqa: E402

# Every test here runs with the native loader and with the Python path (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("both_loaders")

WIDGETS = {
    "crds/widget.yaml": widget_crd("type: object\n"
                                   "properties:\n"
                                   "  size: {type: integer, maximum: 10}\n"),
    "apps/app00000/manifests/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\n"
                                           "metadata: {name: w, namespace: team-app00000}\nspec: {size: 3}\n",
    "apps/app00001/manifests/anchors.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: anchored\n"
                                            "  namespace: team-app00001\n  labels: &l {a: b}\n"
                                            "  annotations: *l\ndata: {k: v}\n",
}


def _aged(root: Path, moment: int) -> None:
    """Every file's modification time set to `moment` (seconds, in the past): old enough that the
    cache trusts unchanged sizes and times, and different after each edit."""
    for directory, _, names in os.walk(root):
        if ".wavegate_cache" in directory:
            continue
        for name in names:
            os.utime(os.path.join(directory, name), ns=(moment * 10**9, moment * 10**9))


def _edit(root: Path, rnd: random.Random) -> str:
    files = sorted(p for p in root.rglob("*.yaml") if ".wavegate_cache" not in p.parts and p.name != ".wavegate.yaml")
    path = rnd.choice(files)
    text = path.read_text(encoding="utf-8")
    choice = rnd.randrange(13)
    if choice == 0:
        path.write_text(text.replace("replicas: ", "replicas: 1", 1).replace("namespace: ", "namespace: x", 1))
    elif choice == 1:
        path.write_text(text.replace("metadata:\n", "metadata:\n  unexpected: field\n", 1).replace(
            "spec:\n", "spec:\n  unknownField: 1\n", 1))
    elif choice == 2:
        path.write_text(text.replace("name: ", "name: Upper_", 1))  # dns1123-names
    elif choice == 3:
        ns = root / "apps/app00000/manifests/namespace.yaml"
        ns.write_text(ns.read_text().replace("labels:\n", "labels:\n    pod-security.kubernetes.io/enforce: "
                                             f"{rnd.choice(['restricted', 'baseline', 'privileged'])}\n", 1))
        return "namespace labels"
    elif choice == 4:
        crd = root / "crds/widget.yaml"
        crd.write_text(crd.read_text().replace(f"maximum: {rnd.choice([2, 10])}", f"maximum: {rnd.choice([2, 10])}"))
        crd.write_text(crd.read_text().replace("maximum: 10", "maximum: 2") if rnd.random() < 0.5
                       else crd.read_text().replace("maximum: 2", "maximum: 10"))
        return "the CRD"
    elif choice == 5:
        path.write_text(text + "  broken: [\n")
    elif choice == 6:
        path.unlink()
        return f"removed {path.name}"
    elif choice == 7:
        new = path.with_name(f"copy-{rnd.randrange(1000)}.yaml")
        new.write_text(text.replace("name: ", "name: copy-", 1))
        return f"added {new.name}"
    elif choice == 8:
        os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
        return f"touched {path.name}"
    elif choice == 9:
        app = root / "apps/app00002/argocd/application.yaml"
        app.write_text(app.read_text().replace("namespace: team-", f"namespace: {rnd.choice(['a', 'b'])}team-", 1))
        return "an Application's destination"
    elif choice == 10:
        config = root / ".wavegate.yaml"
        config.write_text(config.read_text() + f"rules:\n  schema-unknown-field: {rnd.choice(['warning', 'off'])}\n"
                          if "rules:" not in config.read_text() else config.read_text().split("rules:")[0])
        return "the configuration"
    elif choice == 11:
        path.write_text("# +argocd:skip-file-rendering\n" + text)
    else:  # what only the object itself says (the render and the checks that relate objects are kept)
        path = rnd.choice([f for f in files if f.parent.name == "manifests" and f.name.startswith(("deployment", "config"))])
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("replicas: ", "replicas: 2", 1) if "replicas: " in text
                        else text.replace("\ndata:\n", "\ndata:\n  spec-only: edit\n", 1))
        return f"spec of {path.relative_to(root)}"
    return f"edited {path.relative_to(root)} ({choice})"


def test_cached_runs_give_the_uncached_findings_over_random_edits(tmp_path, monkeypatch):
    kept = []
    real_kept_run = pipeline._kept_run
    monkeypatch.setattr(pipeline, "_kept_run", lambda *a: kept.append(1) or real_kept_run(*a))
    replayed, reused = [], []  # (the render replayed, the findings of the checks that relate objects reused)
    real_replayed, real_reused = replay.replayed, kept_checks.KeptChecks.reused
    monkeypatch.setattr(replay, "replayed", lambda *a: (found := real_replayed(*a), replayed.append(found is not None))[0])
    monkeypatch.setattr(kept_checks.KeptChecks, "reused", lambda self: (found := real_reused(self), reused.append(bool(found)))[0])
    root = tmp_path / "repo"
    corpus.generate(root, 30, defects=0.5)
    write_repo(root, WIDGETS)
    cache_dir = tmp_path / "cache"
    rnd = random.Random(11)
    moment = int(time.time()) - 3600
    _aged(root, moment)
    kinds = set()
    for step in range(24):
        what = _edit(root, rnd) if step else "nothing"
        moment += 1
        if not what.startswith("touched"):
            _aged(root, moment)
        cached = validate_corpus(root, cache_dir)
        again = validate_corpus(root, cache_dir)  # answered as a whole (RunStore), or by per-file results
        fresh = validate_corpus(root, None)
        assert finding_rows(cached) == finding_rows(fresh) == finding_rows(again), f"step {step}: {what}"
        assert cached.resources == fresh.resources == again.resources, what
        assert cached.loaded.files == fresh.loaded.files == again.loaded.files, what
        kinds.add(what.split(" ")[0])
        assert fresh.findings or step  # (the repository has defects to find)
    assert {"edited", "removed", "added", "touched", "the", "namespace", "an", "spec"} <= kinds
    assert len(kept) >= 20  # the repeated runs were answered as a whole
    assert any(replayed) and any(reused)  # (and some of the others by what was kept of the last run)


def test_unchanged_files_are_not_parsed_and_unchanged_objects_not_checked(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    corpus.generate(root, 30)
    cache_dir = tmp_path / "cache"
    _aged(root, int(time.time()) - 3600)
    first = validate_corpus(root, cache_dir)

    parsed, checked, evaluated = [], [], []
    real_parse, real_check, real_evaluate = loader._parse_raw, schema_check.check_manifest, policy_check.evaluate
    monkeypatch.setattr(loader, "_parse_raw", lambda rel, *a, **k: parsed.append(rel) or real_parse(rel, *a, **k))
    monkeypatch.setattr(schema_check, "check_manifest", lambda store, m, *a: checked.append(m.path) or real_check(store, m, *a))
    monkeypatch.setattr(policy_check, "evaluate", lambda p, ms, env: evaluated.extend(m.path for m in ms) or real_evaluate(p, ms, env))
    monkeypatch.setattr(pipeline, "_run_store", lambda options: None)  # per-file results only
    judged = []
    real_judge = workloads_check._judge
    monkeypatch.setattr(workloads_check, "_judge", lambda m: judged.append(m.path) or real_judge(m))

    changed = root / "apps/app00001/manifests/deployment-0.yaml"
    changed.write_text(changed.read_text().replace("replicas: ", "replicas: 1"))
    second = validate_corpus(root, cache_dir)
    assert finding_rows(second) == finding_rows(first)
    # (the configuration and the Argo CD settings it names are read by themselves, every time)
    assert [rel for rel in parsed if rel.startswith("apps/")] == ["apps/app00001/manifests/deployment-0.yaml"]
    assert checked == evaluated == judged == ["apps/app00001/manifests/deployment-0.yaml"]


def test_the_items_of_a_list_keep_their_own_findings_in_cached_runs(tmp_path, monkeypatch):
    # The items of one `kind: List` document share its index: they must not share cached results.
    root = write_repo(tmp_path / "repo", {"list.yaml": (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: good, namespace: team}\n  data: {k: v}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: bad, namespace: team}\n  data: {k: 1}\n")})
    _aged(root, int(time.time()) - 3600)
    monkeypatch.setattr(pipeline, "_run_store", lambda options: None)  # per-object results only
    uncached = finding_rows(validate_corpus(root, None))
    assert [(f[0], f[4]) for f in uncached] == [("schema-invalid-type", 11)]
    cache_dir = tmp_path / "cache"
    runs = [finding_rows(validate_corpus(root, cache_dir)) for _ in range(3)]
    assert runs == [uncached] * 3


def test_a_run_with_the_same_inputs_is_answered_as_a_whole(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    corpus.generate(root, 20, defects=1.0)
    cache_dir = tmp_path / "cache"
    first = validate_corpus(root, cache_dir)
    assert first.findings
    prepared = []
    monkeypatch.setattr(pipeline, "prepare", lambda options, *rest, **keywords: prepared.append(options) or pytest.fail("prepared"))
    second = validate_corpus(root, cache_dir)
    assert not prepared and finding_rows(second) == finding_rows(first) and second.resources == first.resources
    # what is outside the repository is looked at too: the --schemas file
    rgd = tmp_path / "rgd.yaml"
    rgd.write_text(corpus.rgd_path().read_text())
    options = pipeline.Options(root=root, schemas=(str(rgd),), cache_dir=cache_dir)
    monkeypatch.undo()
    pipeline.validate(options)
    rgd.write_text(rgd.read_text().replace("region: string", "region: integer"))
    monkeypatch.setattr(pipeline, "prepare", lambda options, *rest, **keywords: prepared.append(options) or pytest.fail("prepared"))
    with pytest.raises(pytest.fail.Exception):
        pipeline.validate(options)
    assert prepared


def test_no_run_is_kept_when_gitlab_decides_part_of_it(tmp_path):
    # Exceptions count only when the merge request's approvals (GitLab) say so, and they expire.
    root = tmp_path / "repo"
    corpus.generate(root, 10)
    cache_dir = tmp_path / "cache"
    validate_corpus(root, cache_dir)
    assert list((cache_dir / "runs").glob("*.marshal"))
    for record in (cache_dir / "runs").glob("*.marshal"):
        record.unlink()
    config = root / ".wavegate.yaml"
    config.write_text(config.read_text() + "exceptions:\n  - policy: dns1123-names\n"
                      "    resource: {kind: Deployment, namespace: team, name: web}\n    reason: a test\n"
                      "    approvedBy: someone@example.com\n    expires: '2999-01-01'\n")
    validate_corpus(root, cache_dir)
    assert not list((cache_dir / "runs").glob("*.marshal"))


def test_the_tree_state_reads_only_files_whose_stat_changed(tmp_path):
    root = write_repo(tmp_path / "repo", {"a.yaml": "a: 1\n", "b/c.yaml": "c: 2\n", ".git/HEAD": "x\n"})
    _aged(root, int(time.time()) - 3600)
    first = tree_state(root)
    assert set(first.stats) - {"\0recorded", "\0content"} == {"a.yaml", "b/c.yaml"}  # .git is not an input
    (root / "a.yaml").write_text("a: 2\n")  # same size: its time tells
    assert tree_state(root, first.stats).content != first.content
    (root / "a.yaml").write_text("a: 1\n")
    assert tree_state(root, first.stats).content == first.content
    # what it lists is what the loader would list itself
    from wavegate.load import Listing

    assert first.directories[""] == Listing(root).entries("") and first.directories["b"] == Listing(root).entries("b")


def test_an_untouched_tree_is_known_by_its_signature_without_reading_the_stats(tmp_path):
    root = write_repo(tmp_path / "repo", {"a.yaml": "a: 1\n", "b/c.yaml": "c: 2\n"})
    _aged(root, int(time.time()) - 3600)
    first = tree_state(root)
    last = (first.signature, first.content, first.stats["\0recorded"])
    assert first.signature is not None

    def unread():
        raise AssertionError("the stats were read")

    again = tree_state(root, unread, last=last)
    assert again.content == first.content and again.unchanged
    # A file written again (same size): its time differs, so the stats are read and the file too.
    (root / "a.yaml").write_text("a: 2\n")
    asked = []
    edited = tree_state(root, lambda: asked.append(1) or first.stats, last=last)
    assert asked and edited.content != first.content and not edited.unchanged
    # A new file, a file just modified (racily clean), a link: never answered by the signature.
    (root / "a.yaml").write_text("a: 1\n")
    _aged(root, int(time.time()) - 3600)
    settled = tree_state(root, first.stats)
    fresh = (settled.signature, settled.content, settled.stats["\0recorded"])
    assert tree_state(root, unread, last=fresh).content == first.content
    (root / "d.yaml").write_text("d: 4\n")
    assert tree_state(root, lambda: settled.stats, last=fresh).content != first.content
    (root / "d.yaml").unlink()
    _aged(root, int(time.time()) - 3600)
    assert tree_state(root).signature is not None
    (root / "e.yaml").symlink_to(root / "a.yaml")
    assert tree_state(root).signature is None


def test_the_signature_of_an_untouched_tree_is_the_same_every_time(tmp_path):
    # (it once went through marshal, whose output depends on how often each object is referenced:
    # on a corpus of 2,000 files two walks of the same tree gave two signatures)
    root = tmp_path / "repo"
    corpus.generate(root, 200)
    _aged(root, int(time.time()) - 3600)
    first = tree_state(root)
    signatures = {first.signature, *(tree_state(root, first.stats).signature for _ in range(3))}
    assert len(signatures) == 1 and None not in signatures
    last = (first.signature, first.content, first.stats["\0recorded"])
    assert tree_state(root, lambda: pytest.fail("the stats were read"), last=last).unchanged
    assert tree_state(root, first.stats, last=last).unchanged  # (the stats given as they are, too)


def test_a_folder_that_cannot_be_listed_leaves_the_tree_without_signature(tmp_path, monkeypatch):
    # (what it holds may change unseen; run as root, a mode cannot hide it, so listing it fails here)
    root = write_repo(tmp_path / "repo", {"a.yaml": "a: 1\n", "b/c.yaml": "c: 2\n"})
    _aged(root, int(time.time()) - 3600)
    assert tree_state(root).signature is not None
    real = os.scandir
    monkeypatch.setattr(cache_module, "_native_tree", None)
    monkeypatch.setattr(cache_module.os, "scandir",
                        lambda path: (_ for _ in ()).throw(PermissionError(13, "denied")) if str(path).endswith("/b")
                        else real(path))
    state = tree_state(root)
    assert state.signature is None and state.directories["b"] == []


def test_the_native_and_the_python_walk_see_the_same_tree(tmp_path, monkeypatch):
    require_native_tree()
    root = write_repo(tmp_path / "repo", {"a.yaml": "a: 1\n", "b/c.yaml": "c: 2\n", "b/d/e.yaml": "e: 5\n",
                                          ".git/HEAD": "x\n", "node_modules/x.yaml": "x: 1\n",
                                          ".wavegate_cache/run": "r\n", "f g/ü.yaml": "u: 1\n"})
    (root / "b" / bytes.decode(b"bad\xffname.yaml", "utf-8", "surrogateescape")).write_text("z: 1\n")
    _aged(root, int(time.time()) - 3600)
    (root / "link.yaml").symlink_to(root / "a.yaml")
    (root / "inside").symlink_to(root / "b")
    (root / "dangling.yaml").symlink_to(root / "nowhere.yaml")
    os.mkfifo(root / "pipe.yaml")
    native = tree_state(root, skip=root / ".wavegate_cache")
    monkeypatch.setattr(cache_module, "_native_tree", None)
    python = tree_state(root, skip=root / ".wavegate_cache")
    assert native.content == python.content and native.signature == python.signature
    assert {k: v for k, v in native.stats.items() if k != "\0recorded"} == \
        {k: v for k, v in python.stats.items() if k != "\0recorded"}
    assert native.directories == python.directories
    assert "node_modules/x.yaml" not in native.stats and ".wavegate_cache/run" not in native.stats
    assert native.stats["pipe.yaml"][0] == "special" and native.stats["link.yaml"][0] == "link"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "out").symlink_to(outside)
    assert tree_state(root) is None
    monkeypatch.undo()
    assert tree_state(root) is None
    assert tree_state(tmp_path / "missing") is None


def test_the_native_and_the_python_comparison_with_the_known_stats_agree(tmp_path):
    """tree_state's look at every entry (_native_tree.compare, or cache._compare where it was not
    built): which files keep their known entry, which are read again, what else is looked at."""
    require_native_tree()
    root = write_repo(tmp_path / "repo", {f"d{i}/f{j}.yaml": f"v: {i}{j}\n" for i in range(3) for j in range(4)})
    (root / "link.yaml").symlink_to(root / "d0" / "f0.yaml")
    os.mkfifo(root / "pipe.yaml")
    walked = cache_module._walk_native(str(root), None)
    now = {prefix + name: stat for prefix, blob, _ in walked
           for name, kind, stat, _ in cache_module._unpacked(blob) if kind == "f"}
    recorded = max(stat[1] for stat in now.values()) + 10
    known = {rel: (*stat, "digest") for rel, stat in now.items()}  # every file as it is...
    known["d0/f1.yaml"] = (now["d0/f1.yaml"][0] + 1, *now["d0/f1.yaml"][1:], "digest")  # ...but one size,
    del known["d1/f2.yaml"]  # one file not known,
    known["d2/f0.yaml"] = "not a stat"  # and entries no run writes
    known["d2/f1.yaml"] = (now["d2/f1.yaml"][0],)
    known["d2/f2.yaml"] = ("0", *now["d2/f2.yaml"][1:], "digest")
    for limit in (recorded, now["d0/f3.yaml"][1], -1):  # nothing racy; d0/f3.yaml on the edge; everything racy
        native = cache_module._native_tree.compare(walked, known, limit)
        python = cache_module._compare(walked, known, limit)
        assert native == python
    stats, changed, others = cache_module._native_tree.compare(walked, known, recorded)
    assert sorted(rel for rel, _ in changed) == ["d0/f1.yaml", "d1/f2.yaml", "d2/f0.yaml", "d2/f1.yaml",
                                                   "d2/f2.yaml"]
    assert stats["d0/f0.yaml"] is known["d0/f0.yaml"] and len(stats) == 12 - 5
    assert sorted((rel, kind) for rel, kind, _, _ in others) == [("link.yaml", "l"), ("pipe.yaml", "f")]
    assert cache_module._native_tree.compare(walked, known, -1)[0] == {}


def test_a_file_name_that_is_not_utf8_is_cached_like_any_other(tmp_path):
    # (it crashed the cache's tree state and its parse results before: a path was encoded strictly)
    root = tmp_path / "repo"
    corpus.generate(root, 3)
    name = os.fsdecode(b"bad\xffname.yaml")
    (root / name).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: team\ndata:\n  a: 1\n")
    cache_dir = tmp_path / "cache"
    first, again, fresh = validate_corpus(root, cache_dir), validate_corpus(root, cache_dir), validate_corpus(root, None)
    assert finding_rows(first) == finding_rows(again) == finding_rows(fresh)
    assert any(f.path == name and f.rule == "schema-invalid-type" for f in first.findings)


def test_loading_from_the_cache_gives_the_same_repository(tmp_path):
    root = write_repo(tmp_path / "repo", {
        "plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
        "anchors.yaml": WIDGETS["apps/app00001/manifests/anchors.yaml"],
        "broken.yaml": "a: [\n",
        "dup.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {k: 1, k: 2}\n",
        "marked.yaml": "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n",
        "untyped.yaml": "kind: ConfigMap\n",
        "list.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n"
                     "  metadata: {name: first}\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: second\n",
    })
    (root / "latin1.yaml").write_bytes(b"a: caf\xe9\n")
    _aged(root, int(time.time()) - 3600)
    cache = Cache(tmp_path / "cache")
    plain, first, second = load(root), load(root, cache=cache), load(root, cache=cache)

    def snapshot(repo):
        return ([(m.path, m.doc_index, m.data, m.missing, m.positions) for m in repo.manifests + repo.untyped],
                repo.problems, repo.files, repo.skip_marked)

    assert snapshot(plain) == snapshot(first) == snapshot(second)
    assert second.digests and set(second.digests) == set(plain.files)


def test_results_of_two_configurations_live_side_by_side(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    corpus.generate(root, 20)
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(pipeline, "_run_store", lambda options: None)  # per-object results only

    def run(version):
        return pipeline.validate(pipeline.Options(root=root, schemas=(str(corpus.rgd_path()),), cache_dir=cache_dir,
                                                  kubernetes_version=version))

    run("1.35"), run("1.36")
    checked = []
    real_check = schema_check.check_manifest
    monkeypatch.setattr(schema_check, "check_manifest", lambda store, m, *a: checked.append(m.path) or real_check(store, m, *a))
    run("1.35")
    assert not checked


def test_a_missing_native_loader_is_said_once(tmp_path, monkeypatch, capsys):
    from wavegate import load_native

    root = write_repo(tmp_path / "repo", {"a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"})
    monkeypatch.setattr(load_native, "BUILT", False)
    monkeypatch.setattr(load_native, "AVAILABLE", False)
    for _ in range(3):
        pipeline.prepare(pipeline.Options(root=root, cache_dir=tmp_path / "cache"))
    assert capsys.readouterr().err.count("the native one was not built") == 1
    monkeypatch.setattr(load_native, "BUILT", True)
    pipeline.prepare(pipeline.Options(root=root, cache_dir=tmp_path / "other"))
    assert "native" not in capsys.readouterr().err


def test_the_parse_results_of_a_repository_that_is_gone_are_removed(tmp_path):
    cache = Cache(tmp_path / "cache")
    gone = write_repo(tmp_path / "worktree", {"a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"})
    load(gone, cache=cache)
    folders = list((tmp_path / "cache" / "parse").iterdir())
    assert len(folders) == 1
    import shutil

    shutil.rmtree(gone)  # as `wavegate diff` removes the worktree of the base revision
    load(write_repo(tmp_path / "repo", {"b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"}),
         cache=cache)
    assert [f.name for f in (tmp_path / "cache" / "parse").iterdir()] != [folders[0].name]
    assert len(list((tmp_path / "cache" / "parse").iterdir())) == 1


def test_the_run_records_of_a_repository_that_is_gone_are_removed(tmp_path):
    cache_dir = tmp_path / "cache"
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
    gone, kept, new = (write_repo(tmp_path / name, {"a.yaml": text}) for name in ("checkout-1", "checkout-2", "checkout-3"))
    for root in (gone, kept):
        pipeline.validate(pipeline.Options(root=root, cache_dir=cache_dir))
    assert len(list((cache_dir / "runs").glob("*.stats"))) == 2
    import shutil

    shutil.rmtree(gone)  # (another CI job's checkout, or a worktree `wavegate diff` removed)
    pipeline.validate(pipeline.Options(root=new, cache_dir=cache_dir))
    records = sorted(p.name for p in (cache_dir / "runs").iterdir())
    assert len(records) == 4 and all(RunStore(Cache(cache_dir), root.resolve()).path.name in records
                                     for root in (kept, new))


def test_a_save_rewrites_only_the_shards_that_changed_and_forgets_what_went_unused(tmp_path):
    def store():
        return Cache(tmp_path / "cache").results("things", "scope")

    first = store()
    for i in range(200):
        first.put(f"key{i}", i)
    first.save()
    shards = sorted((tmp_path / "cache" / "things").glob("*/[0-9][0-9].marshal"))
    assert len(shards) == cache_module._SHARDS
    before = {shard.name: shard.read_bytes() for shard in shards}

    second = store()
    assert [second.get(f"key{i}") for i in range(200)] == list(range(200))
    second.put("new", "value")
    second.save()
    after = {shard.name: shard.read_bytes() for shard in shards}
    changed = [name for name in after if after[name] != before[name]]
    assert len(changed) == 1  # the shard that holds "new"; the others are not written again

    # An entry no run uses is dropped once its shard has been rewritten in _KEEP_RUNS runs; one
    # that is used stays.
    for run in range(cache_module._KEEP_RUNS + 1):
        later = store()
        assert later.get("new") == "value"
        later.put(f"run{run}", run)
        later.put("new", "value")
        later.save()
    last = store()
    assert last.get("new") == "value"
    kept = [i for i in range(200) if last.get(f"key{i}") is not None]
    assert 0 < len(kept) < 200  # those in the shard that kept being rewritten are gone, the rest stay
    assert all(last.get(f"key{i}") == i for i in kept)


def test_a_store_reads_only_its_own_scope_and_keeps_the_scopes_used_last(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "things"
    moment = [10**18]

    def used(scope, value=None):
        store = Cache(tmp_path / "cache").results("things", scope)
        found = store.get("key")
        store.put("key", value if value is not None else found)
        store.save()
        moment[0] += 10**9  # (the folder's time, one second later each run: file times can be coarse)
        if (folder / Key(scope).hexdigest()).exists():
            os.utime(folder / Key(scope).hexdigest(), ns=(moment[0], moment[0]))
        return store, found

    for i in range(cache_module._KEEP_SCOPES):
        used(f"scope{i}", i)
    store, found = used("scope0")  # the oldest, used again: now the newest
    assert found == 0 and list(store._entries()) == ["key"]  # (the other scopes' entries are not read)
    monkeypatch.setattr(cache_module, "_KEEP_SCOPES", 2)
    used("scope9", 9)
    assert sorted(p.name for p in folder.iterdir()) == sorted(Key(s).hexdigest() for s in ("scope9", "scope0"))
    assert used("scope1")[1] is None  # (removed)
    assert sorted(p.name for p in folder.iterdir()) == sorted(Key(s).hexdigest() for s in ("scope1", "scope9"))


def test_the_shards_of_the_layout_before_scope_folders_are_removed(tmp_path):
    folder = tmp_path / "cache" / "things"
    folder.mkdir(parents=True)
    (folder / "00.marshal").write_bytes(marshal.dumps({"old\0key": (1, "scope", "value")}))
    (folder / "run.marshal").write_bytes(marshal.dumps(1))
    store = Cache(tmp_path / "cache").results("things", "scope")
    assert store.get("key") is None
    store.put("key", "value")
    store.save()
    assert [p.name for p in folder.iterdir()] == [Key("scope").hexdigest()]


def test_key_value_entries_no_run_used_for_thirty_days_are_removed(tmp_path):
    folder = tmp_path / "cache"
    cache = Cache(folder)
    cache.put("kustomize", "aa11", {"stdout": "x"})
    cache.put_value("appset", "bb22", [1])
    cache.note_uses(today=100)
    used, unused = folder / "kustomize" / "aa" / "aa11.json", folder / "appset" / "bb" / "bb22.marshal"
    unnoted = folder / "helm" / "cc" / "cc33.json"  # (made before uses were noted)
    unnoted.parent.mkdir(parents=True)
    unnoted.write_text("{}")
    results = cache.results("things", "scope")  # (the other stores are not key-value entries)
    results.put("key", "value")
    results.save()

    for today in (120, 131, 200):  # (only aa11 is used, every day)
        assert cache.get("kustomize", "aa11") == {"stdout": "x"}
        cache.note_uses(today=today)
        # bb22: unused for 20 days, kept; for 31, removed. cc33: noted on day 120, removed on day 200.
        assert (used.exists(), unused.exists(), unnoted.exists()) == \
            {120: (True, True, True), 131: (True, False, True), 200: (True, False, False)}[today]
    assert Cache(folder).results("things", "scope").get("key") == "value"
    assert marshal.loads((folder / "used.marshal").read_bytes()) == {"": 200, "kustomize/aa11": 200}


def test_a_command_notes_the_key_value_entries_it_used(tmp_path):
    root = write_repo(tmp_path / "repo", {"web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: team}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: "nginx:1.27"}]
        """})
    # A policy with a long program of its own (the shipped ones' come compiled with wavegate:
    # wavegate.cel.shipped_program), which the cache keeps.
    policies = tmp_path / "policies"
    policies.mkdir()
    long_name = "x" * 2100
    (policies / "long.yaml").write_text(f"""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: long-name}}
spec:
  matchConstraints:
    resourceRules: [{{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["deployments"]}}]
  validations:
    - expression: "object.metadata.name != '{long_name}'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: long-name}}
spec: {{policyName: long-name, validationActions: [Deny]}}
""")
    # (a process of its own: this one keeps compiled programs in memory, and the cache is not asked)
    command = [sys.executable, "-m", "wavegate", "validate", str(root), "--cache-dir", str(tmp_path / "cache"),
               "--policies", str(policies)]
    done = subprocess.run(command, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    notes = marshal.loads((tmp_path / "cache" / "used.marshal").read_bytes())
    programs = [name for name in notes if name.startswith("cel-programs/")]
    assert programs and all(notes[name] == int(time.time() // 86400) for name in programs)


def test_the_problems_of_a_given_schema_are_reported_when_its_objects_come_from_the_cache(tmp_path):
    # A schema given with --schemas is compiled when an object is judged by it, and its own
    # problems are reported then: an object whose findings come from the cache must compile it too.
    given = tmp_path / "widget-crd.yaml"
    given.write_text(widget_crd("type: object\n"
                                "properties:\n"
                                "  size: {type: string, pattern: '([a-z'}\n"
                                "x-kubernetes-validations:\n"
                                "  - rule: 'self.size ==='\n"))
    root = write_repo(tmp_path / "repo", {
        "widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"
                       "spec: {size: small}\n",
        "other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {a: '1'}\n"})

    def validate(cache_dir):
        return pipeline.validate(pipeline.Options(root=root, schemas=(str(given),), cache_dir=cache_dir,
                                                  cache=cache_dir is not None))

    cache_dir = tmp_path / "cache"
    _aged(root, int(time.time()) - 3600)
    first = validate(cache_dir)
    assert {f.rule for f in first.findings} == {"schema-crd-invalid"}  # (the pattern and the rule)
    (root / "other.yaml").write_text((root / "other.yaml").read_text().replace("'1'", "'2'"))
    _aged(root, int(time.time()) - 3500)
    after_edit = validate(cache_dir)  # the Widget's findings come from the cache
    assert finding_rows(after_edit) == finding_rows(validate(None)) == finding_rows(first)
