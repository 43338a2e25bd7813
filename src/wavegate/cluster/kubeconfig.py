"""A cluster reached through an existing kubeconfig: somebody's real cluster.

wavegate does not own it, so :attr:`KubeconfigCluster.dry_run_only` is True: every
mutating request sent to it must carry ``dryRun=All``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import Cluster, ClusterError


def default_kubeconfig() -> Path:
    """The first file named by ``$KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part:
            return Path(part).expanduser()
    return Path("~/.kube/config").expanduser()


class KubeconfigCluster(Cluster):
    """The cluster of a kubeconfig context (default: the current context).

    :param context: context name inside the kubeconfig (None: its current context).
    :param kubeconfig: kubeconfig path (None: ``$KUBECONFIG`` or ``~/.kube/config``).
    """

    dry_run_only = True

    def __init__(
        self, context: str | None = None, kubeconfig: str | os.PathLike[str] | None = None
    ) -> None:
        self.context = context
        self._kubeconfig = Path(kubeconfig).expanduser() if kubeconfig else default_kubeconfig()
        self.name = context or "current-context"

    @property
    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def start(self) -> KubeconfigCluster:
        """Check the kubeconfig and context exist; nothing is started."""
        from kubernetes import config

        if not self._kubeconfig.is_file():
            raise ClusterError(
                f"kubeconfig {self._kubeconfig} does not exist: point KUBECONFIG at the cluster's "
                "kubeconfig file"
            )
        self._check_is_kubeconfig()
        try:
            contexts, current = config.list_kube_config_contexts(str(self._kubeconfig))
        except Exception as e:  # noqa: BLE001 - the client raises ConfigException and friends
            raise ClusterError(f"kubeconfig {self._kubeconfig}: {e}") from None
        names = [c["name"] for c in contexts or []]
        if self.context is None:
            if not current:
                raise ClusterError(f"kubeconfig {self._kubeconfig} has no current context")
            self.name = current["name"]
        elif self.context not in names:
            raise ClusterError(
                f"kubeconfig {self._kubeconfig} has no context {self.context!r} "
                f"(it has: {', '.join(names) or 'none'})"
            )
        return self

    def _check_is_kubeconfig(self) -> None:
        """A file that is not a kubeconfig (a typo'd --kubeconfig) is named as such."""
        from wavegate.load import read_yaml

        documents, problems = read_yaml(self._kubeconfig)
        if problems and problems[0].rule != "yaml-not-a-mapping":
            first = problems[0]
            raise ClusterError(f"kubeconfig {self._kubeconfig}:{first.line}:{first.column}: {first.message}")
        data = documents[0].data if len(documents) == 1 and not problems else None
        if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
            raise ClusterError(f"{self._kubeconfig} is not a kubeconfig file (it has no `contexts:` list); point "
                               "KUBECONFIG or --kubeconfig at the cluster's kubeconfig")

    def stop(self) -> None:
        """Nothing to release: wavegate does not own this cluster."""
