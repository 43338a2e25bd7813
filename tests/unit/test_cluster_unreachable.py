"""A cluster that cannot be reached, or a kubeconfig that is not one, is one line from the cluster
door and exit 2 from every command that talks to a cluster."""

import socket

import pytest

from tests.helpers import EXAMPLES, write_repo
from wavegate import cli
from wavegate.cluster import ClusterError, KubeconfigCluster


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def refused(tmp_path, monkeypatch):
    """A kubeconfig whose server is a loopback port nothing listens on; KUBECONFIG points at it."""
    port = closed_port()
    path = tmp_path / "kubeconfig"
    path.write_text(f"""\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
contexts:
- name: c
  context: {{cluster: c, user: u}}
current-context: c
users:
- name: u
  user: {{token: abc}}
""")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return f"https://127.0.0.1:{port}"


def one_line(capsys, *args) -> tuple[int, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err and "MaxRetryError" not in err
    assert len(err.splitlines()) == 1, err
    return code, err


def test_a_refused_connection_is_a_cluster_error_naming_the_server(refused):
    from kubernetes import client

    with KubeconfigCluster() as cluster:
        api = cluster.api_client()
        with pytest.raises(ClusterError) as error:
            client.VersionApi(api).get_code()
    assert str(error.value).startswith(f"cannot reach the cluster at {refused}: Connection refused")


def test_dry_run_against_a_refused_port_is_one_line_and_exit_2(capsys, refused):
    code, err = one_line(capsys, "dry-run", EXAMPLES / "defects", "--cluster", "kubeconfig")
    assert code == 2 and err.startswith(f"wavegate: cannot reach the cluster at {refused}: Connection refused")


def test_status_against_a_refused_port_is_one_line_and_exit_2(capsys, refused, tmp_path):
    write_repo(tmp_path, {"repo/.wavegate.yaml": "environments:\n  - {name: dev, path: environments/dev,\n"
                                                 "     application: {name: web-dev, namespace: argocd}}\n",
                          "repo/environments/dev/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n"})
    code, err = one_line(capsys, "status", tmp_path / "repo")
    assert code == 2 and err.startswith(f"wavegate: cannot reach the cluster at {refused}: Connection refused")


def test_schemas_export_from_a_refused_port_is_one_line_and_exit_2(capsys, refused, tmp_path):
    code, err = one_line(capsys, "schemas", "export", tmp_path / "out")
    assert code == 2 and f"cannot reach the cluster at {refused}: Connection refused" in err


@pytest.mark.parametrize("text", ["root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
                                  "- a\n- b\n", "apiVersion: v1\nkind: Config\n"])
def test_a_file_that_is_not_a_kubeconfig_is_named_as_such(capsys, tmp_path, text):
    passwd = tmp_path / "passwd"
    passwd.write_text(text)
    code, err = one_line(capsys, "schemas", "export", tmp_path / "out", "--kubeconfig", passwd)
    assert code == 2 and err == (f"wavegate: {passwd} is not a kubeconfig file (it has no `contexts:` list); "
                                 "point KUBECONFIG or --kubeconfig at the cluster's kubeconfig\n")
