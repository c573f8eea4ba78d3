"""A real Kubernetes control plane, from pinned upstream modules, run as local processes.

`binaries` builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the
Go modules in `tools/controlplane/` into a per-user cache keyed by the pinned versions;
`control_plane` starts them envtest-style (certificates, tokens, one or more kwok nodes) and
writes an admin kubeconfig; `python -m harness.reference.controlplane` is that as a program with
a READY line, like every reference component. For the reference stack on it: `install` puts
objects there through the API, `permissions` gives each component its ServiceAccount and
least-privilege RBAC, `workloads` makes kwok's pods stand for the local processes (the
fulfillment API's port forward, the operator's log) and `container_log` keeps the operator's log
as its container's.
"""
