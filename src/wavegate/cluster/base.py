"""The one cluster interface (DESIGN.md, invariant 5).

The sync simulation only ever sees a :class:`Cluster`: something it can start,
ask for an official ``kubernetes`` ``ApiClient`` (or a kubeconfig file path, for
tools that want one), and stop.  Whether the API server behind it is a throwaway
local control plane, a kind cluster or somebody's real cluster reached through a
kubeconfig is the provider's business; the only thing a caller must respect is
:attr:`Cluster.dry_run_only`.
"""

from __future__ import annotations

import abc
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the kubernetes package is imported lazily: it is slow to import
    from kubernetes.client import ApiClient


class ClusterError(RuntimeError):
    """A cluster could not be started, reached or stopped.  The message says why."""


class Cluster(abc.ABC):
    """A Kubernetes API server that wavegate may talk to.

    Use it as a context manager::

        with open_cluster("local") as cluster:
            api = cluster.api_client()
            ...

    ``start()`` returns the cluster itself; ``stop()`` is idempotent.
    """

    #: A short human name (the kind cluster name, the kubeconfig context, ...).
    name: str
    #: True when every mutating request MUST carry ``dryRun=All`` (a real cluster
    #: reached through a kubeconfig).  False for throwaway clusters wavegate owns.
    dry_run_only: bool = False
    #: The kubeconfig context to use inside :attr:`kubeconfig` (None: its current one).
    context: str | None = None

    @property
    @abc.abstractmethod
    def kubeconfig(self) -> Path:
        """Path of a kubeconfig file that reaches this cluster (valid after ``start()``)."""

    @abc.abstractmethod
    def start(self) -> Cluster:
        """Make the cluster reachable; return ``self``.  Raises :class:`ClusterError`."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Release everything ``start()`` acquired.  Safe to call more than once."""

    def api_client(self) -> ApiClient:
        """A fresh official-``kubernetes`` ``ApiClient`` for this cluster."""
        from kubernetes import config

        return config.new_client_from_config(
            config_file=str(self.kubeconfig), context=self.context
        )

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
