from wavegate.argocd import model
from wavegate.argocd.application import canonical_repo_url
from wavegate.load import Manifest
from wavegate.render.directory import files_read, glob_match


def manifest(kind, name, namespace=None, wave=None, api="v1", hook=None, **spec):
    annotations = {}
    if wave is not None:
        annotations[model.SYNC_WAVE] = str(wave)
    if hook:
        annotations[model.HOOK] = hook
    metadata = {"name": name, "annotations": annotations}
    if namespace:
        metadata["namespace"] = namespace
    data = {"apiVersion": api, "kind": kind, "metadata": metadata}
    if spec:
        data["spec"] = spec
    return Manifest(f"{name}.yaml", 0, data)


def order(manifests):
    return [(t.manifest.kind, t.manifest.name, t.phase, t.wave) for t in model.sync_tasks(manifests)]


def test_parse_wave_follows_go_atoi():
    assert [model.parse_wave(v) for v in ("0", "-3", "+2", "007")] == [0, -3, 2, 7]
    assert [model.parse_wave(v) for v in ("1.5", "one", "", " 1", "1 ", "9223372036854775808")] == [None] * 6
    assert model.parse_wave("9223372036854775807") == 2**63 - 1
    assert model.parse_wave("999999999999999999") == 10**18 - 1  # (18 digits: read without the expression)
    assert model.parse_wave("-9223372036854775808") == -(2**63)
    # Digits of other scripts are digits to Python, not to Go's strconv.Atoi.
    assert [model.parse_wave(v) for v in ("²", "١٢", "３")] == [None] * 3


def test_sort_by_phase_wave_kind_then_name():
    tasks = order([
        manifest("ConfigMap", "b", "ns", wave=1),
        manifest("Deployment", "a", "ns", wave=1),
        manifest("ConfigMap", "a", "ns", wave=1),
        manifest("Job", "migrate", "ns", hook="PreSync", wave=5),
        manifest("Widget", "w", "ns", api="example.com/v1", wave=0),
        manifest("Service", "svc", "ns", wave=0),
        manifest("Pod", "skipped", "ns", hook="Skip"),
        manifest("Job", "notify", "ns", hook="PostSync"),
    ])
    assert tasks == [
        ("Job", "migrate", "PreSync", 5),
        ("Service", "svc", "Sync", 0),
        ("Widget", "w", "Sync", 0),  # unlisted kinds sort after every listed kind
        ("ConfigMap", "a", "Sync", 1),
        ("ConfigMap", "b", "Sync", 1),
        ("Deployment", "a", "Sync", 1),
        ("Job", "notify", "PostSync", 0),
    ]


def test_namespace_is_moved_before_its_first_resource_and_takes_its_wave():
    tasks = order([manifest("Namespace", "web", wave=2), manifest("ConfigMap", "c", "web", wave=1)])
    assert tasks == [("Namespace", "web", "Sync", 1), ("ConfigMap", "c", "Sync", 1)]


def test_crd_is_moved_before_its_first_custom_resource():
    crd = manifest("CustomResourceDefinition", "widgets.example.com", api="apiextensions.k8s.io/v1", wave=3,
                   group="example.com", names={"kind": "Widget"})
    widget = manifest("Widget", "w", "default", api="example.com/v1", wave=1)
    tasks = model.sync_tasks([widget, crd])
    assert [(t.manifest.kind, t.wave) for t in tasks] == [("CustomResourceDefinition", 1), ("Widget", 1)]
    assert tasks[0].adjusted_from == ("Sync", 3)


def test_waves_groups_consecutive_steps():
    tasks = model.sync_tasks([manifest("ConfigMap", "a", wave=0), manifest("ConfigMap", "b", wave=1),
                              manifest("Secret", "c", wave=1)])
    assert [(phase, wave, len(group)) for phase, wave, group in model.waves(tasks)] == [("Sync", 0, 1), ("Sync", 1, 2)]


def test_sync_options_parsing():
    assert model.split_options("Prune=false, Validate=false") == ["Prune=false", "Validate=false"]
    assert model.option_set(["A=1", "B=2", "A=3"]) == {"A": "3", "B": "2"}


def test_repository_urls_compare_across_notations():
    forms = ["https://GitLab.example.com/team/app.git", "https://gitlab.example.com/team/app/",
             "git@gitlab.example.com:team/app.git", "ssh://git@gitlab.example.com:22/team/app",
             "git@gitlab.example.com/team/app"]  # (Argo CD's IsSSHURL: an SSH URL without the colon)
    assert {canonical_repo_url(f) for f in forms} == {"gitlab.example.com/team/app"}
    assert canonical_repo_url("team/app") != "gitlab.example.com/team/app"  # (a path, no host)


def test_directory_source_selection(tmp_path):
    for rel in ("manifests/a.yaml", "manifests/sub/b.yaml", "manifests/x.values.yaml", "manifests/readme.md",
                "manifests/skip/c.yaml", "other/a.yaml", "manifests/d.json", "manifests/e.jsonnet"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    flat = files_read(tmp_path, "manifests", False, None, None)
    assert flat == ["manifests/a.yaml", "manifests/d.json", "manifests/e.jsonnet", "manifests/x.values.yaml"]
    recursive = files_read(tmp_path, "manifests", True, None, "{*.values.yaml,skip/*}")
    assert recursive == ["manifests/a.yaml", "manifests/d.json", "manifests/e.jsonnet", "manifests/sub/b.yaml"]
    # filepath.Walk's order: lexical, a folder's files before the entries after it (depth first)
    for rel in ("manifests/a/z.yaml", "manifests/a/b/c.yaml", "manifests/a/a.yaml", "manifests/b.yaml",
                "manifests/a0.yaml", "top.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert files_read(tmp_path, "manifests", True, None, "{*.values.yaml,skip/*}") == [
        "manifests/a/a.yaml", "manifests/a/b/c.yaml", "manifests/a/z.yaml", "manifests/a.yaml", "manifests/a0.yaml",
        "manifests/b.yaml", "manifests/d.json", "manifests/e.jsonnet", "manifests/sub/b.yaml"]
    assert files_read(tmp_path, "", True, "manifests/a/**", None) == [
        "manifests/a/a.yaml", "manifests/a/b/c.yaml", "manifests/a/z.yaml"]
    assert files_read(tmp_path, "", False, None, None) == ["top.yaml"]
    assert files_read(tmp_path, "manifests/a", True, None, None, excluded=("manifests/a/b",)) == [
        "manifests/a/a.yaml", "manifests/a/z.yaml"]
    # gobwas/glob without separators: `*` crosses `/`, as in Argo CD
    assert glob_match("*.yaml", "sub/app.yaml") and not glob_match("*.yaml", "sub/app.yml")
    assert glob_match("{a,b/*}", "b/x/y") and glob_match("[!c]*", "d.yaml") and not glob_match("[!c]*", "c.yaml")
