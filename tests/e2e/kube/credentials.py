"""The control plane's credentials: a CA, the API server's serving certificate (SAN 127.0.0.1),
a service-account key, the static token file and the admin kubeconfig, all in the state
directory, private keys and tokens mode 0600."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

SERVICE_IP = "10.245.0.1"  # the `kubernetes` Service, first address of the service range


class Credentials:
    """Writes the files the API server and kubectl authenticate with.

    The token is the stack's DigitalOcean API token, as DOKS accepts it: a member of
    `system:masters`.
    """

    def __init__(self, state_dir: Path, token: str) -> None:
        self.state_dir = state_dir
        self.token = token
        self.kubeconfig = state_dir / "kubeconfig.yaml"

    @property
    def ca_certificate(self) -> Path:
        return self.state_dir / "ca.crt"

    def _openssl(self, *args: str) -> None:
        subprocess.run(
            ["openssl", *args], cwd=self.state_dir, check=True, capture_output=True, timeout=30
        )

    def write_certificates(self) -> None:
        """A CA, the API server's serving certificate (SAN 127.0.0.1), a service-account key."""
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        self._openssl(
            "req",
            "-x509",
            *ec,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=posts-e2e-ca",
        )
        (self.state_dir / "apiserver.ext").write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName=IP:127.0.0.1,IP:{SERVICE_IP},DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local\n"
        )
        self._openssl(
            "req",
            "-new",
            *ec,
            "-keyout",
            "apiserver.key",
            "-out",
            "apiserver.csr",
            "-subj",
            "/CN=kube-apiserver",
        )
        self._openssl(
            "x509",
            "-req",
            "-in",
            "apiserver.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "apiserver.crt",
            "-days",
            "2",
            "-extfile",
            "apiserver.ext",
        )
        self._openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key")
        self._openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        for key in ("ca.key", "apiserver.key", "sa.key"):
            (self.state_dir / key).chmod(0o600)

    def write_token_file(self) -> None:
        path = self.state_dir / "tokens.csv"
        path.write_text(f'{self.token},posts-e2e-admin,posts-e2e-admin,"system:masters"\n')
        path.chmod(0o600)

    def write_kubeconfig(self, endpoint: str, ca_pem: bytes) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "posts-e2e",
                    "cluster": {
                        "server": endpoint,
                        "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": "posts-e2e-admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "posts-e2e",
                    "context": {"cluster": "posts-e2e", "user": "posts-e2e-admin"},
                }
            ],
            "current-context": "posts-e2e",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)
