"""Kubernetes API servers that wavegate's dry-run talks to, behind one interface.

    from wavegate.cluster import open_cluster

    with open_cluster("local") as cluster:        # or "kubeconfig", "kind"
        api = cluster.api_client()                 # kubernetes.client.ApiClient
        if cluster.dry_run_only: ...               # then send dryRun=All on every write

    with cluster.reader() as read: ...             # read-only, plain dicts (wavegate.cluster.read)

Providers:

``local``
    :class:`LocalCluster` — etcd + kube-apiserver started on loopback ports in a
    temporary directory, torn down on exit.  Options: ``name``, ``timeout``,
    ``kube_apiserver``, ``etcd``, ``extra_apiserver_args``.
``kubeconfig``
    :class:`KubeconfigCluster` — an existing cluster; ``dry_run_only`` is True.
    Options: ``context``, ``kubeconfig``.
``kind``
    :class:`KindCluster` — a kind cluster created and deleted around the run (needs
    Docker; GitLab Docker-in-Docker).  Options: ``name``, ``image``, ``wait``,
    ``api_server_host``.
"""

from __future__ import annotations

from typing import Any

from .base import Cluster, ClusterError
from .kind import KindCluster
from .kubeconfig import KubeconfigCluster
from .local import LocalCluster
from .read import ClusterReader, ReadError
from .tools import ToolNotFoundError, find_tool

PROVIDERS: dict[str, type[Cluster]] = {
    "local": LocalCluster,
    "kubeconfig": KubeconfigCluster,
    "kind": KindCluster,
}


def open_cluster(kind: str, **opts: Any) -> Cluster:
    """A not-yet-started cluster of provider ``kind`` (``local``, ``kubeconfig`` or ``kind``).

    Use the result as a context manager (or call ``start()``/``stop()``).
    Raises ``ValueError`` for an unknown provider or option.
    """
    try:
        cls = PROVIDERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown cluster kind {kind!r}: choose one of {', '.join(PROVIDERS)}"
        ) from None
    try:
        return cls(**opts)
    except TypeError as e:
        raise ValueError(f"cluster kind {kind!r}: {e}") from None


__all__ = [
    "Cluster",
    "ClusterError",
    "ClusterReader",
    "KindCluster",
    "KubeconfigCluster",
    "LocalCluster",
    "PROVIDERS",
    "ReadError",
    "ToolNotFoundError",
    "find_tool",
    "open_cluster",
]
