"""The local control plane (etcd + kube-apiserver from scripts/install-tools), for real.

No skips: when a binary is missing these tests fail with a message that names
scripts/install-tools.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from wavegate.cluster import (
    ClusterError,
    KubeconfigCluster,
    LocalCluster,
    ToolNotFoundError,
    find_tool,
    open_cluster,
)

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module", autouse=True)
def tools_installed() -> None:
    for tool in ("kube-apiserver", "etcd"):
        try:
            find_tool(tool)
        except ToolNotFoundError as e:
            pytest.fail(str(e), pytrace=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is gone for our purposes only once reaped
    return True


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions ``text`` (catches grandchildren too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _assert_torn_down(pids: list[int], workdir: Path) -> None:
    assert pids, "the cluster never had child processes"
    left = [pid for pid in pids if _alive(pid)]
    assert not left, f"child processes still alive after stop(): {left}"
    assert not _processes_mentioning(str(workdir)), "a process still uses the temporary directory"
    assert not workdir.exists(), f"{workdir} was not removed"


def _readyz(cluster: LocalCluster) -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=str(cluster.ca_file))
    req = urllib.request.Request(
        f"{cluster.server}/readyz?verbose", headers={"Authorization": f"Bearer {cluster.token}"}
    )
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_local_cluster_serves_the_kubernetes_api_and_tears_down() -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    cluster = open_cluster("local")
    assert isinstance(cluster, LocalCluster)
    assert cluster.dry_run_only is False
    with cluster:
        print(f"local control plane ready in {cluster.ready_seconds:.2f} s")
        assert cluster.ready_seconds is not None and cluster.ready_seconds < cluster.timeout
        workdir, pids = cluster.workdir, cluster.pids
        assert workdir is not None and workdir.is_dir() and len(pids) == 2
        assert cluster.kubeconfig.is_file()

        status, body = _readyz(cluster)
        assert status == 200 and "readyz check passed" in body

        api = cluster.api_client()
        version = client.VersionApi(api).get_code()
        assert version.git_version.startswith("v1."), version.git_version

        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
        core.create_namespaced_config_map(
            "team-a",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name="created"), data={"k": "v"}),
        )
        assert core.read_namespaced_config_map("created", "team-a").data == {"k": "v"}

        # server-side apply, as Argo CD's ServerSideApply=true sync option does
        applied = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "applied", "namespace": "team-a"},
            "data": {"wave": "1"},
        }
        core.patch_namespaced_config_map(
            "applied",
            "team-a",
            applied,
            field_manager="wavegate",
            field_validation="Strict",
            _content_type="application/apply-patch+yaml",
        )
        got = core.read_namespaced_config_map("applied", "team-a")
        assert got.data == {"wave": "1"}
        assert [m.manager for m in got.metadata.managed_fields] == ["wavegate"]
        assert got.metadata.managed_fields[0].operation == "Apply"

        # an unknown field is rejected: the point of a real API server
        bad = dict(applied, metadata={"name": "bad", "namespace": "team-a"}, dataa={"x": "y"})
        with pytest.raises(ApiException) as err:
            core.patch_namespaced_config_map(
                "bad", "team-a", bad,
                field_manager="wavegate",
                field_validation="Strict",
                _content_type="application/apply-patch+yaml",
            )
        # (kube-apiserver answers 500 "field not declared in schema" for unknown fields
        # in an apply patch; 400/422 for other kinds of invalid requests)
        assert err.value.status in (400, 422, 500), err.value.body
        assert ".dataa: field not declared in schema" in err.value.body

        # a namespaced object in a namespace that does not exist yet is refused
        with pytest.raises(ApiException) as err:
            core.create_namespaced_config_map(
                "no-such-ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x"))
            )
        assert err.value.status == 404

        # the same cluster through the kubeconfig provider, which is dry-run only
        via_kubeconfig = KubeconfigCluster(kubeconfig=cluster.kubeconfig).start()
        assert via_kubeconfig.dry_run_only is True and via_kubeconfig.name == cluster.name
        core2 = client.CoreV1Api(via_kubeconfig.api_client())
        core2.create_namespaced_config_map(
            "team-a",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry")),
            dry_run="All",
        )
        with pytest.raises(ApiException) as err:
            core2.read_namespaced_config_map("dry", "team-a")
        assert err.value.status == 404

    assert not cluster.running
    _assert_torn_down(pids, workdir)


def test_exception_inside_with_block_still_tears_down() -> None:
    seen: dict[str, object] = {}
    with pytest.raises(RuntimeError, match="boom"):
        with LocalCluster() as cluster:
            seen["pids"], seen["workdir"] = cluster.pids, cluster.workdir
            raise RuntimeError("boom")
    _assert_torn_down(seen["pids"], seen["workdir"])  # type: ignore[arg-type]


@pytest.fixture
def made_dirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every temporary directory LocalCluster creates during the test."""
    import tempfile

    import wavegate.cluster.local as local

    made: list[Path] = []
    real = tempfile.mkdtemp

    def mkdtemp(*args: object, **kwargs: object) -> str:
        path = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(Path(path))
        return path

    monkeypatch.setattr(local.tempfile, "mkdtemp", mkdtemp)
    return made


def test_missing_binary_fails_cleanly(tmp_path: Path, made_dirs: list[Path]) -> None:
    cluster = LocalCluster(kube_apiserver=tmp_path / "no-such-kube-apiserver")
    with pytest.raises(ClusterError, match="scripts/install-tools") as err:
        cluster.start()
    assert "no-such-kube-apiserver" in str(err.value)
    assert not cluster.running and cluster.workdir is None
    assert made_dirs == []  # refused before anything was created


def test_process_that_dies_during_start_up_fails_with_its_log(made_dirs: list[Path]) -> None:
    cluster = LocalCluster(extra_apiserver_args=["--no-such-flag=1"], timeout=30)
    started = time.monotonic()
    with pytest.raises(ClusterError) as err:
        cluster.start()
    message = str(err.value)
    assert "kube-apiserver exited during start-up" in message
    assert "no-such-flag" in message  # the tail of kube-apiserver's own log
    assert time.monotonic() - started < 20
    assert not cluster.running and cluster.workdir is None
    assert len(made_dirs) == 1
    assert not made_dirs[0].exists()
    assert not _processes_mentioning(str(made_dirs[0])), "etcd was left running"


def test_port_taken_between_pick_and_bind_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    calls: list[tuple[int, int, int]] = []
    real = LocalCluster._three_ports

    def three_ports() -> tuple[int, int, int]:
        ports = real() if calls else (taken.getsockname()[1], *real()[1:])
        calls.append(ports)
        return ports

    monkeypatch.setattr(LocalCluster, "_three_ports", staticmethod(three_ports))
    try:
        with LocalCluster() as cluster:
            assert cluster.ready_seconds is not None
            assert len(calls) == 2 and calls[1][0] != calls[0][0]  # etcd could not bind: retried
    finally:
        taken.close()


@pytest.mark.parametrize(
    ("signum", "returncode"),
    [
        (signal.SIGTERM, 128 + signal.SIGTERM),  # SystemExit(143) after the teardown
        (signal.SIGINT, -signal.SIGINT),  # KeyboardInterrupt, uncaught: Python dies by SIGINT
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_signal_stops_the_cluster(signum: int, returncode: int) -> None:
    """A process interrupted while its cluster runs leaves nothing behind."""
    script = textwrap.dedent(
        """
        import sys, time
        from wavegate.cluster import LocalCluster
        c = LocalCluster().start()
        print(c.workdir, *c.pids, flush=True)
        time.sleep(60)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = proc.stdout.readline().split()  # type: ignore[union-attr]
        assert line, proc.stderr.read()  # type: ignore[union-attr]
        workdir, pids = Path(line[0]), [int(p) for p in line[1:]]
        assert workdir.is_dir() and all(_alive(p) for p in pids)
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == returncode, proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # the children were not ours to reap: init does it
    _assert_torn_down(pids, workdir)
