"""The API versions wavegate says a default Kubernetes release serves are the ones the real
kube-apiserver (from scripts/install-tools, started without --runtime-config) serves."""

import pytest

from wavegate.cluster import LocalCluster
from wavegate.schemas.kubernetes import resolve_version
from wavegate.validators.api_versions import not_served, table

pytestmark = pytest.mark.integration


def test_served_by_default_is_what_the_local_api_server_serves():
    version = "1.37"  # the kube-apiserver scripts/install-tools builds (KUBERNETES_VERSION)
    assert resolve_version(version) == version
    with LocalCluster() as cluster:
        from kubernetes.dynamic import DynamicClient

        api = cluster.api_client()
        try:
            served = {(r.group_version.rpartition("/")[0], r.group_version.rpartition("/")[2], r.kind)
                      for r in DynamicClient(api).resources.search() if getattr(r, "kind", None)}
        finally:
            api.close()
    prerelease = {key: life for key, life in table().items() if "alpha" in key[1] or "beta" in key[1]}
    for key, life in prerelease.items():
        if not_served(*key, version):  # removed, or not yet there
            assert key not in served, key
        else:  # there: served exactly when wavegate says a default cluster serves it
            assert (key in served) == life.enabled_by_default, (key, life)
    assert len([k for k in prerelease if not not_served(*k, version)]) >= 20
