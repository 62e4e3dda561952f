"""The local Kubernetes control plane's pieces; `tests/e2e/kube/controlplane.py`'s
`LocalControlPlane` puts them together.

- `kubectl`: `ControlPlaneError` and kubectl against the control plane;
- `credentials`: the CA and serving certificate, the service-account key, the token file and
  the admin kubeconfig;
- `stages`: kwok's Stages, with the migration Job's hold and failure;
- `daemons`: etcd, kube-apiserver, controller-manager, scheduler, kwok and the Gateway status
  writer, started and stopped by PID;
- `cluster_setup`: CRDs and the `cilium` GatewayClass, DOKS's system workloads, kwok nodes;
- `introspection`: the processes' PIDs, memory and listening sockets.
"""
