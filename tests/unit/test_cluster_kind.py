"""The pure parts of wavegate.cluster: kind command construction (kind needs Docker,
which these machines lack), the provider factory, tool lookup and key generation."""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

import pytest

from wavegate.cluster import (
    Cluster,
    ClusterError,
    KindCluster,
    KubeconfigCluster,
    LocalCluster,
    ToolNotFoundError,
    find_tool,
    open_cluster,
)
from wavegate.cluster import kind as kindmod
from wavegate.cluster.local import ec_private_key_pem

# ----------------------------------------------------------------------- kind


def test_cluster_name_from_pipeline_id() -> None:
    assert kindmod.cluster_name({"CI_PIPELINE_ID": "123456"}) == "wavegate-123456"


def test_cluster_name_is_random_outside_a_pipeline() -> None:
    a, b = kindmod.cluster_name({}), kindmod.cluster_name({})
    assert re.fullmatch(r"wavegate-[0-9a-f]{8}", a) and a != b


def test_cluster_name_is_a_valid_kind_name() -> None:
    name = kindmod.cluster_name({"CI_PIPELINE_ID": " Weird/ID_42 " + "9" * 80})
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 50


def test_create_command_exact() -> None:
    assert kindmod.create_command("wavegate-7", "/tmp/x/kubeconfig", image="kindest/node:v1.37.0") == [
        "kind", "create", "cluster",
        "--name", "wavegate-7",
        "--image", "kindest/node:v1.37.0",
        "--wait", "60s",
        "--kubeconfig", "/tmp/x/kubeconfig",
    ]


def test_create_command_with_config_and_binary() -> None:
    argv = kindmod.create_command("n", Path("/k"), config=Path("/c.yaml"), kind="/opt/kind", wait="120s")
    assert argv == [
        "/opt/kind", "create", "cluster", "--name", "n", "--image", kindmod.DEFAULT_NODE_IMAGE,
        "--wait", "120s", "--config", "/c.yaml", "--kubeconfig", "/k",
    ]


def test_delete_command_exact() -> None:
    assert kindmod.delete_command("wavegate-7") == ["kind", "delete", "cluster", "--name", "wavegate-7"]
    assert kindmod.delete_command("wavegate-7", "/tmp/k") == [
        "kind", "delete", "cluster", "--name", "wavegate-7", "--kubeconfig", "/tmp/k",
    ]


def test_default_image_is_a_pinned_kindest_node() -> None:
    assert re.fullmatch(r"kindest/node:v1\.\d+\.\d+(@sha256:[0-9a-f]{64})?", kindmod.DEFAULT_NODE_IMAGE)


def test_kind_config_for_docker_in_docker() -> None:
    import yaml

    assert yaml.safe_load(kindmod.kind_config()) == {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    assert yaml.safe_load(kindmod.kind_config("0.0.0.0")) == {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": {"apiServerAddress": "0.0.0.0"},
    }


KIND_KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlV=
    server: https://0.0.0.0:41234
  name: kind-wavegate-7
contexts:
- context:
    cluster: kind-wavegate-7
    user: kind-wavegate-7
  name: kind-wavegate-7
current-context: kind-wavegate-7
kind: Config
users:
- name: kind-wavegate-7
  user:
    client-certificate-data: eA==
    client-key-data: eA==
"""


def test_rewrite_server_host_for_docker_in_docker() -> None:
    import yaml

    out = yaml.safe_load(kindmod.rewrite_server_host(KIND_KUBECONFIG, "docker"))
    cluster = out["clusters"][0]["cluster"]
    assert cluster["server"] == "https://docker:41234"
    assert cluster["tls-server-name"] == "localhost"
    assert cluster["certificate-authority-data"].startswith("TFMw")
    assert kindmod.rewrite_server_host("server: https://example.org:6443\n", "docker") == (
        "server: https://example.org:6443\n"
    )


def test_kind_cluster_commands_and_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_PIPELINE_ID", "99")
    monkeypatch.delenv("WAVEGATE_KIND_API_SERVER_HOST", raising=False)
    cluster = open_cluster("kind")
    assert isinstance(cluster, KindCluster) and isinstance(cluster, Cluster)
    assert cluster.name == "wavegate-99" and cluster.dry_run_only is False
    create, delete = cluster.commands()
    assert create == [
        "kind", "create", "cluster", "--name", "wavegate-99", "--image", kindmod.DEFAULT_NODE_IMAGE,
        "--wait", "60s", "--kubeconfig", str(Path("<tmp>") / "kubeconfig"),
    ]
    assert delete == ["kind", "delete", "cluster", "--name", "wavegate-99", "--kubeconfig", str(Path("<tmp>") / "kubeconfig")]
    with pytest.raises(ClusterError, match="not started"):
        _ = cluster.kubeconfig

    dind = KindCluster("ci", api_server_host="docker")
    create, _ = dind.commands("/usr/local/bin/kind")
    assert create[0] == "/usr/local/bin/kind"
    assert create[create.index("--config") + 1] == str(Path("<tmp>") / "kind.yaml")


def test_kind_cluster_start_without_kind_fails_naming_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("WAVEGATE_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("wavegate.tools._ancestor_tools_bins", lambda start: [])
    with pytest.raises(ToolNotFoundError, match="kind not found.*scripts/install-tools"):
        KindCluster("x").start()


def test_kind_cluster_runs_create_then_delete(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a fake `kind` on PATH that records its arguments and writes the kubeconfig."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "kind"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'if [ "$1" = create ]; then\n'
        '  while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && k=$2; shift; done\n'
        f"  cat > \"$k\" <<'EOF'\n{KIND_KUBECONFIG}EOF\n"
        "fi\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr("wavegate.tools._ancestor_tools_bins", lambda start: [])
    monkeypatch.delenv("WAVEGATE_TOOLS_DIR", raising=False)
    with KindCluster("wavegate-t", api_server_host="docker") as cluster:
        workdir = cluster.workdir
        assert workdir is not None
        assert "https://docker:41234" in cluster.kubeconfig.read_text()
        assert "apiServerAddress" in (workdir / "kind.yaml").read_text()
    calls = log.read_text().splitlines()
    assert calls[0].startswith("create cluster --name wavegate-t --image ")
    assert f"--config {workdir}/kind.yaml --kubeconfig {workdir}/kubeconfig" in calls[0]
    assert calls[1] == f"delete cluster --name wavegate-t --kubeconfig {workdir}/kubeconfig"
    assert not workdir.exists()


# -------------------------------------------------------------------- factory


def test_open_cluster_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown cluster kind 'minikube': choose one of local, kubeconfig, kind"):
        open_cluster("minikube")


def test_open_cluster_rejects_unknown_option() -> None:
    with pytest.raises(ValueError, match="cluster kind 'local'"):
        open_cluster("local", colour="blue")


def test_open_cluster_builds_each_provider(tmp_path: Path) -> None:
    assert isinstance(open_cluster("local", timeout=5), LocalCluster)
    kc = open_cluster("kubeconfig", context="prod", kubeconfig=tmp_path / "cfg")
    assert isinstance(kc, KubeconfigCluster) and kc.dry_run_only is True and kc.context == "prod"
    assert kc.kubeconfig == tmp_path / "cfg"


def test_kubeconfig_cluster_checks_file_and_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClusterError, match="does not exist"):
        KubeconfigCluster(kubeconfig=tmp_path / "missing").start()
    cfg = tmp_path / "config"
    cfg.write_text(KIND_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", f"{cfg}{os.pathsep}/nonexistent")
    cluster = KubeconfigCluster()
    assert cluster.kubeconfig == cfg
    with cluster:
        assert cluster.name == "kind-wavegate-7"
    with pytest.raises(ClusterError, match="no context 'prod' .*kind-wavegate-7"):
        KubeconfigCluster(context="prod").start()


# ---------------------------------------------------------------- tool lookup


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_find_tool_prefers_wavegate_tools_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _exe(tmp_path / "t" / "bin" / "etcd")
    _exe(tmp_path / "path" / "etcd")
    monkeypatch.setenv("WAVEGATE_TOOLS_DIR", str(tmp_path / "t"))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert find_tool("etcd") == tool


def test_find_tool_walks_up_to_dot_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _exe(tmp_path / "repo" / ".tools" / "bin" / "kubeconform")
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.delenv("WAVEGATE_TOOLS_DIR", raising=False)
    monkeypatch.chdir(deep)
    from wavegate import tools

    monkeypatch.setattr(tools, "__file__", str(tmp_path / "elsewhere" / "tools.py"))
    assert find_tool("kubeconform") == tool


def test_find_tool_missing_names_install_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVEGATE_TOOLS_DIR", str(tmp_path / "t"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("wavegate.tools._ancestor_tools_bins", lambda start: [])
    with pytest.raises(ToolNotFoundError) as err:
        find_tool("no-such-tool")
    assert "scripts/install-tools --only no-such-tool" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)  # a setup error: the CLI says it in one line, exit 2


# ------------------------------------------------------------------------ keys


def test_service_account_key_is_sec1_p256() -> None:
    pem = ec_private_key_pem().decode()
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert pem.endswith("-----END EC PRIVATE KEY-----\n")
    der = base64.b64decode("".join(pem.splitlines()[1:-1]))
    # SEQUENCE { INTEGER 1, OCTET STRING (32), [0] { OID prime256v1 } }
    assert der[:2] == bytes([0x30, len(der) - 2])
    assert der[2:5] == b"\x02\x01\x01" and der[5:7] == b"\x04\x20"
    assert der[39:] == bytes.fromhex("a00a06082a8648ce3d030107")
    assert int.from_bytes(der[7:39], "big") > 0
    assert ec_private_key_pem() != ec_private_key_pem()
