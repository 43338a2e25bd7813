"""Reading a cluster: what `wavegate status`, `wavegate adopt` and `wavegate schemas export` ask
the API server, with nothing that could change it.

    with cluster.reader() as read:                   # a started wavegate.cluster.Cluster
        app = read.get("argoproj.io", "v1alpha1", "applications", "web", namespace="argocd")

Objects come back as plain dictionaries, as the API server serves them (camelCase keys); an object
that does not exist is None; any other answer of the server raises ReadError with its status and
reason. A server that cannot be reached raises ClusterError (the cluster door's ApiClient).
The kubernetes package stays behind this module: callers never import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the kubernetes package is imported lazily: it is slow to import
    from kubernetes.client import ApiClient


class ReadError(Exception):
    """The API server refused a read (anything but 404) or discovery does not know the resource."""

    def __init__(self, status: int | None, reason: str):
        super().__init__(f"{status} {reason}" if status is not None else reason)
        self.status, self.reason = status, reason


def _read_error(error) -> ReadError:
    return ReadError(error.status, error.reason)


class ClusterReader:
    """Read-only requests to one API server (an ApiClient from `Cluster.api_client()`)."""

    def __init__(self, api_client: ApiClient):
        self.api_client = api_client
        self._dynamic: Any = None

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> ClusterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- custom objects (status) ---------------------------------------------------------------

    def get(self, group: str, version: str, plural: str, name: str, namespace: str | None = None) -> dict | None:
        """One custom object, or None when it does not exist."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        api = client.CustomObjectsApi(self.api_client)
        try:
            if namespace:
                obj = api.get_namespaced_custom_object(group, version, namespace, plural, name)
            else:
                obj = api.get_cluster_custom_object(group, version, plural, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise _read_error(error) from None
        assert isinstance(obj, dict), "the client decodes a custom object's JSON into a dict"
        return obj

    def custom_kinds(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(group, kind) -> (plural, storage version) of every CRD on the server."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        found = {}
        try:
            crds = client.ApiextensionsV1Api(self.api_client).list_custom_resource_definition().items
        except ApiException as error:
            raise _read_error(error) from None
        for crd in crds:
            served = [v.name for v in crd.spec.versions if v.served]
            storage = next((v.name for v in crd.spec.versions if v.storage), served[0] if served else "")
            found[(crd.spec.group, crd.spec.names.kind)] = (crd.spec.names.plural, storage)
        return found

    # -- any kind, through discovery (adopt) ---------------------------------------------------

    @property
    def dynamic(self):
        from wavegate.cluster.discovery import dynamic_client

        if self._dynamic is None:
            self._dynamic = dynamic_client(self.api_client)
        return self._dynamic

    def resources(self, group: str, kind: str) -> list[Any]:
        """The resources discovery serves for `group`/`kind` (no subresources), the preferred
        version first when there is one; pass one to `get_object`/`list_objects`."""
        from kubernetes.client.exceptions import ApiException

        try:
            candidates = [r for r in self.dynamic.resources.search(group=group, kind=kind) if "/" not in r.name]
        except ApiException as error:
            raise _read_error(error) from None
        return [r for r in candidates if getattr(r, "preferred", False)] or candidates

    def get_object(self, resource: Any, name: str, namespace: str | None = None) -> dict | None:
        """One object of a discovered resource, or None when it does not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.dynamic.get(resource, name=name, namespace=namespace).to_dict()
        except ApiException as error:
            if error.status == 404:
                return None
            raise _read_error(error) from None

    def list_objects(self, resource: Any, namespace: str | None = None) -> list[dict]:
        """The objects of a discovered resource in `namespace`, or in every namespace."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            result = self.dynamic.get(resource, namespace=namespace) if namespace else self.dynamic.get(resource)
        except ApiException as error:
            raise _read_error(error) from None
        except ResourceNotFoundError as error:
            raise ReadError(None, str(error)) from None
        return list(result.to_dict().get("items") or [])

    def namespace(self, name: str) -> dict | None:
        """The Namespace object, or None when it does not exist."""
        from kubernetes.client.exceptions import ApiException

        try:
            resource = self.dynamic.resources.get(api_version="v1", kind="Namespace")
        except ApiException as error:
            raise _read_error(error) from None
        return self.get_object(resource, name)

    # -- raw documents (schemas export) --------------------------------------------------------

    def get_raw(self, path: str) -> tuple[int, bytes]:
        """GET a server-relative `path` (a query string allowed) as JSON: (HTTP status, body)."""
        from urllib.parse import parse_qsl

        from kubernetes.client.exceptions import ApiException

        resource, _, query = path.partition("?")
        try:
            method, url, headers, body, _ = self.api_client.param_serialize(
                method="GET", resource_path=resource, query_params=parse_qsl(query) or None,
                header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
            response = self.api_client.call_api(method, url, header_params=headers, body=body)
            data = response.read()
        except ApiException as error:
            raise _read_error(error) from None
        return response.status, data


__all__ = ["ClusterReader", "ReadError"]
