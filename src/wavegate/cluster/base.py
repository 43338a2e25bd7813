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
import re
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the kubernetes package is imported lazily: it is slow to import
    from kubernetes.client import ApiClient

    from wavegate.cluster.read import ClusterReader


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
        """A fresh official-``kubernetes`` ``ApiClient`` for this cluster.

        A request that cannot reach the server (refused, unresolvable, TLS failure) raises
        :class:`ClusterError` saying so, instead of the HTTP library's retry error."""
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=str(self.kubeconfig), context=self.context,
                                    client_configuration=configuration, persist_config=False)
        except Exception as error:  # noqa: BLE001 - the client raises ConfigException, TypeError, ... on a broken file
            raise ClusterError(f"kubeconfig {self.kubeconfig}: {error}") from None
        return _reporting_client()(configuration=configuration)

    def reader(self) -> ClusterReader:
        """Read-only access to this cluster (wavegate.cluster.read); close it when done."""
        from wavegate.cluster.read import ClusterReader

        return ClusterReader(self.api_client())

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


def unreachable(host: str, error: BaseException) -> ClusterError:
    """The one-line error for a server that could not be reached at `host`."""
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    match = re.search(r"\[Errno -?\d+\] ([^)'\"]+)", text)
    why = match.group(1).strip() if match else " ".join(text.split())[:200] or type(reason).__name__
    return ClusterError(f"cannot reach the cluster at {host}: {why}; check that its API server is running and "
                        "that the kubeconfig points at it")


@lru_cache(maxsize=1)
def _reporting_client():
    """``kubernetes.client.ApiClient`` whose requests raise ClusterError when the server cannot be reached."""
    import urllib3
    from kubernetes.client import ApiClient
    from kubernetes.client.exceptions import ApiException

    class ReportingApiClient(ApiClient):
        # Every typed API and the dynamic client send their requests through call_api.
        def call_api(self, *args, **kwargs):
            try:
                return super().call_api(*args, **kwargs)
            except urllib3.exceptions.HTTPError as error:  # MaxRetryError, ProtocolError, ...
                raise unreachable(self.configuration.host, error) from None
            except ApiException as error:
                if error.status == 0:  # the REST layer's wrapping of a TLS failure: no answer at all
                    raise unreachable(self.configuration.host, Exception(error.reason)) from None
                raise

    return ReportingApiClient
