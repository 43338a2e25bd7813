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

import importlib
from typing import TYPE_CHECKING, Any

from .base import Cluster, ClusterError
from .read import ClusterReader, ReadError
from .tools import ToolNotFoundError, find_tool

if TYPE_CHECKING:
    from .kind import KindCluster
    from .kubeconfig import KubeconfigCluster
    from .local import LocalCluster

# Provider name -> (module, class). The one list of providers: the CLI's --cluster choices are
# its names. A provider's module is imported when a cluster of its kind is opened, so that naming
# them costs nothing (local's and kind's imports take about 0.1 s).
_PROVIDERS: dict[str, tuple[str, str]] = {
    "local": ("local", "LocalCluster"),
    "kubeconfig": ("kubeconfig", "KubeconfigCluster"),
    "kind": ("kind", "KindCluster"),
}
PROVIDERS: tuple[str, ...] = tuple(_PROVIDERS)
# The providers a command that reads a cluster's state may name (status, promote's health gate):
# a kind cluster would be created empty just to be read.
READ_PROVIDERS: tuple[str, ...] = ("kubeconfig", "local")


def provider(kind: str) -> type[Cluster]:
    """The class of provider ``kind``; KeyError for an unknown one."""
    module, name = _PROVIDERS[kind]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __getattr__(name: str) -> Any:  # LocalCluster, KubeconfigCluster, KindCluster, on first use
    for kind, (_, cls) in _PROVIDERS.items():
        if cls == name:
            return provider(kind)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_cluster(kind: str, **opts: Any) -> Cluster:
    """A not-yet-started cluster of provider ``kind`` (``local``, ``kubeconfig`` or ``kind``).

    Use the result as a context manager (or call ``start()``/``stop()``).
    Raises ``ValueError`` for an unknown provider or option.
    """
    try:
        cls = provider(kind)
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
    "READ_PROVIDERS",
    "ReadError",
    "ToolNotFoundError",
    "find_tool",
    "open_cluster",
]
