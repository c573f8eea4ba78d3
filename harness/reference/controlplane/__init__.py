"""A real Kubernetes control plane, from pinned upstream modules, run as local processes.

`binaries` builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the
Go modules in `tools/controlplane/` into a per-user cache keyed by the pinned versions;
`control_plane` starts them envtest-style (certificates, tokens, one or more kwok nodes) and
writes an admin kubeconfig; `python -m harness.reference.controlplane` is that as a program with
a READY line, like every reference component.
"""
