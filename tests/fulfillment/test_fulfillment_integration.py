"""The fulfillment API against the embedded API server with our CRDs, over real sockets, for both
profiles: the CR is the record, so every assertion looks at the CR as well as at the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import wrappers_pb2
from kubernetes import client as k8s

from harness.contract.profiles import OSAC, Profile
from harness.contract.wire import WireModules, load_wire
from harness.reference.process import ComponentProcess
from tests.eras import EVERY_PROFILE
from tests.fulfillment.helpers import (
    ADMIN_TOKEN,
    TENANT,
    USER_TOKEN,
    bearer,
    call_error,
    kube_api,
    start_apiserver,
    start_fulfillment,
)

TEMPLATE = "osac.templates.ocp_virt_vm"
REQUEST_SECONDS = 1_780_000_000
REQUEST_TEXT = "2026-05-28T20:26:40Z"
USER = bearer(USER_TOKEN)
ADMIN = bearer(ADMIN_TOKEN)
PROFILES = EVERY_PROFILE
# Profile B only: explicit spec fields and their CEL immutability rules.
only_b = pytest.mark.parametrize("env", [pytest.param(OSAC, id="osac")], indirect=True)


@dataclass
class Env:
    profile: Profile
    wire: WireModules
    kube: k8s.CustomObjectsApi
    channel: grpc.Channel
    public: Any
    private: Any
    tmp: Path
    kubeconfig: Path

    def cr(self, name: str) -> dict[str, Any]:
        p = self.profile
        return self.kube.get_namespaced_custom_object(
            p.group, p.version, p.hub_namespace, p.plural, name
        )

    def cr_by_id(self, instance_id: str) -> list[dict[str, Any]]:
        p = self.profile
        result = self.kube.list_namespaced_custom_object(
            p.group,
            p.version,
            p.hub_namespace,
            p.plural,
            label_selector=f"{p.uuid_label}={instance_id}",
        )
        return result["items"]

    def patch_cr(self, name: str, body: dict[str, Any], status: bool = False) -> None:
        p = self.profile
        patch = (
            self.kube.patch_namespaced_custom_object_status
            if status
            else self.kube.patch_namespaced_custom_object
        )
        patch(p.group, p.version, p.hub_namespace, p.plural, name, body)

    def spec(self, **fields: Any) -> Any:
        return self.wire.types.ComputeInstanceSpec(template=TEMPLATE, **fields)

    def create(self, **fields: Any) -> Any:
        request = self.wire.service.ComputeInstancesCreateRequest(
            object=self.wire.types.ComputeInstance(spec=self.spec(**fields))
        )
        return self.public.Create(request, metadata=USER, timeout=10).object

    def get(self, instance_id: str) -> Any:
        request = self.wire.service.ComputeInstancesGetRequest(id=instance_id)
        return self.public.Get(request, metadata=USER, timeout=10).object

    def update_request(self, instance_id: str, paths: list[str] | None, **fields: Any) -> Any:
        kwargs: dict[str, Any] = {
            "object": self.wire.types.ComputeInstance(id=instance_id, spec=self.spec(**fields))
        }
        if paths is not None:
            kwargs["update_mask"] = {"paths": paths}
        return self.wire.service.ComputeInstancesUpdateRequest(**kwargs)

    def restart(self, instance_id: str, seconds: int, nanos: int = 0) -> Any:
        """The peers' request shape: template plus the restart time, mask on the restart only."""
        request = self.update_request(
            instance_id,
            ["spec.restart_requested_at"],
            restart_requested_at={"seconds": seconds, "nanos": nanos},
        )
        return self.public.Update(request, metadata=USER, timeout=10).object


@pytest.fixture(scope="module", params=EVERY_PROFILE)
def env(request, tmp_path_factory):
    profile: Profile = request.param
    tmp = tmp_path_factory.mktemp(f"integration-{profile.name}")
    started: list[ComponentProcess] = []
    try:
        apiserver, kubeconfig = start_apiserver(tmp, profile)
        started.append(apiserver)
        fulfillment, address = start_fulfillment(tmp, profile, kubeconfig)
        started.append(fulfillment)
        wire = load_wire(profile)
        channel = grpc.insecure_channel(address)
        yield Env(
            profile,
            wire,
            kube_api(kubeconfig),
            channel,
            wire.grpc.ComputeInstancesStub(channel),
            wire.private_grpc.ComputeInstancesStub(channel),
            tmp,
            kubeconfig,
        )
        channel.close()
    finally:
        for process in reversed(started):
            process.stop()


def expected_cr_spec(profile: Profile) -> dict[str, Any]:
    spec: dict[str, Any] = {"templateID": TEMPLATE, "templateParameters": "{}"}
    if profile.explicit_spec_fields:
        spec.update(
            image={"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
            cores=2,
            memoryGiB=2,
            bootDisk={"sizeGiB": 10},
            runStrategy="Always",
        )
    return spec


# --- Create ---------------------------------------------------------------------------------------


def test_create_makes_the_cr(env: Env):
    created = env.create()
    p = env.profile
    uuid.UUID(created.id)
    (cr,) = env.cr_by_id(created.id)
    meta = cr["metadata"]
    assert meta["name"].startswith("vm-") and len(meta["name"]) > len("vm-")
    assert meta["name"] == created.metadata.name
    assert meta["namespace"] == p.hub_namespace
    assert meta["labels"][p.uuid_label] == created.id
    assert meta["annotations"][p.tenant_annotation] == TENANT
    assert cr["spec"] == expected_cr_spec(p)
    assert list(created.metadata.tenants) == [TENANT]
    assert created.metadata.creation_timestamp.seconds > 0
    assert created.spec.template == TEMPLATE
    state = env.wire.types.ComputeInstanceState.Name(created.status.state)
    assert state == p.state_for_phase(p.phases.starting)


def test_create_with_parameters_and_restart_time(env: Env):
    parameters = wrappers_pb2.StringValue(value="22/tcp")
    request_time = {"seconds": REQUEST_SECONDS, "nanos": 900_000_000}
    spec = env.spec(restart_requested_at=request_time)
    spec.template_parameters["exposed_ports"].Pack(parameters)
    created = env.public.Create(
        env.wire.service.ComputeInstancesCreateRequest(
            object=env.wire.types.ComputeInstance(spec=spec)
        ),
        metadata=USER,
        timeout=10,
    ).object
    cr = env.cr(created.metadata.name)
    assert cr["spec"]["templateParameters"] == '{"exposed_ports":"22/tcp"}'
    assert cr["spec"]["restartRequestedAt"] == REQUEST_TEXT  # fraction truncated
    assert created.spec.restart_requested_at.seconds == REQUEST_SECONDS
    assert created.spec.restart_requested_at.nanos == 0
    assert created.spec.template_parameters["exposed_ports"].Is(parameters.DESCRIPTOR)


def test_create_without_template_is_invalid(env: Env):
    request = env.wire.service.ComputeInstancesCreateRequest(
        object=env.wire.types.ComputeInstance(spec=env.wire.types.ComputeInstanceSpec())
    )
    error = call_error(env.public.Create, request, metadata=USER)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "template ID is mandatory" in error.details()


@only_b
def test_create_with_explicit_fields(env: Env):
    types = env.wire.types
    created = env.create(
        image=types.ComputeInstanceImage(source_type="registry", source_ref="quay.io/x:1"),
        cores=4,
        memory_gib=8,
        boot_disk=types.ComputeInstanceDisk(size_gib=20),
        additional_disks=[types.ComputeInstanceDisk(size_gib=5)],
        run_strategy="Halted",
        ssh_key="ssh-ed25519 AAAA",
        user_data_secret_ref="#cloud-config\n",
    )
    spec = env.cr(created.metadata.name)["spec"]
    assert spec["image"] == {"sourceType": "registry", "sourceRef": "quay.io/x:1"}
    assert (spec["cores"], spec["memoryGiB"], spec["runStrategy"]) == (4, 8, "Halted")
    assert spec["bootDisk"] == {"sizeGiB": 20}
    assert spec["additionalDisks"] == [{"sizeGiB": 5}]
    assert spec["sshKey"] == "ssh-ed25519 AAAA"
    assert spec["userDataSecretRef"] == {"name": f"{created.id}-user-data"}
    assert (created.spec.cores, created.spec.run_strategy) == (4, "Halted")


@only_b
def test_schema_violation_on_create_is_invalid_argument(env: Env):
    error = call_error(
        env.public.Create,
        env.wire.service.ComputeInstancesCreateRequest(
            object=env.wire.types.ComputeInstance(spec=env.spec(cores=0))
        ),
        metadata=USER,
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.cores" in error.details()


# --- Get / List -----------------------------------------------------------------------------------


def test_get_maps_phase_conditions_and_last_restarted_at(env: Env):
    p = env.profile
    created = env.create()
    status = {
        "phase": p.phases.running,
        "lastRestartedAt": REQUEST_TEXT,
        "conditions": [
            {
                "type": "RestartInProgress",
                "status": "True",
                "reason": "RestartInProgress",
                "message": f"Restart initiated at {REQUEST_TEXT}",
                "lastTransitionTime": "2026-05-28T20:26:41Z",
            },
            {
                "type": "RestartFailed",
                "status": "Unknown",
                "reason": "NoVMReference",
                "message": "No VirtualMachine reference found",
                "lastTransitionTime": "2026-05-28T20:26:42Z",
            },
        ],
    }
    env.patch_cr(created.metadata.name, {"status": status}, status=True)
    got = env.get(created.id)
    types = env.wire.types
    assert types.ComputeInstanceState.Name(got.status.state) == p.state_for_phase(p.phases.running)
    assert got.status.last_restarted_at.seconds == REQUEST_SECONDS
    conditions = {types.ComputeInstanceConditionType.Name(c.type): c for c in got.status.conditions}
    in_progress = conditions[p.condition_type_name("RestartInProgress")]
    status_enum = types.ComputeInstanceCondition.DESCRIPTOR.fields_by_name["status"].enum_type
    assert status_enum.values_by_number[in_progress.status].name == "CONDITION_STATUS_TRUE"
    assert in_progress.reason == "RestartInProgress"
    assert in_progress.message == f"Restart initiated at {REQUEST_TEXT}"
    assert in_progress.last_transition_time.seconds == REQUEST_SECONDS + 1
    failed = conditions[p.condition_type_name("RestartFailed")]
    assert status_enum.values_by_number[failed.status].name == "CONDITION_STATUS_UNSPECIFIED"
    assert failed.reason == "NoVMReference"
    assert set(conditions) >= set(p.condition_type_by_name.values())


def test_get_unknown_and_empty_ids(env: Env):
    for instance_id, code in (
        (str(uuid.uuid4()), grpc.StatusCode.NOT_FOUND),
        ("not a label value!", grpc.StatusCode.NOT_FOUND),
        ("", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        error = call_error(
            env.public.Get,
            env.wire.service.ComputeInstancesGetRequest(id=instance_id),
            metadata=USER,
        )
        assert error.code() == code, instance_id


def test_list_pages_and_filters(env: Env):
    ids = [env.create().id for _ in range(3)]
    service = env.wire.service
    everything = env.public.List(service.ComputeInstancesListRequest(), metadata=USER, timeout=10)
    listed = [item.id for item in everything.items]
    assert set(ids) <= set(listed)
    assert everything.total == everything.size == len(listed)
    page = env.public.List(
        service.ComputeInstancesListRequest(offset=1, limit=2), metadata=USER, timeout=10
    )
    assert [item.id for item in page.items] == listed[1:3]
    assert (page.size, page.total) == (2, len(listed))
    filtered = env.public.List(
        service.ComputeInstancesListRequest(filter=f'this.id == "{ids[1]}"'), metadata=USER
    )
    assert [item.id for item in filtered.items] == [ids[1]]
    error = call_error(
        env.public.List, service.ComputeInstancesListRequest(filter="this.id =="), metadata=USER
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_private_api_for_admins(env: Env):
    created = env.create()
    private = env.wire.private_service
    got = env.private.Get(private.ComputeInstancesGetRequest(id=created.id), metadata=ADMIN).object
    assert got.id == created.id
    assert got.status.hub == env.profile.hub_namespace
    assert env.private.Signal(private.ComputeInstancesSignalRequest(id=created.id), metadata=ADMIN)
    error = call_error(
        env.private.Get, private.ComputeInstancesGetRequest(id=created.id), metadata=USER
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


# --- Update ---------------------------------------------------------------------------------------


def test_restart_request_patches_only_restart_requested_at(env: Env):
    created = env.create()
    before = env.cr(created.metadata.name)
    updated = env.restart(created.id, REQUEST_SECONDS, nanos=999_000_000)
    after = env.cr(created.metadata.name)
    assert after["spec"]["restartRequestedAt"] == REQUEST_TEXT  # whole seconds, truncated
    assert {k: v for k, v in after["spec"].items() if k != "restartRequestedAt"} == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert updated.spec.restart_requested_at.seconds == REQUEST_SECONDS
    assert updated.spec.restart_requested_at.nanos == 0
    # Re-sending the same value changes nothing.
    env.restart(created.id, REQUEST_SECONDS)
    again = env.cr(created.metadata.name)
    assert again["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]


def test_restart_request_without_template_in_the_body(env: Env):
    created = env.create()
    request = env.wire.service.ComputeInstancesUpdateRequest(
        object=env.wire.types.ComputeInstance(
            id=created.id,
            spec=env.wire.types.ComputeInstanceSpec(
                restart_requested_at={"seconds": REQUEST_SECONDS}
            ),
        ),
        update_mask={"paths": ["spec.restart_requested_at"]},
    )
    env.public.Update(request, metadata=USER, timeout=10)
    cr = env.cr(created.metadata.name)
    assert cr["spec"]["restartRequestedAt"] == REQUEST_TEXT
    assert cr["spec"]["templateID"] == TEMPLATE


@only_b
def test_immutable_field_comes_back_as_invalid_argument(env: Env):
    created = env.create(cores=2)
    error = call_error(
        env.public.Update, env.update_request(created.id, ["spec.cores"], cores=8), metadata=USER
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cores is immutable" in error.details()
    assert env.cr(created.metadata.name)["spec"]["cores"] == 2
    # A mutable field goes through.
    env.public.Update(
        env.update_request(created.id, ["spec.run_strategy"], run_strategy="Halted"), metadata=USER
    )
    assert env.cr(created.metadata.name)["spec"]["runStrategy"] == "Halted"


def test_update_mask_errors(env: Env):
    created = env.create()
    for paths, fragment in (
        (["spec.restartRequestedAt"], "spec.restartRequestedAt"),
        (["spec.nope"], "spec.nope"),
    ):
        error = call_error(env.public.Update, env.update_request(created.id, paths), metadata=USER)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert fragment in error.details()
    error = call_error(
        env.public.Update, env.update_request(str(uuid.uuid4()), ["spec.template"]), metadata=USER
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_empty_mask_updates_the_fields_present(env: Env):
    created = env.create()
    request = env.update_request(
        created.id, None, restart_requested_at={"seconds": REQUEST_SECONDS}
    )
    env.public.Update(request, metadata=USER, timeout=10)
    cr = env.cr(created.metadata.name)
    assert cr["spec"]["restartRequestedAt"] == REQUEST_TEXT
    assert cr["spec"]["templateParameters"] == "{}"


def test_full_replace_update_option(env: Env):
    """Before 0cff9a06: the mask is ignored and unset fields are wiped."""
    directory = env.tmp / "full-replace"
    directory.mkdir(exist_ok=True)
    process, address = start_fulfillment(
        directory, env.profile, env.kubeconfig, "--full-replace-update"
    )
    channel = grpc.insecure_channel(address)
    try:
        stub = env.wire.grpc.ComputeInstancesStub(channel)
        created = env.create()
        env.restart(created.id, REQUEST_SECONDS)
        stub.Update(env.update_request(created.id, ["spec.template"]), metadata=USER, timeout=10)
        spec = env.cr(created.metadata.name)["spec"]
        assert "restartRequestedAt" not in spec
        assert spec == expected_cr_spec(env.profile)
        # The peers' shape works in this mode too.
        stub.Update(
            env.update_request(
                created.id,
                ["spec.restart_requested_at"],
                restart_requested_at={"seconds": REQUEST_SECONDS + 5},
            ),
            metadata=USER,
            timeout=10,
        )
        assert env.cr(created.metadata.name)["spec"]["restartRequestedAt"] == (
            "2026-05-28T20:26:45Z"
        )
        # The private Update keeps honouring the mask.
        private = env.wire.private_grpc.ComputeInstancesStub(channel)
        private.Update(
            env.wire.private_service.ComputeInstancesUpdateRequest(
                object=env.wire.private_types.ComputeInstance(
                    id=created.id,
                    spec=env.wire.private_types.ComputeInstanceSpec(template=TEMPLATE),
                ),
                update_mask={"paths": ["spec.template"]},
            ),
            metadata=ADMIN,
            timeout=10,
        )
        assert env.cr(created.metadata.name)["spec"]["restartRequestedAt"] == (
            "2026-05-28T20:26:45Z"
        )
    finally:
        channel.close()
        process.stop()


def test_feedback_style_private_update_changes_nothing(env: Env):
    """The operator's feedback controller Gets the private record, edits status and Updates it
    without a mask: the CR spec must stay as it is (status is derived from the CR)."""
    created = env.create()
    env.restart(created.id, REQUEST_SECONDS)
    before = env.cr(created.metadata.name)
    private = env.wire.private_service
    record = env.private.Get(
        private.ComputeInstancesGetRequest(id=created.id), metadata=ADMIN, timeout=10
    ).object
    record.status.state = 0
    record.status.ip_address = "192.0.2.1"
    env.private.Update(private.ComputeInstancesUpdateRequest(object=record), metadata=ADMIN)
    after = env.cr(created.metadata.name)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"] == before["spec"]


# --- Delete ---------------------------------------------------------------------------------------


def test_delete_removes_the_cr(env: Env):
    created = env.create()
    env.public.Delete(env.wire.service.ComputeInstancesDeleteRequest(id=created.id), metadata=USER)
    assert env.cr_by_id(created.id) == []
    error = call_error(
        env.public.Get, env.wire.service.ComputeInstancesGetRequest(id=created.id), metadata=USER
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = call_error(
        env.public.Delete,
        env.wire.service.ComputeInstancesDeleteRequest(id=created.id),
        metadata=USER,
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_delete_with_a_finalizer_answers_at_once(env: Env):
    p = env.profile
    created = env.create()
    name = created.metadata.name
    env.patch_cr(name, {"metadata": {"finalizers": [p.finalizer]}})
    request = env.wire.service.ComputeInstancesDeleteRequest(id=created.id)
    env.public.Delete(request, metadata=USER, timeout=10)
    assert env.cr(name)["metadata"].get("deletionTimestamp")
    got = env.get(created.id)
    assert got.metadata.deletion_timestamp.seconds > 0
    env.public.Delete(request, metadata=USER, timeout=10)  # again: still fine
    env.patch_cr(name, {"metadata": {"finalizers": None}})
    assert env.cr_by_id(created.id) == []
