"""The stack's cluster, reached as `doctl` reaches it: the endpoint, CA and credential that
DigitalOcean's API hands out (`/v2/kubernetes/clusters/{id}/credentials`, read-only), then GET
requests to its API server. For the ops commands that look into the cluster: the restore
drill's check log, the rollout check."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from config.digitalocean_api import ApiUnreadable, ReadOnlyApi, quoted

# What reaching the cluster can raise: DigitalOcean unreadable, credentials not as documented,
# the API server not answering (URLError is an OSError), a body that is not JSON.
CLUSTER_API_ERRORS = (ApiUnreadable, KeyError, ValueError, OSError, urllib.error.URLError)


class ClusterApi:
    def __init__(self, server: str, context: ssl.SSLContext, bearer: str) -> None:
        self.server = server.rstrip("/")
        self.context = context
        self.bearer = bearer

    @classmethod
    def from_digitalocean(cls, api: ReadOnlyApi, cluster_id: str, token: str) -> ClusterApi:
        """The cluster's credentials from DigitalOcean; its token, else the API token (DOKS
        accepts a DigitalOcean token as a bearer token)."""
        credentials = api.get(f"/v2/kubernetes/clusters/{quoted(cluster_id)}/credentials")
        ca = base64.b64decode(credentials["certificate_authority_data"]).decode()
        return cls(
            str(credentials["server"]),
            ssl.create_default_context(cadata=ca),
            str(credentials.get("token") or token),
        )

    def get_bytes(self, path: str) -> bytes:
        request = urllib.request.Request(self.server + path)
        request.add_header("Authorization", f"Bearer {self.bearer}")
        with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
            return bytes(response.read())

    def get_json(self, path: str) -> Any:
        return json.loads(self.get_bytes(path) or b"{}")
