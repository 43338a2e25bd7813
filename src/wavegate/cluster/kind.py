"""A kind cluster: the dry-run target in GitLab CI (Docker-in-Docker).

kind needs a Docker engine, which wavegate's development machines do not have;
so the command construction is pure and unit-tested, and the GitLab path is
documented in ``docs/tools.md``.

In GitLab's Docker-in-Docker setup the kind node's API server runs inside the
``docker`` service container, not in the job container.  Pass
``api_server_host="docker"`` (or set ``WAVEGATE_KIND_API_SERVER_HOST=docker``):
the cluster is then created with ``networking.apiServerAddress: 0.0.0.0`` and the
kubeconfig's server is rewritten from ``127.0.0.1``/``0.0.0.0`` to that host.  kind
always adds ``localhost``/``127.0.0.1`` to the API server certificate, not
``docker``; the rewritten kubeconfig therefore sets ``tls-server-name: localhost``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from wavegate.regex import lazy_compile

from .base import Cluster, ClusterError
from .tools import find_tool

#: kind node image; it decides the Kubernetes version.  This is the default image of
#: the kind release pinned in scripts/install-tools (KIND_VERSION=v0.33.0), same
#: minor as the pinned kube-apiserver (v1.37); the digest makes it immutable.
DEFAULT_NODE_IMAGE = (
    "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
)
DEFAULT_WAIT = "60s"


def cluster_name(env: Mapping[str, str] | None = None) -> str:
    """``wavegate-<CI_PIPELINE_ID>`` in a pipeline, else ``wavegate-<random>``."""
    env = os.environ if env is None else env
    pipeline = re.sub(r"[^a-z0-9-]", "-", env.get("CI_PIPELINE_ID", "").strip().lower())
    suffix = pipeline.strip("-") or secrets.token_hex(4)
    return f"wavegate-{suffix}"[:50].rstrip("-")


def kind_config(api_server_address: str | None = None) -> str:
    """The ``--config`` file content (kind's v1alpha4 Cluster), as YAML text."""
    lines = ["kind: Cluster", "apiVersion: kind.x-k8s.io/v1alpha4"]
    if api_server_address:
        lines += ["networking:", f'  apiServerAddress: "{api_server_address}"']
    return "\n".join(lines) + "\n"


def create_command(
    name: str,
    kubeconfig: str | os.PathLike[str],
    *,
    image: str = DEFAULT_NODE_IMAGE,
    wait: str = DEFAULT_WAIT,
    config: str | os.PathLike[str] | None = None,
    kind: str = "kind",
) -> list[str]:
    """``kind create cluster ...`` as an argument list."""
    argv = [kind, "create", "cluster", "--name", name, "--image", image, "--wait", wait]
    if config is not None:
        argv += ["--config", str(config)]
    argv += ["--kubeconfig", str(kubeconfig)]
    return argv


def delete_command(
    name: str, kubeconfig: str | os.PathLike[str] | None = None, *, kind: str = "kind"
) -> list[str]:
    """``kind delete cluster ...`` as an argument list."""
    argv = [kind, "delete", "cluster", "--name", name]
    if kubeconfig is not None:
        argv += ["--kubeconfig", str(kubeconfig)]
    return argv


_SERVER_RE = lazy_compile(r"^(\s*server:\s*https://)(127\.0\.0\.1|0\.0\.0\.0|localhost)(:\d+)", re.M)


def rewrite_server_host(kubeconfig_text: str, host: str) -> str:
    """Point a kind kubeconfig at ``host`` (e.g. ``docker``) instead of the loopback.

    Adds ``tls-server-name: localhost`` so the certificate, which names
    localhost/127.0.0.1 but not ``host``, still verifies.
    """

    def repl(m: re.Match[str]) -> str:
        indent = re.match(r"\s*", m.group(1)).group(0)  # type: ignore[union-attr]
        return f"{indent}tls-server-name: localhost\n{m.group(1)}{host}{m.group(3)}"

    return _SERVER_RE.sub(repl, kubeconfig_text)


class KindCluster(Cluster):
    """A kind cluster created on ``start()`` and deleted on ``stop()``.

    :param name: cluster name (default: :func:`cluster_name`).
    :param image: kind node image.
    :param api_server_host: host at which the job reaches the API server when it is not
        the loopback (``docker`` under GitLab Docker-in-Docker); default
        ``$WAVEGATE_KIND_API_SERVER_HOST``.
    """

    dry_run_only = False

    def __init__(
        self,
        name: str | None = None,
        *,
        image: str = DEFAULT_NODE_IMAGE,
        wait: str = DEFAULT_WAIT,
        api_server_host: str | None = None,
    ) -> None:
        self.name = name or cluster_name()
        self.context = None
        self.image = image
        self.wait = wait
        self.api_server_host = api_server_host or os.environ.get("WAVEGATE_KIND_API_SERVER_HOST") or None
        self.workdir: Path | None = None
        self._created = False
        self._kind = "kind"

    @property
    def kubeconfig(self) -> Path:
        if self.workdir is None:
            raise ClusterError(f"kind cluster {self.name}: not started")
        return self.workdir / "kubeconfig"

    def commands(self, kind: str = "kind") -> tuple[list[str], list[str]]:
        """The create and delete commands this cluster runs (for ``--explain`` and tests)."""
        workdir = self.workdir or Path("<tmp>")
        config = workdir / "kind.yaml" if self.api_server_host else None
        return (
            create_command(self.name, workdir / "kubeconfig", image=self.image, wait=self.wait, config=config, kind=kind),
            delete_command(self.name, workdir / "kubeconfig", kind=kind),
        )

    def start(self) -> KindCluster:
        if self._created:
            return self
        self._kind = kind = str(find_tool("kind"))
        self.workdir = Path(tempfile.mkdtemp(prefix="wavegate-kind-"))
        try:
            if self.api_server_host:
                (self.workdir / "kind.yaml").write_text(kind_config("0.0.0.0"))
            create, _ = self.commands(kind)
            self._created = True  # a half-created cluster must be deleted too
            result = subprocess.run(create, capture_output=True, text=True)
            if result.returncode != 0:
                raise ClusterError(
                    f"kind create cluster {self.name} failed ({result.returncode}):\n"
                    + (result.stderr or result.stdout)[-4000:]
                )
            if self.api_server_host:
                path = self.kubeconfig
                path.write_text(rewrite_server_host(path.read_text(), self.api_server_host))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._created and self.workdir is not None:
            _, delete = self.commands(self._kind)
            try:
                subprocess.run(delete, capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.SubprocessError):
                pass  # nothing better to do while tearing down
            self._created = False
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
