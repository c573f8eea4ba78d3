"""The components' ServiceAccounts and roles, as objects: one account each, namespaced rules in
the hub namespace only, cluster-wide rules only for what spans the tenants' namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.contract.profiles import PROFILES
from harness.reference.controlplane.permissions import access_objects, service_account

USERS = {
    "controller": "system:serviceaccount:ops:controller-manager",
    "kubevirt": "system:serviceaccount:kubevirt:kubevirt-controller",
    "fulfillment": "system:serviceaccount:hub:fulfillment-controller",
}
VMS, VMIS = ["virtualmachines"], ["virtualmachineinstances"]
CLUSTER_WIDE = {
    "osac-reference-controller": [(["kubevirt.io"], VMS), (["kubevirt.io"], VMIS)],
    "osac-reference-kubevirt": [
        (["kubevirt.io"], VMIS),
        (["kubevirt.io"], VMS),
        (["kubevirt.io"], ["virtualmachines/status"]),
        ([""], ["pods"]),  # each VMI's virt-launcher pod, in the VMI's namespace
    ],
    "osac-reference-fulfillment": [(["authentication.k8s.io"], ["tokenreviews"])],
}


@pytest.mark.parametrize(
    "user", ["alice", "system:serviceaccount:only-namespace", "x:system:serviceaccount:a:b"]
)
def test_a_user_that_is_not_a_service_account_is_refused(user):
    with pytest.raises(ValueError, match="is not a service account"):
        service_account(user)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_component_gets_its_account_and_only_its_profiles_resources(profile):
    objects = access_objects(PROFILES[profile], USERS)
    kinds = [o["kind"] for o in objects]
    first_other = next(i for i, kind in enumerate(kinds) if kind != "Namespace")
    assert "Namespace" not in kinds[first_other:], "namespaces come first"
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objects
        if o["kind"] == "ServiceAccount"
    }
    assert accounts == {service_account(user) for user in USERS.values()}
    group = PROFILES[profile].group
    for role in (o for o in objects if o["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        if role["kind"] == "Role":
            assert role["metadata"]["namespace"] == PROFILES[profile].hub_namespace
            assert all(rule["apiGroups"] == [group] for rule in role["rules"]), role
        else:
            # What spans the tenants' namespaces, and TokenReview, which has no namespace.
            assert all(
                (rule["apiGroups"], rule["resources"]) in CLUSTER_WIDE[role["metadata"]["name"]]
                for rule in role["rules"]
            ), role
    bindings = [o for o in objects if o["kind"].endswith("Binding")]
    for binding in bindings:
        [subject] = binding["subjects"]
        assert subject["kind"] == "ServiceAccount"
        assert binding["roleRef"]["name"] == binding["metadata"]["name"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_no_role_shares_a_name_with_the_in_cluster_jobs_roles(profile):
    """The Job's manifests (jobs/) are applied beside the reference stack: a shared name would
    overwrite a component's role with the Job's rules."""
    objects = access_objects(PROFILES[profile], USERS)
    names = {o["metadata"]["name"] for o in objects if "Role" in o["kind"]}
    jobs = Path(__file__).resolve().parents[2] / "jobs" / "base"
    theirs = {
        doc["metadata"]["name"]
        for path in jobs.glob("rbac-*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    assert theirs and not names & theirs, names & theirs
