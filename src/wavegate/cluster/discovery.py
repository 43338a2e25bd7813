"""The kubernetes client's dynamic client, with discovery kept in memory.

By default the client keeps what discovery found in a file named after the server's address in
the system's temporary folder (`osrcp-<hash of the URL>.json`), and reads it back on the next start.
Throwaway API servers reuse loopback ports, so a later run would start from what another server
served (kinds its CRDs added, which this one does not serve), and every run left a file behind.
"""

from __future__ import annotations

import os
import tempfile
import uuid


def dynamic_client(api_client):
    """A kubernetes.dynamic.DynamicClient for `api_client` whose discovery starts fresh and is
    never written to disk."""
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.discovery import LazyDiscoverer

    class InMemoryDiscoverer(LazyDiscoverer):
        def _write_cache(self):  # (the only place the library writes)
            pass

    # A path that never exists: the library reads a cache file only when one is there.
    never_written = os.path.join(tempfile.gettempdir(), f"wavegate-discovery-{uuid.uuid4().hex}.json")
    return DynamicClient(api_client, cache_file=never_written, discoverer=InMemoryDiscoverer)
