"""The reconcile order of contract §7.1/§9 over in-memory ports (no API server)."""

from datetime import UTC, datetime

import pytest

from harness.contract.profiles import CLOUDKIT, CLOUDKIT_JOBS, OSAC
from harness.reference.component_client import ApiError, NotFoundError
from harness.reference.controller.conditions import find_condition
from harness.reference.controller.provider import (
    DeprovisionAction,
    DeprovisionResult,
    ProvisionResult,
    ProvisionStatus,
)
from harness.reference.controller.reconciler import Reconciler
from tests.controller.fakes import FakeCluster, vmi

NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
HUB = "osac-computeinstance"
TENANT_NS = "tenant-harness"
P = "osac.openshift.io/"


class FakeProvider:
    name = "fake"

    def __init__(self):
        self.provisions: list[str] = []
        self.deprovisions: list[str] = []
        self.state = "Running"
        self.reconciled = ""
        self.deprovision_action = DeprovisionAction.TRIGGERED

    def trigger_provision(self, ci, vm_namespace):
        job_id = f"ref-{len(self.provisions) + 1}"
        self.provisions.append(vm_namespace)
        return ProvisionResult(job_id, "Pending", "queued")

    def get_provision_status(self, ci, job_id):
        return ProvisionStatus(job_id, self.state, "m", reconciled_version=self.reconciled)

    def trigger_deprovision(self, ci):
        self.deprovisions.append(ci["metadata"]["name"])
        return DeprovisionResult(self.deprovision_action, job_id="ref-9")

    def get_deprovision_status(self, ci, job_id):
        return ProvisionStatus(job_id, self.state, "m")


def instance(profile=OSAC, **annotations):
    spec = {"templateID": "t", "runStrategy": "Always"} if profile is OSAC else {"templateID": "t"}
    ann = {f"{profile.prefix}tenant": "tenant-harness"}
    ann.update({f"{profile.prefix}{k.replace('_', '-')}": v for k, v in annotations.items()})
    return {
        "metadata": {
            "name": "vm-1",
            "namespace": profile.hub_namespace,
            "generation": 2,
            "uid": "u1",
            "annotations": ann,
        },
        "spec": spec,
    }


def vm(printable="Running", ready=True, profile=OSAC, restart_required=False):
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if restart_required:
        conditions.append({"type": "RestartRequired", "status": "True"})
    return {
        "metadata": {
            "name": "vm-1",
            "namespace": TENANT_NS,
            "labels": {f"{profile.prefix}computeinstance": "vm-1"},
        },
        "status": {"printableStatus": printable, "conditions": conditions},
    }


def setup(profile=OSAC, tenant_phase="Ready", ci=None, with_vm=True):
    cluster = FakeCluster()
    hub = profile.hub_namespace
    cluster.tenants[(hub, "tenant-harness")] = {
        "metadata": {"name": "tenant-harness", "namespace": hub},
        "status": {"phase": tenant_phase, "namespace": TENANT_NS},
    }
    cluster.add_instance(ci or instance(profile))
    if with_vm:
        cluster.vms[(TENANT_NS, "vm-1")] = vm(profile=profile)
        cluster.vmis[(TENANT_NS, "vm-1")] = vmi("2026-03-01T09:00:00Z")
    provider = FakeProvider()
    reconciler = Reconciler(profile, cluster, hub, provider, poll_interval=30, clock=lambda: NOW)
    return cluster, provider, reconciler


def stored(cluster, profile=OSAC):
    return cluster.instances[(profile.hub_namespace, "vm-1")]


def cond(obj, ctype):
    return find_condition(obj.get("status") or {}, ctype)


def test_unmanaged_instance_is_ignored_entirely():
    cluster, _provider, reconciler = setup(ci=instance(management_state="unmanaged"))
    outcome = reconciler.reconcile(HUB, "vm-1")
    assert outcome.error is None and outcome.requeue_after == 0
    assert cluster.updates == [] and cluster.status_writes == []


def test_missing_instance_is_done():
    _cluster, _, reconciler = setup()
    assert reconciler.reconcile(HUB, "other").error is None


def test_first_pass_adds_finalizer_initialises_and_observes_the_vm():
    cluster, provider, reconciler = setup()
    outcome = reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert P + "computeinstance" in obj["metadata"]["finalizers"]
    status = obj["status"]
    assert status["phase"] == "Running"
    assert status["virtualMachineReference"] == {
        "namespace": TENANT_NS,
        "kubeVirtVirtualMachineName": "vm-1",
    }
    assert status["tenantReference"] == {"name": "tenant-harness", "namespace": HUB}
    assert status["ipAddress"] == "10.128.0.7"
    assert cond(obj, "Available")["status"] == "True"
    assert cond(obj, "Provisioned")["status"] == "True"
    assert cond(obj, "RestartRequired")["status"] == "False"
    assert cond(obj, "ConfigurationApplied")["status"] == "False"
    assert cond(obj, "ConfigurationApplied")["message"] == "Applying configuration"
    assert len(status["desiredConfigVersion"]) == 16
    # desired != reconciled: a provision job is recorded, poll later
    assert provider.provisions == [TENANT_NS]
    assert status["jobs"][0]["jobID"] == "ref-1"
    assert status["jobs"][0]["type"] == "provision"
    assert status["jobs"][0]["state"] == "Pending"
    assert outcome.requeue_after == 30
    assert len(cluster.status_writes) == 1


def test_no_vm_means_starting_and_three_false_conditions():
    cluster, _, reconciler = setup(with_vm=False)
    reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert obj["status"]["phase"] == "Starting"
    for ctype in ("Available", "Provisioned", "RestartRequired"):
        assert cond(obj, ctype)["status"] == "False"
        assert cond(obj, ctype)["reason"] == "AsExpected"
    assert "virtualMachineReference" not in obj["status"]


def test_missing_tenant_annotation_is_an_error_and_status_is_still_written():
    ci = instance()
    del ci["metadata"]["annotations"][P + "tenant"]
    cluster, provider, reconciler = setup(ci=ci)
    outcome = reconciler.reconcile(HUB, "vm-1")
    assert outcome.error is not None
    obj = stored(cluster)
    assert obj["status"]["phase"] == "Starting"
    assert cond(obj, "Available")["reason"] == "Initialized"
    assert provider.provisions == []


def test_missing_tenant_object_is_an_error():
    cluster, _, reconciler = setup()
    cluster.tenants.clear()
    assert isinstance(reconciler.reconcile(HUB, "vm-1").error, NotFoundError)


def test_tenant_not_ready_requeues_after_ten_seconds_without_restart():
    ci = instance()
    ci["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    cluster, _, reconciler = setup(tenant_phase="Progressing", ci=ci)
    outcome = reconciler.reconcile(HUB, "vm-1")
    assert outcome.requeue_after == 10 and outcome.error is None
    assert cluster.deleted == []
    assert cond(stored(cluster), "RestartFailed") is None


def test_two_vms_is_an_error():
    cluster, _, reconciler = setup()
    cluster.vms[(TENANT_NS, "vm-2")] = vm()
    outcome = reconciler.reconcile(HUB, "vm-1")
    assert "found too many (2) matching KubeVirt VMs for vm-1" in str(outcome.error)


@pytest.mark.parametrize(
    ("printable", "phase", "provisioned"),
    [
        ("Provisioning", "Starting", "False"),
        ("Stopping", "Stopping", "True"),
        ("Stopped", "Stopped", "True"),
    ],
)
def test_phase_and_provisioned_follow_printable_status(printable, phase, provisioned):
    cluster, _, reconciler = setup()
    cluster.vms[(TENANT_NS, "vm-1")] = vm(printable=printable, ready=False)
    reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert obj["status"]["phase"] == phase
    assert cond(obj, "Provisioned")["status"] == provisioned
    assert cond(obj, "Available")["status"] == "False"


def test_restart_required_mirrors_the_vm_condition():
    cluster, _, reconciler = setup()
    cluster.vms[(TENANT_NS, "vm-1")] = vm(restart_required=True)
    reconciler.reconcile(HUB, "vm-1")
    assert cond(stored(cluster), "RestartRequired")["status"] == "True"


def test_restart_runs_before_provisioning_in_the_same_pass():
    ci = instance()
    ci["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    cluster, provider, reconciler = setup(ci=ci)
    reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert cluster.deleted == [(TENANT_NS, "vm-1")]
    assert cond(obj, "RestartInProgress")["message"] == "Restart initiated at 2026-03-01T10:00:00Z"
    assert cond(obj, "RestartInProgress")["observedGeneration"] == 2
    assert provider.provisions == [TENANT_NS]


def test_vmi_delete_failure_writes_status_and_returns_the_error_before_provisioning():
    ci = instance()
    ci["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    cluster, provider, reconciler = setup(ci=ci)
    cluster.delete_error = ApiError(403, "forbidden")
    outcome = reconciler.reconcile(HUB, "vm-1")
    assert outcome.error is cluster.delete_error
    obj = stored(cluster)
    assert cond(obj, "RestartFailed")["message"] == "Failed to delete VMI: forbidden"
    assert "desiredConfigVersion" not in obj["status"]
    assert provider.provisions == []


def test_reconciled_annotation_applies_configuration_and_skips_provisioning():
    cluster, provider, reconciler = setup()
    reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    obj["status"]["jobs"][0]["state"] = "Succeeded"
    obj["metadata"]["annotations"][P + "reconciled-config-version"] = obj["status"][
        "desiredConfigVersion"
    ]
    outcome = reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert outcome.requeue_after == 0
    assert cond(obj, "ConfigurationApplied")["status"] == "True"
    assert obj["status"]["reconciledConfigVersion"] == obj["status"]["desiredConfigVersion"]
    assert provider.provisions == [TENANT_NS]


def test_running_job_is_polled_and_success_records_the_version():
    cluster, provider, reconciler = setup()
    reconciler.reconcile(HUB, "vm-1")
    provider.state = "Running"
    assert reconciler.reconcile(HUB, "vm-1").requeue_after == 30
    assert stored(cluster)["status"]["jobs"][0]["state"] == "Running"
    provider.state = "Succeeded"
    provider.reconciled = "abc"
    assert reconciler.reconcile(HUB, "vm-1").requeue_after == 0
    status = stored(cluster)["status"]
    assert status["jobs"][0]["state"] == "Succeeded"
    assert status["reconciledConfigVersion"] == "abc"
    assert provider.provisions == [TENANT_NS]


def test_failed_first_provisioning_fails_the_instance():
    cluster, provider, reconciler = setup(with_vm=False)
    reconciler.reconcile(HUB, "vm-1")
    provider.state = "Failed"
    reconciler.reconcile(HUB, "vm-1")
    assert stored(cluster)["status"]["phase"] == "Failed"


def test_manual_management_skips_provisioning_but_restarts():
    ci = instance(management_state="manual")
    ci["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    cluster, provider, reconciler = setup(ci=ci)
    reconciler.reconcile(HUB, "vm-1")
    assert cluster.deleted == [(TENANT_NS, "vm-1")]
    assert provider.provisions == []


def test_unchanged_status_is_not_written_again():
    cluster, _provider, reconciler = setup()
    reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    obj["metadata"]["annotations"][P + "reconciled-config-version"] = obj["status"][
        "desiredConfigVersion"
    ]
    obj["status"]["jobs"][0]["state"] = "Succeeded"
    reconciler.reconcile(HUB, "vm-1")
    writes = len(cluster.status_writes)
    reconciler.reconcile(HUB, "vm-1")
    assert len(cluster.status_writes) == writes


def deleting(cluster, profile=OSAC, finalizers=None):
    obj = stored(cluster, profile)
    obj["metadata"]["deletionTimestamp"] = "2026-03-01T10:00:00Z"
    if finalizers is not None:
        obj["metadata"]["finalizers"] = finalizers


def test_delete_path_triggers_deprovision_then_removes_the_finalizer():
    ci = instance()
    ci["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    cluster, provider, reconciler = setup(ci=ci)
    deleting(cluster, finalizers=[P + "computeinstance", P + "computeinstance-aap"])
    outcome = reconciler.reconcile(HUB, "vm-1")
    obj = stored(cluster)
    assert obj["status"]["phase"] == "Deleting"
    assert cluster.deleted == []  # restart is not evaluated on deleting CRs
    assert obj["status"]["jobs"][-1]["type"] == "deprovision"
    assert obj["status"]["jobs"][-1]["message"] == "Deprovisioning job triggered"
    assert outcome.requeue_after == 30
    provider.state = "Succeeded"
    cluster.instances[(HUB, "vm-1")]["metadata"]["finalizers"] = [P + "computeinstance"]
    reconciler.reconcile(HUB, "vm-1")
    assert (HUB, "vm-1") not in cluster.instances


def test_delete_without_aap_finalizer_is_skipped_by_the_provider():
    cluster, provider, reconciler = setup()
    provider.deprovision_action = DeprovisionAction.SKIPPED
    deleting(cluster, finalizers=[P + "computeinstance"])
    reconciler.reconcile(HUB, "vm-1")
    assert (HUB, "vm-1") not in cluster.instances


# profile A


def test_profile_a_initial_conditions_and_progressing_phase():
    cluster, provider, reconciler = setup(profile=CLOUDKIT, ci=instance(CLOUDKIT))
    outcome = reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    obj = stored(cluster, CLOUDKIT)
    status = obj["status"]
    assert CLOUDKIT.prefix + "computeinstance" in obj["metadata"]["finalizers"]
    assert status["phase"] == "Progressing"
    assert cond(obj, "Accepted")["status"] == "True"
    assert cond(obj, "Accepted")["reason"] == "AsExpected"
    assert cond(obj, "Deleting")["status"] == "False"
    assert cond(obj, "Progressing")["message"] == "Applying configuration"
    assert cond(obj, "Available")["status"] == "True"
    assert "jobs" not in status and "ipAddress" not in status
    assert provider.provisions == [TENANT_NS]
    assert outcome.requeue_after == 0


def test_profile_a_ready_once_reconciled():
    cluster, _provider, reconciler = setup(profile=CLOUDKIT, ci=instance(CLOUDKIT))
    reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    obj = stored(cluster, CLOUDKIT)
    obj["metadata"]["annotations"][CLOUDKIT.prefix + "reconciled-config-version"] = obj["status"][
        "desiredConfigVersion"
    ]
    reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    obj = stored(cluster, CLOUDKIT)
    assert obj["status"]["phase"] == "Ready"
    assert cond(obj, "Progressing")["status"] == "False"


def test_profile_a_tenant_not_ready_does_not_requeue():
    _cluster, _, reconciler = setup(profile=CLOUDKIT, ci=instance(CLOUDKIT), tenant_phase="X")
    outcome = reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    assert outcome.requeue_after == 0 and outcome.error is None


def test_profile_a_delete_fires_deprovision_while_aap_finalizer_exists():
    cluster, provider, reconciler = setup(profile=CLOUDKIT, ci=instance(CLOUDKIT))
    deleting(
        cluster,
        CLOUDKIT,
        finalizers=[CLOUDKIT.prefix + "computeinstance", CLOUDKIT.prefix + "computeinstance-aap"],
    )
    reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    assert provider.deprovisions == ["vm-1"]
    assert stored(cluster, CLOUDKIT)["status"]["phase"] == "Deleting"
    cluster.instances[(CLOUDKIT.hub_namespace, "vm-1")]["metadata"]["finalizers"] = [
        CLOUDKIT.prefix + "computeinstance"
    ]
    reconciler.reconcile(CLOUDKIT.hub_namespace, "vm-1")
    assert (CLOUDKIT.hub_namespace, "vm-1") not in cluster.instances


# profile A2 (cloudkit-jobs, 36ae96c): era A's reconciler, renamed phases, jobs in status


def reconciled(cluster, profile):
    obj = stored(cluster, profile)
    obj["metadata"]["annotations"][profile.reconciled_config_version_annotation] = obj["status"][
        "desiredConfigVersion"
    ]


def test_profile_a2_starts_with_era_a_conditions_and_a_provision_job():
    cluster, _provider, reconciler = setup(profile=CLOUDKIT_JOBS, ci=instance(CLOUDKIT_JOBS))
    outcome = reconciler.reconcile(CLOUDKIT_JOBS.hub_namespace, "vm-1")
    obj = stored(cluster, CLOUDKIT_JOBS)
    assert obj["status"]["phase"] == "Starting"
    assert [c["type"] for c in obj["status"]["conditions"]] == [
        "Accepted",
        "Deleting",
        "Progressing",
        "Available",
    ]
    assert cond(obj, "Progressing")["status"] == "True"
    assert cond(obj, "Progressing")["message"] == "Applying configuration"
    (job,) = obj["status"]["jobs"]
    assert (job["jobID"], job["type"], job["state"]) == ("ref-1", "provision", "Pending")
    assert job["timestamp"] == "2026-03-01T10:00:00Z"
    assert outcome.requeue_after == 30


def test_profile_a2_runs_once_reconciled_and_keeps_polling_an_unfinished_job():
    cluster, provider, reconciler = setup(profile=CLOUDKIT_JOBS, ci=instance(CLOUDKIT_JOBS))
    hub = CLOUDKIT_JOBS.hub_namespace
    reconciler.reconcile(hub, "vm-1")
    reconciled(cluster, CLOUDKIT_JOBS)
    provider.state = "Unknown"  # EDA answers every poll with Unknown
    outcome = reconciler.reconcile(hub, "vm-1")
    obj = stored(cluster, CLOUDKIT_JOBS)
    assert obj["status"]["phase"] == "Running"
    assert cond(obj, "Progressing")["status"] == "False"
    assert obj["status"]["jobs"][0]["state"] == "Unknown"
    assert outcome.requeue_after == 30


def test_profile_a2_new_config_version_polls_the_old_job_instead_of_starting_one():
    """36ae96c triggers a provision job only when there is none: a restart request changes the
    config version, the phase goes back to Starting and stays there (no new job runs)."""
    cluster, provider, reconciler = setup(profile=CLOUDKIT_JOBS, ci=instance(CLOUDKIT_JOBS))
    hub = CLOUDKIT_JOBS.hub_namespace
    reconciler.reconcile(hub, "vm-1")
    reconciled(cluster, CLOUDKIT_JOBS)
    provider.state = "Succeeded"
    reconciler.reconcile(hub, "vm-1")
    assert stored(cluster, CLOUDKIT_JOBS)["status"]["phase"] == "Running"
    stored(cluster, CLOUDKIT_JOBS)["spec"]["restartRequestedAt"] = "2026-03-01T10:00:00Z"
    reconciler.reconcile(hub, "vm-1")
    obj = stored(cluster, CLOUDKIT_JOBS)
    assert obj["status"]["phase"] == "Starting"
    assert cond(obj, "Progressing")["status"] == "True"
    assert [job["jobID"] for job in obj["status"]["jobs"]] == ["ref-1"]
    assert provider.provisions == [TENANT_NS]
    assert cluster.deleted == [(TENANT_NS, "vm-1")]  # the restart itself ran


def test_profile_a2_failed_job_fails_the_instance_even_with_a_vm():
    cluster, provider, reconciler = setup(profile=CLOUDKIT_JOBS, ci=instance(CLOUDKIT_JOBS))
    hub = CLOUDKIT_JOBS.hub_namespace
    reconciler.reconcile(hub, "vm-1")
    provider.state = "Failed"
    reconciler.reconcile(hub, "vm-1")
    obj = stored(cluster, CLOUDKIT_JOBS)
    assert obj["status"]["virtualMachineReference"]["kubeVirtVirtualMachineName"] == "vm-1"
    assert obj["status"]["phase"] == "Failed"


def test_profile_b_failed_job_leaves_the_phase_to_the_vm():
    cluster, provider, reconciler = setup()
    reconciler.reconcile(HUB, "vm-1")
    provider.state = "Failed"
    reconciler.reconcile(HUB, "vm-1")
    assert stored(cluster)["status"]["phase"] == "Running"


def test_profile_a2_delete_records_a_deprovision_job():
    cluster, provider, reconciler = setup(profile=CLOUDKIT_JOBS, ci=instance(CLOUDKIT_JOBS))
    hub = CLOUDKIT_JOBS.hub_namespace
    p = CLOUDKIT_JOBS.prefix
    deleting(cluster, CLOUDKIT_JOBS, finalizers=[p + "computeinstance", p + "computeinstance-aap"])
    reconciler.reconcile(hub, "vm-1")
    obj = stored(cluster, CLOUDKIT_JOBS)
    assert obj["status"]["phase"] == "Deleting"
    assert (obj["status"]["jobs"][-1]["type"], obj["status"]["jobs"][-1]["state"]) == (
        "deprovision",
        "Pending",
    )
    provider.state = "Succeeded"
    cluster.instances[(hub, "vm-1")]["metadata"]["finalizers"] = [p + "computeinstance"]
    reconciler.reconcile(hub, "vm-1")
    assert (hub, "vm-1") not in cluster.instances
