"""The Kubernetes permissions the harness uses — the rules jobs/ grants, measured from the real
API server's audit log of the Job's runs (tests/controlplane/test_job_on_real.py).

Three kinds: the suites' own (a run cannot work without them), the evidence a run gathers
(each test's virt-launcher pod, a failing test's events and operator log, the operator's
Deployment and images for environment.json), without which a run still works but says what it
could not read, and the doctor's own reads. The doctor asks for the first two with
SelfSubjectAccessReview; its own reads it simply makes, and a refusal names the permission.
jobs/base/rbac-*.yaml grant exactly these (tests/cluster/test_jobs.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.contract.profiles import KUBEVIRT_GROUP, VM_PLURAL, VMI_PLURAL, Profile

HUB = "hub"  # in the hub namespace of the ComputeInstances
CLUSTER = "cluster"  # in every namespace (VMs and VMIs live in tenant namespaces)
OPERATOR = "operator"  # in the operator's namespace


@dataclass(frozen=True, order=True)
class Access:
    verb: str
    group: str
    resource: str
    """`plural` or `plural/subresource`."""
    scope: str

    def describe(self, namespaces: Mapping[str, str]) -> str:
        """`verb resource.group in <namespace>`; `namespaces` maps HUB and OPERATOR to names."""
        where = "in all namespaces" if self.scope == CLUSTER else f"in {namespaces[self.scope]}"
        name = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {name} {where}"


def required_access(profile: Profile, via: str) -> list[Access]:
    # get: the run's leak sweep asks for a recorded CR by name.
    instance_verbs = ["get", "list", "watch", "patch"] + (
        ["create", "delete"] if via == "cr" else []
    )
    rules = [Access(verb, profile.group, profile.plural, HUB) for verb in instance_verbs]
    rules += [Access(verb, KUBEVIRT_GROUP, VM_PLURAL, CLUSTER) for verb in ("list", "watch")]
    rules += [
        Access(verb, KUBEVIRT_GROUP, VMI_PLURAL, CLUSTER) for verb in ("list", "watch", "delete")
    ]
    return sorted(rules)


def evidence_access() -> list[Access]:
    """Launcher pods watched in the tenants' namespaces; a failing test's VM and VMI read again
    and the events about its objects; the operator's pods, their logs and its Deployment."""
    return sorted(
        [
            Access("get", KUBEVIRT_GROUP, VM_PLURAL, CLUSTER),
            Access("get", KUBEVIRT_GROUP, VMI_PLURAL, CLUSTER),
            Access("list", "", "pods", CLUSTER),
            Access("watch", "", "pods", CLUSTER),
            Access("list", "", "events", CLUSTER),
            Access("get", "", "pods", OPERATOR),
            Access("get", "", "pods/log", OPERATOR),
            Access("get", "apps", "deployments", OPERATOR),
        ]
    )


def doctor_access() -> list[Access]:
    """The doctor's own reads: the namespaces the suites use, KubeVirt's readiness, whether the
    operator may delete VMIs, and the fulfillment API's admin subjects."""
    return sorted(
        [
            Access("get", "", "namespaces", CLUSTER),
            Access("list", KUBEVIRT_GROUP, "kubevirts", CLUSTER),
            Access("create", "authorization.k8s.io", "subjectaccessreviews", CLUSTER),
            Access("list", "authorino.kuadrant.io", "authconfigs", CLUSTER),
        ]
    )
