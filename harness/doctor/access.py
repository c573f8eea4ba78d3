"""The Kubernetes permissions the suites use — the same rules jobs/ grants, both measured from
a real run (tests/cluster/test_jobs.py compares this table with the request log as well)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.contract.profiles import KUBEVIRT_GROUP, VM_PLURAL, VMI_PLURAL, Profile

HUB = "hub"  # in the hub namespace of the ComputeInstances
CLUSTER = "cluster"  # in every namespace (VMs and VMIs live in tenant namespaces)


@dataclass(frozen=True, order=True)
class Access:
    verb: str
    group: str
    resource: str
    scope: str

    def describe(self, hub_namespace: str) -> str:
        where = f"in {hub_namespace}" if self.scope == HUB else "in all namespaces"
        return f"{self.verb} {self.resource}.{self.group} {where}"


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
