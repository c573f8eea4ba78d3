"""The reference controller with the simulated KubeVirt and the embedded API server, all real
processes on real sockets, driven with the official client (profile B, then profile A)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kubernetes import client as k8s

from harness.contract.profiles import CLOUDKIT, CLOUDKIT_JOBS, OSAC, Profile
from harness.contract.timestamps import format_rfc3339, now_utc, parse_rfc3339
from harness.reference.component_client import Resource, translated_errors
from harness.reference.stack import TENANT
from tests.kubevirt.cluster import (
    Recorder,
    api_server,
    component,
    kubevirt_recorders,
)

pytestmark = [pytest.mark.slow]
WAIT = 20.0


def start_stack(workdir: Path, profile: Profile, *controller_args: str) -> Iterator[dict]:
    with api_server(workdir, profile) as api:
        kubeconfig = str(api.kubeconfig)
        sim_args = ["--kubeconfig", kubeconfig]
        with component("kubevirt", "harness.reference.kubevirt", sim_args, workdir) as sim:
            ctl_args = [
                *("--kubeconfig", kubeconfig, "--profile", profile.name, "-v"),
                *controller_args,
            ]
            with component("controller", "harness.reference.controller", ctl_args, workdir) as ctl:
                api_client = api.client()
                instances = Recorder(
                    api_client,
                    Resource(profile.group, profile.version, profile.plural, profile.hub_namespace),
                ).start()
                vms, vmis = kubevirt_recorders(api_client, TENANT)
                try:
                    yield {
                        "api": k8s.CustomObjectsApi(api_client),
                        "profile": profile,
                        "cis": instances,
                        "vms": vms,
                        "vmis": vmis,
                    }
                finally:
                    for recorder in (instances, vms, vmis):
                        recorder.stop()
                    assert ctl.poll() is None, f"controller died:\n{ctl.log_tail()}"
                    assert sim.poll() is None, f"simulator died:\n{sim.log_tail()}"


@pytest.fixture(scope="module")
def osac(tmp_path_factory) -> Iterator[dict]:
    yield from start_stack(tmp_path_factory.mktemp("controller-osac"), OSAC)


@pytest.fixture(scope="module")
def cloudkit(tmp_path_factory) -> Iterator[dict]:
    yield from start_stack(tmp_path_factory.mktemp("controller-cloudkit"), CLOUDKIT)


@pytest.fixture(scope="module", params=["eda", "aap"])
def cloudkit_jobs(request, tmp_path_factory) -> Iterator[dict]:
    """Profile A2 with jobs read as the EDA or the AAP provider records them; provisioning takes
    long enough that a delete can land while it runs."""
    workdir = tmp_path_factory.mktemp(f"controller-a2-{request.param}")
    args = ("--provider", request.param, "--provision-delay", "2")
    for stack in start_stack(workdir, CLOUDKIT_JOBS, *args):
        yield {**stack, "style": request.param}


# helpers


def create_ci(stack: dict, name: str, tenant: bool = True, **spec) -> dict:
    profile: Profile = stack["profile"]
    body_spec: dict = {"templateID": "osac.templates.ocp_virt_vm"}
    if profile.explicit_spec_fields:
        body_spec |= {
            "image": {
                "sourceType": "registry",
                "sourceRef": "quay.io/containerdisks/fedora:latest",
            },
            "cores": 2,
            "memoryGiB": 4,
            "bootDisk": {"sizeGiB": 20},
            "runStrategy": "Always",
        }
    body_spec |= spec
    annotations = {profile.tenant_annotation: TENANT} if tenant else {}
    body = {
        "apiVersion": profile.api_version,
        "kind": profile.kind,
        "metadata": {"name": name, "namespace": profile.hub_namespace, "annotations": annotations},
        "spec": body_spec,
    }
    with translated_errors():
        return stack["api"].create_namespaced_custom_object(
            profile.group, profile.version, profile.hub_namespace, profile.plural, body
        )


def patch_spec(stack: dict, name: str, spec: dict) -> None:
    profile: Profile = stack["profile"]
    with translated_errors():
        stack["api"].patch_namespaced_custom_object(
            profile.group, profile.version, profile.hub_namespace, profile.plural, name,
            {"spec": spec},
        )  # fmt: skip


def delete_ci(stack: dict, name: str) -> None:
    profile: Profile = stack["profile"]
    with translated_errors():
        stack["api"].delete_namespaced_custom_object(
            profile.group, profile.version, profile.hub_namespace, profile.plural, name
        )


def wait_ci(stack: dict, name: str, predicate, what: str, timeout: float = WAIT) -> dict:
    profile: Profile = stack["profile"]
    return stack["cis"].wait(profile.hub_namespace, name, predicate, timeout, what)


def status(obj) -> dict:
    return (obj or {}).get("status") or {}


def condition(obj, ctype: str) -> dict | None:
    return next((c for c in status(obj).get("conditions") or [] if c["type"] == ctype), None)


def phase_is(value: str):
    return lambda obj: status(obj).get("phase") == value


def settled(profile: Profile):
    """Running with configuration applied and no provision job in flight (an EDA job is never
    seen to end)."""

    def check(obj) -> bool:
        if not phase_is(profile.phases.running)(obj):
            return False
        if profile.conditions.configuration_applied is None:
            jobs = status(obj).get("jobs") or []
            if jobs and jobs[-1]["state"] not in ("Succeeded", "Unknown"):
                return False
            return (condition(obj, "Progressing") or {}).get("status") == "False"
        applied = condition(obj, profile.conditions.configuration_applied) or {}
        jobs = status(obj).get("jobs") or []
        return applied.get("status") == "True" and bool(jobs) and jobs[-1]["state"] == "Succeeded"

    return check


def running_instance(stack: dict, name: str, **spec) -> dict:
    profile: Profile = stack["profile"]
    create_ci(stack, name, **spec)
    return wait_ci(stack, name, settled(profile), f"{name} settled")


def vmi_of(stack: dict, name: str, other_than: str = "") -> dict:
    """The Running VMI (`other_than` a UID: a new one), waited for on the VMIs' own watch,
    which is not ordered with the CRs'."""

    def running(o) -> bool:
        return (
            o is not None
            and status(o).get("phase") == "Running"
            and o["metadata"]["uid"] != other_than
        )

    return stack["vmis"].wait(TENANT, name, running, WAIT, f"a Running VMI other than {other_than}")


def vm_of(stack: dict, name: str) -> dict:
    return stack["vms"].wait(TENANT, name, lambda o: o is not None, WAIT, "the VM")


def next_second_request() -> str:
    """A whole-second request for the current second (like the peers' `date -u`)."""
    return format_rfc3339(now_utc())


# profile B


def test_direct_cr_gets_finalizer_conditions_vm_and_running(osac):
    profile = OSAC
    obj = running_instance(osac, "ci-create")
    assert profile.finalizer in obj["metadata"]["finalizers"]
    assert profile.aap_finalizer in obj["metadata"]["finalizers"]
    annotations = obj["metadata"]["annotations"]
    assert (
        annotations[profile.reconciled_config_version_annotation]
        == status(obj)["desiredConfigVersion"]
    )
    st = status(obj)
    assert st["virtualMachineReference"] == {
        "namespace": TENANT,
        "kubeVirtVirtualMachineName": "ci-create",
    }
    assert st["tenantReference"] == {"name": TENANT, "namespace": profile.hub_namespace}
    for ctype, expected in [
        ("ConfigurationApplied", "True"),
        ("Available", "True"),
        ("Provisioned", "True"),
        ("RestartRequired", "False"),
    ]:
        assert condition(obj, ctype)["status"] == expected, ctype
    assert condition(obj, "RestartInProgress") is None
    jobs = st["jobs"]
    assert jobs[-1]["type"] == "provision" and jobs[-1]["state"] == "Succeeded"
    assert jobs[-1]["jobID"].startswith("ref-")
    vmi = vmi_of(osac, "ci-create")
    obj = wait_ci(osac, "ci-create", lambda o: bool(status(o).get("ipAddress")), "ipAddress")
    assert status(obj)["ipAddress"] == vmi["status"]["interfaces"][0]["ipAddress"]
    vm = vm_of(osac, "ci-create")
    assert vm["metadata"]["labels"] == {profile.instance_name_label: "ci-create"}
    assert vm["spec"]["runStrategy"] == "Always"
    assert vm["spec"]["template"]["metadata"]["labels"] == {
        profile.instance_name_label: "ci-create"
    }
    states = [
        j["state"]
        for _, o in osac["cis"].history(profile.hub_namespace, "ci-create")
        for j in status(o).get("jobs") or []
        if j["jobID"] == jobs[-1]["jobID"]
    ]
    assert states[0] == "Pending" and states[-1] == "Succeeded"


def test_restart_deletes_vmi_and_completes_with_exact_copy(osac):
    profile = OSAC
    running_instance(osac, "ci-restart")
    old = vmi_of(osac, "ci-restart")
    request = next_second_request()
    patch_spec(osac, "ci-restart", {"restartRequestedAt": request})
    obj = wait_ci(
        osac,
        "ci-restart",
        lambda o: status(o).get("lastRestartedAt") == request,
        "lastRestartedAt == request",
    )
    assert condition(obj, "RestartInProgress") is None
    assert condition(obj, "RestartFailed") is None
    history = osac["cis"].history(profile.hub_namespace, "ci-restart")
    messages = {(condition(o, "RestartInProgress") or {}).get("message") for _, o in history}
    assert f"Restart initiated at {request}" in messages
    in_progress = next(
        condition(o, "RestartInProgress") for _, o in history if condition(o, "RestartInProgress")
    )
    assert in_progress["reason"] == "RestartInProgress"
    assert in_progress["observedGeneration"] == obj["metadata"]["generation"]
    new = vmi_of(osac, "ci-restart", other_than=old["metadata"]["uid"])
    assert parse_rfc3339(new["metadata"]["creationTimestamp"]) > parse_rfc3339(request)
    # The request re-runs provisioning; it settles again.
    wait_ci(
        osac,
        "ci-restart",
        lambda o: (
            phase_is("Running")(o) and condition(o, "ConfigurationApplied")["status"] == "True"
        ),
        "re-provisioned",
    )


def test_stale_request_is_ignored(osac):
    running_instance(osac, "ci-stale")
    request = next_second_request()
    patch_spec(osac, "ci-stale", {"restartRequestedAt": request})
    wait_ci(osac, "ci-stale", lambda o: status(o).get("lastRestartedAt") == request, "restart")
    settled = wait_ci(
        osac,
        "ci-stale",
        lambda o: (
            condition(o, "ConfigurationApplied")["status"] == "True" and phase_is("Running")(o)
        ),
        "settled",
    )
    vmi = vmi_of(osac, "ci-stale")
    patch_spec(osac, "ci-stale", {"restartRequestedAt": "2020-01-01T00:00:00Z"})
    # The stale value still changes the config hash: wait for that pass to be applied, then
    # check nothing restarted.
    obj = wait_ci(
        osac,
        "ci-stale",
        lambda o: (
            status(o).get("desiredConfigVersion") != status(settled)["desiredConfigVersion"]
            and condition(o, "ConfigurationApplied")["status"] == "True"
        ),
        "stale request reconciled",
    )
    assert status(obj)["lastRestartedAt"] == request
    assert condition(obj, "RestartInProgress") is None
    assert osac["vmis"].get(TENANT, "ci-stale")["metadata"]["uid"] == vmi["metadata"]["uid"]


def test_restart_without_vm_fails_with_no_vm_reference(osac):
    profile = OSAC
    # A Halted-then-missing VM is hard to arrange; a CR whose provisioning is "manual" never
    # gets a VM, so the restart meets no VM reference.
    create_ci(osac, "ci-novm")
    body = {"metadata": {"annotations": {profile.management_state_annotation: "manual"}}}
    with translated_errors():
        osac["api"].patch_namespaced_custom_object(
            profile.group, profile.version, profile.hub_namespace, profile.plural, "ci-novm", body
        )
    wait_ci(osac, "ci-novm", lambda o: bool(condition(o, "Available")), "initialised")
    request = next_second_request()
    patch_spec(osac, "ci-novm", {"restartRequestedAt": request})
    obj = wait_ci(
        osac,
        "ci-novm",
        lambda o: (condition(o, "RestartFailed") or {}).get("status") == "True",
        "RestartFailed",
    )
    failed = condition(obj, "RestartFailed")
    assert failed["reason"] == "NoVMReference"
    assert failed["message"] == "No VirtualMachine reference found"
    assert "lastRestartedAt" not in status(obj)


def test_halted_and_always_reach_kubevirt(osac):
    running_instance(osac, "ci-halt")
    first = vmi_of(osac, "ci-halt")
    patch_spec(osac, "ci-halt", {"runStrategy": "Halted"})
    wait_ci(osac, "ci-halt", phase_is("Stopped"), "phase Stopped")
    # The VM's own watch is not ordered with the CR's: wait for it to show what the CR showed.
    vm = osac["vms"].wait(
        TENANT,
        "ci-halt",
        lambda obj: ((obj or {}).get("status") or {}).get("printableStatus") == "Stopped",
        WAIT,
        "VM printableStatus Stopped",
    )
    assert vm["spec"]["runStrategy"] == "Halted"
    osac["vmis"].wait(TENANT, "ci-halt", lambda obj: obj is None, WAIT, "no VMI")
    patch_spec(osac, "ci-halt", {"runStrategy": "Always"})
    wait_ci(osac, "ci-halt", phase_is("Running"), "phase Running again")
    vmi_of(osac, "ci-halt", other_than=first["metadata"]["uid"])


def test_restart_of_a_halted_vm_waits_for_the_vmi(osac):
    create_ci(osac, "ci-halted", runStrategy="Halted")
    wait_ci(
        osac,
        "ci-halted",
        lambda o: (
            phase_is("Stopped")(o)
            and (condition(o, "ConfigurationApplied") or {}).get("status") == "True"
        ),
        "Stopped with configuration applied",
    )
    # A past request (still newer than the absent lastRestartedAt) keeps the outcome
    # independent of which second the VMI is created in later.
    request = format_rfc3339(now_utc() - timedelta(seconds=5))
    patch_spec(osac, "ci-halted", {"restartRequestedAt": request})
    obj = wait_ci(
        osac,
        "ci-halted",
        lambda o: (condition(o, "RestartInProgress") or {}).get("status") == "True",
        "RestartInProgress",
    )
    assert condition(obj, "RestartInProgress")["message"] == (
        f"Waiting for VMI to be created (restart requested at {request})"
    )
    assert condition(obj, "RestartFailed") is None
    assert osac["vmis"].get(TENANT, "ci-halted") is None
    patch_spec(osac, "ci-halted", {"runStrategy": "Always"})
    obj = wait_ci(
        osac, "ci-halted", lambda o: status(o).get("lastRestartedAt") == request, "completion"
    )
    assert condition(obj, "RestartInProgress") is None


def test_deletion_removes_vm_vmi_and_cr(osac):
    profile = OSAC
    running_instance(osac, "ci-delete")
    delete_ci(osac, "ci-delete")
    osac["cis"].wait(profile.hub_namespace, "ci-delete", lambda o: o is None, WAIT, "CR gone")
    osac["vms"].wait(TENANT, "ci-delete", lambda o: o is None, WAIT, "VM gone")
    osac["vmis"].wait(TENANT, "ci-delete", lambda o: o is None, WAIT, "VMI gone")
    history = osac["cis"].history(profile.hub_namespace, "ci-delete")
    assert "Deleting" in {status(o).get("phase") for _, o in history}
    jobs = [j for _, o in history for j in status(o).get("jobs") or []]
    # The CR is gone before the job's final state could be written (as with the operator).
    assert any(j["type"] == "deprovision" for j in jobs)


def test_missing_tenant_annotation_never_restarts(osac):
    create_ci(osac, "ci-notenant", tenant=False)
    obj = wait_ci(osac, "ci-notenant", lambda o: bool(status(o).get("conditions")), "initialised")
    assert status(obj)["phase"] == "Starting"
    assert osac["vms"].get(TENANT, "ci-notenant") is None


# profile A


def test_profile_a_create_restart_delete(cloudkit):
    profile = CLOUDKIT
    obj = running_instance(cloudkit, "ci-a")
    assert condition(obj, "Accepted")["status"] == "True"
    assert condition(obj, "Progressing")["status"] == "False"
    assert condition(obj, "Available")["status"] == "True"
    vm = vm_of(cloudkit, "ci-a")
    assert vm["spec"]["running"] is True and "runStrategy" not in vm["spec"]
    old = vmi_of(cloudkit, "ci-a")
    request = next_second_request()
    patch_spec(cloudkit, "ci-a", {"restartRequestedAt": request})
    obj = wait_ci(
        cloudkit, "ci-a", lambda o: status(o).get("lastRestartedAt") == request, "restart"
    )
    assert condition(obj, "RestartInProgress") is None
    vmi_of(cloudkit, "ci-a", other_than=old["metadata"]["uid"])
    delete_ci(cloudkit, "ci-a")
    cloudkit["cis"].wait(profile.hub_namespace, "ci-a", lambda o: o is None, WAIT, "CR gone")
    cloudkit["vms"].wait(TENANT, "ci-a", lambda o: o is None, WAIT, "VM gone")


# profile A2: jobs as the EDA or AAP provider records them (contract §4, §9.3, §9.5)

EDA_POLLED = ("Unknown", "EDA provider does not support status polling")


def jobs_of(obj) -> list[dict]:
    return list(status(obj).get("jobs") or [])


def test_profile_a2_jobs_read_as_the_provider_records_them(cloudkit_jobs):
    stack, style = cloudkit_jobs, cloudkit_jobs["style"]
    profile = CLOUDKIT_JOBS
    obj = running_instance(stack, "ci-jobs")
    (job,) = jobs_of(obj)
    assert job["type"] == "provision"
    parse_rfc3339(job["timestamp"])
    if style == "eda":
        assert job["jobID"] == "eda-webhook-1"
        assert (job["state"], job["message"]) == EDA_POLLED
        assert "blockDeletionOnFailure" not in job
    else:
        assert job["jobID"].isdigit()
        assert (job["state"], job["message"]) == ("Succeeded", "successful")
    # A restart changes the config version: the phase goes back to Starting and no new job
    # starts (36ae96c polls the one it has).
    request = next_second_request()
    patch_spec(stack, "ci-jobs", {"restartRequestedAt": request})
    obj = wait_ci(
        stack, "ci-jobs", lambda o: status(o).get("lastRestartedAt") == request, "restart"
    )
    obj = wait_ci(stack, "ci-jobs", phase_is("Starting"), "Starting after the restart")
    assert [j["jobID"] for j in jobs_of(obj)] == [job["jobID"]]
    delete_ci(stack, "ci-jobs")
    deleting = wait_ci(
        stack,
        "ci-jobs",
        lambda o: o is None or any(j["type"] == "deprovision" for j in jobs_of(o)),
        "a deprovision job",
    )
    assert deleting is not None, "the CR went before a deprovision job was recorded"
    deprovision = jobs_of(deleting)[-1]
    assert deprovision["type"] == "deprovision"
    if style == "eda":
        assert deprovision["jobID"] == "eda-webhook-2"
        assert "blockDeletionOnFailure" not in deprovision
    else:
        assert int(deprovision["jobID"]) > int(job["jobID"])
        assert deprovision["blockDeletionOnFailure"] is True
    stack["cis"].wait(profile.hub_namespace, "ci-jobs", lambda o: o is None, WAIT, "CR gone")
    stack["vms"].wait(TENANT, "ci-jobs", lambda o: o is None, WAIT, "VM gone")


def test_profile_a2_delete_while_provisioning(cloudkit_jobs):
    """AAP cancels the running provision job before it deprovisions; EDA leaves the provision
    job as last polled (Unknown). Either way nothing is left."""
    stack, style = cloudkit_jobs, cloudkit_jobs["style"]
    create_ci(stack, "ci-early")
    wait_ci(stack, "ci-early", lambda o: bool(jobs_of(o)), "a provision job")
    delete_ci(stack, "ci-early")
    states: list[tuple[str, str]] = []

    def record(obj) -> bool:
        if obj is not None:
            states.extend((j["type"], j["state"]) for j in jobs_of(obj))
        return obj is None

    stack["cis"].wait(CLOUDKIT_JOBS.hub_namespace, "ci-early", record, WAIT, "CR gone")
    if style == "aap":
        assert ("provision", "Canceled") in states
    else:
        assert ("provision", "Canceled") not in states
    assert stack["vms"].get(TENANT, "ci-early") is None


def test_controller_bad_input_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.controller", "--kubeconfig", "x"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("controller: error:")
    assert len(result.stderr.strip().splitlines()) == 1
    bad = tmp_path / "kubeconfig"
    bad.write_text("clusters: [\n")
    result = subprocess.run(
        [sys.executable, "-m", "harness.reference.controller", "--kubeconfig", str(bad),
         "--profile", "osac"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "is not valid YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
