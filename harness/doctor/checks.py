"""Every check, in the order they run; `needs` skips a check whose premise failed."""

from __future__ import annotations

from harness.doctor import agreement_checks as agreement
from harness.doctor import fulfillment_checks as fulfillment
from harness.doctor import kubernetes_checks as kubernetes
from harness.doctor import operator_checks as operator
from harness.doctor.model import Check

CHECKS: tuple[Check, ...] = (
    Check(
        "kube.api", "Kubernetes API reachable and credentials accepted", kubernetes.api_reachable
    ),
    Check(
        "kube.namespaces",
        "the hub namespace the suites use exists",
        kubernetes.namespaces,
        needs=("kube.api",),
    ),
    Check(
        "kube.access",
        "our identity may do what the suites do, in their namespaces",
        kubernetes.access,
        needs=("kube.namespaces",),
    ),
    Check(
        "kube.evidence",
        "our identity may read what a run keeps as evidence",
        kubernetes.evidence,
        needs=("kube.api",),
    ),
    Check(
        "crd.computeinstance",
        "ComputeInstance CRD and its era",
        kubernetes.computeinstance_crd,
        needs=("kube.api",),
    ),
    Check(
        "crd.kubevirt", "KubeVirt VM and VMI CRDs", kubernetes.kubevirt_crds, needs=("kube.api",)
    ),
    Check(
        "kubevirt.ready",
        "KubeVirt deployed and available",
        kubernetes.kubevirt_ready,
        needs=("kube.api",),
    ),
    Check(
        "operator.deployment",
        "operator Deployment present and ready",
        operator.deployment_ready,
        needs=("kube.api",),
    ),
    Check(
        "operator.images",
        "operator images from the project, of the expected release",
        operator.images,
        needs=("operator.deployment",),
        blocking=False,
    ),
    Check(
        "operator.env",
        "operator environment names of the CRD's era",
        operator.environment_names,
        needs=("operator.deployment",),
    ),
    Check(
        "operator.webhooks",
        "provisioning webhooks set and answering POST",
        operator.webhooks,
        needs=("operator.deployment",),
    ),
    Check(
        "operator.vmi-delete",
        "operator may delete VMIs",
        operator.vmi_delete,
        needs=("operator.deployment",),
    ),
    Check(
        "operator.api-admin",
        "operator among the fulfillment API's admins",
        operator.api_admin,
        needs=("operator.deployment",),
    ),
    Check(
        "api.reachable",
        "fulfillment API reachable, TLS as configured, token accepted",
        fulfillment.reachable,
    ),
    Check(
        "api.private",
        "private API methods allowed",
        fulfillment.private_methods,
        needs=("api.reachable",),
    ),
    Check(
        "api.agreement",
        "the fulfillment API's instances are the cluster's CRs (namespace, era)",
        agreement.api_agrees,
        needs=("api.reachable", "kube.namespaces", "crd.computeinstance"),
    ),
)


def selected(only: list[str]) -> list[Check]:
    """The checks named in `only` and those they need, in order; every check when `only` is
    empty."""
    by_id = {check.id: check for check in CHECKS}
    wanted: set[str] = set()
    pending = list(only)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(by_id[name].needs)
    return [check for check in CHECKS if not only or check.id in wanted]
