"""Reading the instances to adopt, and their namespaces, from the cluster (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wavegate.cluster.read import ReadError
from wavegate.kube import KRO_GROUP
from wavegate.scaffold.adopt.model import AdoptError

if TYPE_CHECKING:
    from wavegate.cluster.read import ClusterReader

DEFAULT_GROUP = KRO_GROUP
DEFAULT_KIND = "CICDPipeline"


def fetch_instances(read: ClusterReader, *, name: str | None = None, namespace: str | None = None,
                    group: str = DEFAULT_GROUP, kind: str = DEFAULT_KIND) -> list[dict]:
    """The instances of `group`/`kind`: one by `name` (in `namespace`, else searched in every
    namespace), or all in `namespace`, or all in every namespace. Raises AdoptError."""
    try:
        served = read.resources(group, kind)
    except ReadError as error:
        raise AdoptError([f"cannot read the API server's discovery: {error}"]) from None
    if not served:
        raise AdoptError([f"the cluster serves no kind {kind!r} in group {group!r}: is the "
                          f"ResourceGraphDefinition installed (kubectl get crd)? see --group/--kind"])
    resource = served[0]
    try:
        if name:
            if namespace:
                found_one = read.get_object(resource, name, namespace=namespace)
                if found_one is None:
                    raise AdoptError([f"no {kind} {name!r} in namespace {namespace!r}"])
                return [found_one]
            found = [item for item in read.list_objects(resource)
                     if (item.get("metadata") or {}).get("name") == name]
            if not found:
                raise AdoptError([f"no {kind} named {name!r} in any namespace"])
            if len(found) > 1:
                where = ", ".join(sorted(i["metadata"].get("namespace", "") for i in found))
                raise AdoptError([f"{kind} {name!r} exists in several namespaces ({where}); pass --namespace"])
            return found
        items = read.list_objects(resource, namespace=namespace)
    except ReadError as error:
        raise AdoptError([f"reading {kind} from the cluster failed: {error}"]) from None
    if not items:
        where = f"namespace {namespace!r}" if namespace else "any namespace"
        raise AdoptError([f"no {kind} in {where}"])
    return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def fetch_namespace(read: ClusterReader, namespace: str) -> dict | None:
    """The live Namespace object, or None when it cannot be read."""
    try:
        return read.namespace(namespace)
    except ReadError:
        return None
